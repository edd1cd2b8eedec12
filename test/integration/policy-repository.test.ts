import { beforeAll, describe, expect, it } from "vitest";
import { DynamoPolicyRepository } from "../../functions/adapters/dynamo/policy-repository.ts";
import { DEFAULT_POLICY, type Policy } from "../../functions/domain/policy.ts";
import { type FreshTables, freshTables } from "../support/dynamo.ts";

let db: FreshTables;
let policies: DynamoPolicyRepository;

beforeAll(async () => {
  db = await freshTables();
  policies = new DynamoPolicyRepository(db.client, db);
});

const version2: Policy = { ...DEFAULT_POLICY, version: 2, contactWindow: { start: "09:00", end: "20:00" } };

describe("DynamoPolicyRepository", () => {
  it("answers the built-in default policy when a tenant stores none", async () => {
    expect(await policies.get("acme", "default")).toEqual(DEFAULT_POLICY);
    expect(await policies.get("acme", "default", 1)).toEqual(DEFAULT_POLICY);
    expect(await policies.get("acme", "default", 2)).toBeNull();
    expect(await policies.get("acme", "aggressive")).toBeNull();
  });

  it("reads stored versions, newest when no version is asked for", async () => {
    expect(await policies.put("globex", version2)).toBe(true);
    expect(await policies.get("globex", "default")).toEqual(version2);
    expect(await policies.get("globex", "default", 2)).toEqual(version2);
    expect(await policies.get("globex", "default", 1)).toEqual(DEFAULT_POLICY);
    // Another tenant is not affected.
    expect(await policies.get("acme", "default")).toEqual(DEFAULT_POLICY);
  });

  it("keeps stored versions immutable", async () => {
    const custom: Policy = {
      ...DEFAULT_POLICY,
      id: "gentle",
      version: 1,
      steps: DEFAULT_POLICY.steps.slice(0, 2),
    };
    expect(await policies.put("initech", custom)).toBe(true);
    expect(await policies.put("initech", { ...custom, steps: [] })).toBe(false);
    expect(await policies.get("initech", "gentle", 1)).toEqual(custom);
  });
});
