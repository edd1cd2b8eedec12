import { createHash } from "node:crypto";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { beforeAll, describe, expect, it } from "vitest";
import { DynamoIdempotencyStore } from "../../functions/adapters/dynamo/idempotency-store.ts";
import { keys } from "../../functions/adapters/dynamo/schema.ts";
import { type FreshTables, freshTables } from "../support/dynamo.ts";

let db: FreshTables;

beforeAll(async () => {
  db = await freshTables();
});

const newKey = () => `idem-${crypto.randomUUID()}`;
const RESPONSE = { statusCode: 201, body: JSON.stringify({ loanId: "loan-1" }) };

/** A store on a clock the test moves (real time in production). */
function storeAt(start = 1_700_000_000_000) {
  const clock = { now: start };
  return { clock, store: new DynamoIdempotencyStore(db.client, db, { now: () => clock.now }) };
}

describe("DynamoIdempotencyStore", () => {
  it("takes a key once; a second request sees it in progress", async () => {
    const { store, clock } = storeAt();
    const key = newKey();
    expect(await store.begin("acme", key, "fp-1")).toEqual({ acquired: true });

    const second = await store.begin("acme", key, "fp-1");
    expect(second).toEqual({
      acquired: false,
      record: { fingerprint: "fp-1", state: "in_progress", lockedUntil: clock.now + 60_000 },
    });
  });

  it("replays the completed response", async () => {
    const { store } = storeAt();
    const key = newKey();
    await store.begin("acme", key, "fp-1");
    await store.complete("acme", key, RESPONSE);

    const replay = await store.begin("acme", key, "fp-1");
    expect(replay).toMatchObject({
      acquired: false,
      record: { fingerprint: "fp-1", state: "completed", response: RESPONSE },
    });
  });

  it("returns the first request's fingerprint to a request with another body", async () => {
    const { store } = storeAt();
    const key = newKey();
    await store.begin("acme", key, "fp-1");
    await store.complete("acme", key, RESPONSE);

    const other = await store.begin("acme", key, "fp-2");
    expect(other.acquired).toBe(false);
    expect(!other.acquired && other.record.fingerprint).toBe("fp-1");
  });

  it("frees a released key for the next request, but keeps a completed one", async () => {
    const { store } = storeAt();
    const key = newKey();
    await store.begin("acme", key, "fp-1");
    await store.release("acme", key);
    expect(await store.begin("acme", key, "fp-1")).toEqual({ acquired: true });

    await store.complete("acme", key, RESPONSE);
    await store.release("acme", key);
    expect(await store.begin("acme", key, "fp-1")).toMatchObject({
      acquired: false,
      record: { state: "completed" },
    });
    // Releasing or completing a key nobody holds is harmless.
    await store.release("acme", newKey());
    await store.complete("acme", newKey(), RESPONSE);
  });

  it("lets a request take over a lock whose holder went quiet", async () => {
    const { store, clock } = storeAt();
    const key = newKey();
    await store.begin("acme", key, "fp-1");

    clock.now += 59_000;
    expect((await store.begin("acme", key, "fp-1")).acquired).toBe(false);
    clock.now += 2_000;
    expect(await store.begin("acme", key, "fp-1")).toEqual({ acquired: true });
  });

  it("never takes over a completed record before it expires, and does after", async () => {
    const { store, clock } = storeAt();
    const key = newKey();
    await store.begin("acme", key, "fp-1");
    await store.complete("acme", key, RESPONSE);

    clock.now += 23 * 60 * 60 * 1000;
    expect((await store.begin("acme", key, "fp-2")).acquired).toBe(false);
    clock.now += 2 * 60 * 60 * 1000;
    expect(await store.begin("acme", key, "fp-2")).toEqual({ acquired: true });
  });

  it("scopes keys by tenant and stores only the key's hash, with a TTL", async () => {
    const { store, clock } = storeAt();
    const key = newKey();
    expect(await store.begin("acme", key, "fp-1")).toEqual({ acquired: true });
    expect(await store.begin("globex", key, "fp-1")).toEqual({ acquired: true });

    const hash = createHash("sha256").update(key).digest("hex");
    const { Item } = await db.client.send(
      new GetCommand({ TableName: db.stateTable, Key: keys.idempotency("acme", hash), ConsistentRead: true }),
    );
    expect(Item).toMatchObject({
      fingerprint: "fp-1",
      state: "in_progress",
      expiresAt: Math.floor(clock.now / 1000) + 86_400,
    });
    expect(JSON.stringify(Item)).not.toContain(key);
  });

  it("gives the key to exactly one of many simultaneous requests", async () => {
    const { store } = storeAt();
    const key = newKey();
    const results = await Promise.all(Array.from({ length: 8 }, () => store.begin("acme", key, "fp-1")));
    expect(results.filter((r) => r.acquired)).toHaveLength(1);
  });
});
