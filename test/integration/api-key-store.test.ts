import { DeleteCommand, GetCommand, PutCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { beforeAll, describe, expect, it } from "vitest";
import { apiKeyHash, DynamoApiKeyStore } from "../../functions/adapters/dynamo/api-key-store.ts";
import { keys } from "../../functions/adapters/dynamo/schema.ts";
import { type FreshTables, freshTables } from "../support/dynamo.ts";

let db: FreshTables;

beforeAll(async () => {
  db = await freshTables();
});

const newKey = () => `dk_test_${crypto.randomUUID()}`;

describe("DynamoApiKeyStore", () => {
  it("resolves a stored key to its tenant, role and short key id", async () => {
    const store = new DynamoApiKeyStore(db.client, db);
    const key = newKey();
    const principal = await store.put(key, { tenantId: "acme", role: "ops" });

    expect(principal).toEqual({ tenantId: "acme", role: "ops", keyId: apiKeyHash(key).slice(0, 12) });
    expect(await store.resolve(key)).toEqual(principal);
    // Another container (no cache) reads the same.
    expect(await new DynamoApiKeyStore(db.client, db).resolve(key)).toEqual(principal);
  });

  it("stores only the key's SHA-256, never the key", async () => {
    const store = new DynamoApiKeyStore(db.client, db);
    const key = newKey();
    await store.put(key, { tenantId: "acme", role: "lender" });

    const { Item } = await db.client.send(
      new GetCommand({ TableName: db.stateTable, Key: keys.apiKey(apiKeyHash(key)), ConsistentRead: true }),
    );
    expect(Item).toMatchObject({ tenantId: "acme", role: "lender" });
    const { Items } = await db.client.send(
      new ScanCommand({ TableName: db.stateTable, ConsistentRead: true }),
    );
    expect(JSON.stringify(Items)).not.toContain(key);
    expect(JSON.stringify(Items)).not.toContain(key.slice(8));
  });

  it("returns null for an unknown key, and does not remember the miss", async () => {
    const store = new DynamoApiKeyStore(db.client, db);
    const key = newKey();
    expect(await store.resolve(key)).toBeNull();

    await new DynamoApiKeyStore(db.client, db).put(key, { tenantId: "acme", role: "legal" });
    expect(await store.resolve(key)).toMatchObject({ tenantId: "acme", role: "legal" });
  });

  it("returns null for a revoked key", async () => {
    const store = new DynamoApiKeyStore(db.client, db);
    const key = newKey();
    await store.put(key, { tenantId: "acme", role: "compliance" });
    expect(await store.resolve(key)).not.toBeNull();

    expect(await store.revoke(key)).toBe(true);
    expect(await store.resolve(key)).toBeNull();
    expect(await new DynamoApiKeyStore(db.client, db).resolve(key)).toBeNull();
    expect(await store.revoke(newKey())).toBe(false);
  });

  it("serves a resolved key from memory for the cache period only", async () => {
    let now = 1_000_000;
    const store = new DynamoApiKeyStore(db.client, db, { cacheTtlMs: 60_000, now: () => now });
    const key = newKey();
    await store.put(key, { tenantId: "acme", role: "ops" });
    expect(await store.resolve(key)).not.toBeNull();

    // Revoked elsewhere (deleted here): this container keeps honouring it until the entry expires.
    await db.client.send(new DeleteCommand({ TableName: db.stateTable, Key: keys.apiKey(apiKeyHash(key)) }));
    now += 59_000;
    expect(await store.resolve(key)).not.toBeNull();
    now += 2_000;
    expect(await store.resolve(key)).toBeNull();
  });

  it("refuses an item whose role is not a known role", async () => {
    const key = newKey();
    await db.client.send(
      new PutCommand({
        TableName: db.stateTable,
        Item: { ...keys.apiKey(apiKeyHash(key)), tenantId: "acme", role: "root", keyId: "x" },
      }),
    );
    expect(await new DynamoApiKeyStore(db.client, db).resolve(key)).toBeNull();
  });

  it("re-putting a key replaces its principal", async () => {
    const store = new DynamoApiKeyStore(db.client, db);
    const key = newKey();
    await store.put(key, { tenantId: "acme", role: "ops" });
    expect(await store.resolve(key)).toMatchObject({ role: "ops" });
    await store.put(key, { tenantId: "acme", role: "legal" });
    expect(await store.resolve(key)).toMatchObject({ role: "legal" });
  });
});
