import { beforeAll, describe, expect, it } from "vitest";
import { DynamoCaseRepository, LOANS_PER_WRITE } from "../../functions/adapters/dynamo/case-repository.ts";
import { verifyChain } from "../../functions/domain/audit-chain.ts";
import { toInstant } from "../../functions/domain/time.ts";
import { type FreshTables, freshTables } from "../support/dynamo.ts";
import { subscription, T0, uniqueLoanId } from "./fixtures.ts";

const TENANT = "acme";
let db: FreshTables;
let repo: DynamoCaseRepository;

beforeAll(async () => {
  db = await freshTables();
  repo = new DynamoCaseRepository(db.client, db);
});

describe("DynamoCaseRepository.createMany", () => {
  it("writes many loans, each case with its first audit entry, across several transactions", async () => {
    const ids = Array.from({ length: LOANS_PER_WRITE * 2 + 3 }, () => uniqueLoanId("many"));
    const outcomes = await repo.createMany(
      ids.map((id) => subscription(TENANT, id)),
      toInstant(T0),
    );
    expect(outcomes.every((o) => o.created === true)).toBe(true);
    for (const id of [ids[0], ids[LOANS_PER_WRITE], ids.at(-1)] as string[]) {
      expect(await repo.get(TENANT, id)).toMatchObject({ loanId: id, version: 1 });
      const trail = await repo.auditTrail(TENANT, id);
      expect(trail.map((e) => e.type)).toEqual(["loan_subscribed"]);
      expect(verifyChain({ tenantId: TENANT, loanId: id }, trail)).toMatchObject({ valid: true });
    }
  });

  it("reports loans that exist with their stored case, and still creates the others of the same transaction", async () => {
    const taken = [uniqueLoanId("taken"), uniqueLoanId("taken")];
    for (const id of taken) await repo.create(subscription(TENANT, id), toInstant(T0));
    const fresh = Array.from({ length: 5 }, () => uniqueLoanId("fresh"));
    const order = [fresh[0], taken[0], fresh[1], fresh[2], taken[1], fresh[3], fresh[4]] as string[];
    const outcomes = await repo.createMany(
      order.map((id) => subscription(TENANT, id)),
      toInstant(T0),
    );
    expect(outcomes.map((o) => o.created)).toEqual([true, false, true, true, false, true, true]);
    const existing = outcomes[1] as { created: false; existing: { loanId: string; version: number } };
    expect(existing.existing).toMatchObject({ loanId: taken[0], version: 1 });
    for (const id of fresh) expect(await repo.get(TENANT, id)).not.toBeNull();
    // The same loan id in another tenant is another loan.
    const [other] = await repo.createMany([subscription("other", taken[0] as string)], toInstant(T0));
    expect(other?.created).toBe(true);
  });
});
