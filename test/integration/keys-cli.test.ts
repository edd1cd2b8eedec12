import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { beforeAll, describe, expect, it } from "vitest";
import { apiKeyHash, DynamoApiKeyStore } from "../../functions/adapters/dynamo/api-key-store.ts";
import { TENANT_SCOPE, TenantAuditLog } from "../../functions/adapters/dynamo/tenant-audit.ts";
import { verifyChain } from "../../functions/domain/audit-chain.ts";
import { type FreshTables, freshTables } from "../support/dynamo.ts";

/** Key management (create, list, rotate, revoke) with its tenant audit chain, against DynamoDB Local. */
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
let db: FreshTables;
let audit: TenantAuditLog;
/** No cache: every resolve reads the table, as a fresh container would. */
const store = () => new DynamoApiKeyStore(db.client, db, { cacheTtlMs: 0 });
const admin = () => ({ audit, actor: "cli:test" });

beforeAll(async () => {
  db = await freshTables();
  audit = new TenantAuditLog(db.client, db);
});

describe("key management", () => {
  it("create → the key resolves to its tenant and role; only its hash is stored", async () => {
    const { key, record } = await store().create({ tenantId: "acme", role: "lender" }, admin());
    expect(key).toMatch(/^dk_[A-Za-z0-9_-]{40,}$/);
    expect(record).toMatchObject({ tenantId: "acme", role: "lender", revoked: false });
    expect(record.keyId).toBe(apiKeyHash(key).slice(0, 12));
    expect(await store().resolve(key)).toEqual({ tenantId: "acme", role: "lender", keyId: record.keyId });

    const { Items } = await db.client.send(
      new ScanCommand({ TableName: db.stateTable, ConsistentRead: true }),
    );
    expect(JSON.stringify(Items)).not.toContain(key);
    expect(JSON.stringify(Items)).not.toContain(key.slice(3));
  });

  it("list shows ids, roles, dates and revocations of one tenant, never a key or its hash", async () => {
    const made = [
      await store().create({ tenantId: "listco", role: "ops" }, admin()),
      await store().create({ tenantId: "listco", role: "compliance" }, admin()),
    ];
    await store().create({ tenantId: "elsewhere", role: "ops" }, admin());
    const listed = await store().list("listco");
    expect(listed.map((r) => r.keyId).sort()).toEqual(made.map((m) => m.record.keyId).sort());
    for (const record of listed) {
      expect(Object.keys(record).sort()).toEqual(["createdAt", "keyId", "revoked", "role", "tenantId"]);
    }
    const text = JSON.stringify(listed);
    for (const { key } of made) {
      expect(text).not.toContain(key);
      expect(text).not.toContain(apiKeyHash(key));
    }
    expect(await store().list("nobody")).toEqual([]);
  });

  it("rotate → the old key resolves to null, the new one to the same tenant and role", async () => {
    const first = await store().create({ tenantId: "rotco", role: "legal" }, admin());
    const rotated = await store().rotate(first.record.keyId, admin());
    expect(rotated.key).not.toBe(first.key);
    expect(await store().resolve(first.key)).toBeNull();
    expect(await store().resolve(rotated.key)).toMatchObject({ tenantId: "rotco", role: "legal" });
    expect(rotated.record).toMatchObject({ role: "legal", replaces: first.record.keyId });

    const listed = await store().list("rotco");
    expect(listed.find((r) => r.keyId === first.record.keyId)).toMatchObject({
      revoked: true,
      replacedBy: rotated.record.keyId,
    });
    await expect(store().rotate(first.record.keyId, admin())).rejects.toThrow(/revoked/);
    await expect(store().rotate("000000000000", admin())).rejects.toThrow(/no key/);
  });

  it("revoke by id; a second revoke changes nothing; an unknown id is null", async () => {
    const { key, record } = await store().create({ tenantId: "revco", role: "compliance" }, admin());
    const revoked = await store().revokeById(record.keyId, admin());
    expect(revoked).toMatchObject({ keyId: record.keyId, revoked: true });
    expect(await store().resolve(key)).toBeNull();
    const entriesBefore = (await audit.entries("revco")).length;
    expect(await store().revokeById(record.keyId, admin())).toMatchObject({ revoked: true });
    expect((await audit.entries("revco")).length).toBe(entriesBefore);
    expect(await store().revokeById("ffffffffffff", admin())).toBeNull();
  });

  it("records every change in the tenant's chain, which verifies up to its head", async () => {
    const tenantId = "chainco";
    const a = await store().create({ tenantId, role: "lender" }, admin());
    const b = await store().rotate(a.record.keyId, admin());
    await store().revokeById(b.record.keyId, admin());
    // Concurrent changes: the chain head is conditional, so they serialise instead of forking.
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        store().create({ tenantId, role: i % 2 ? "ops" : "legal" }, admin()),
      ),
    );

    const entries = await audit.entries(tenantId);
    expect(verifyChain({ tenantId, loanId: TENANT_SCOPE }, entries)).toMatchObject({ valid: true });
    expect(await audit.verify(tenantId)).toEqual({ valid: true, entries: 10 });
    expect(entries.slice(0, 4).map((e) => [e.type, e.data.keyId])).toEqual([
      ["api_key_created", a.record.keyId],
      ["api_key_created", b.record.keyId],
      ["api_key_revoked", a.record.keyId],
      ["api_key_revoked", b.record.keyId],
    ]);
    expect(entries.every((e) => e.actor === "cli:test")).toBe(true);
    expect(JSON.stringify(entries)).not.toContain(a.key);
  });

  it("stamps key changes with the business clock it is given, in whole seconds", async () => {
    const clock = { now: () => new Date("2026-03-01T08:30:15.678Z") };
    const { record } = await store().create({ tenantId: "clockco", role: "ops" }, { ...admin(), clock });
    await store().revokeById(record.keyId, { ...admin(), clock });
    expect((await audit.entries("clockco")).map((e) => e.at)).toEqual([
      "2026-03-01T08:30:15Z",
      "2026-03-01T08:30:15Z",
    ]);
    // Without one, the wall clock (the business clock on AWS), still in whole seconds.
    await store().create({ tenantId: "clockco", role: "legal" }, admin());
    expect((await audit.entries("clockco")).at(-1)?.at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(await audit.verify("clockco")).toEqual({ valid: true, entries: 3 });
  });

  it("put (the local stack's own keys) stays compatible and shows up in list", async () => {
    const key = `dk_test_${crypto.randomUUID()}`;
    const principal = await store().put(key, { tenantId: "putco", role: "ops" });
    expect(await store().resolve(key)).toEqual(principal);
    expect(await store().list("putco")).toEqual([
      expect.objectContaining({ keyId: principal.keyId, role: "ops" }),
    ]);
    expect(await store().revoke(key)).toBe(true);
    expect(await store().resolve(key)).toBeNull();
    expect((await store().byId(principal.keyId))?.revoked).toBe(true);
  });

  it("`npm run keys -- create` prints a key once and exits 0", async () => {
    const { stdout } = await promisify(execFile)(
      "npm",
      [
        "run",
        "--silent",
        "keys",
        "--",
        "create",
        "--tenant",
        "cli-co",
        "--role",
        "ops",
        "--endpoint",
        db.endpoint,
        "--table",
        db.stateTable,
        "--audit-table",
        db.auditTable,
      ],
      { cwd: ROOT, env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" } },
    );
    const key = /^api key (\S+)$/m.exec(stdout)?.[1];
    expect(key).toBeDefined();
    expect(await store().resolve(key as string)).toMatchObject({ tenantId: "cli-co", role: "ops" });
    expect(await audit.verify("cli-co")).toEqual({ valid: true, entries: 1 });
  }, 60_000);
});
