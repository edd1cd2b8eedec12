/* biome-ignore-all lint/suspicious/noExplicitAny: test responses are checked field by field */
import { randomBytes } from "node:crypto";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { DateTime } from "luxon";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { makeDocumentClient } from "../../functions/adapters/dynamo/client.ts";
import { TenantAuditLog } from "../../functions/adapters/dynamo/tenant-audit.ts";
import { DEFAULT_POLICY, findStep } from "../../functions/domain/policy.ts";
import type { LocalStack } from "../../infra/local/stack.ts";
import { type apiClient, loanRequest } from "./client.ts";
import { startTestStack } from "./test-stack.ts";

/**
 * Paced sending over HTTP on the embedded stack: a tenant paced at 2 SMS a second, 130 loans whose D−3 SMS all
 * fall due at 10:00 Shanghai time, under a policy whose contact window closes at 10:01. The minute holds 120
 * of them; the other 10 wait for the next window opening, on the record (`send_capacity`).
 */
const ZONE = "Asia/Shanghai";
const RATE = 2;
const LOANS = 130;
/** The places of the one minute the window holds, 10:00 to 10:01. */
const IN_WINDOW = RATE * 60;
const POLICY = "paced";
const prefix = `ps-${randomBytes(4).toString("hex")}-`;
let stack: LocalStack;
let lender: ReturnType<typeof apiClient>;
let ops: ReturnType<typeof apiClient>;
let local: ReturnType<typeof apiClient>;

beforeAll(async () => {
  ({ stack, lender, ops, local } = await startTestStack(prefix));
  const { id: _id, version: _version, templates: _templates, ...rules } = DEFAULT_POLICY;
  const created = await ops.call("PUT", `/v1/policies/${POLICY}`, {
    ...rules,
    steps: [findStep(DEFAULT_POLICY, "pre_due_3")],
    contactWindow: { start: "08:00", end: "10:01" },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
});

afterAll(async () => {
  await stack?.stop();
});

const localTime = (iso: string) => DateTime.fromISO(iso).setZone(ZONE).toFormat("yyyy-MM-dd HH:mm:ss");

describe("paced sending", () => {
  it("stores send rates as ops set them: validated, versioned, audited once per change, replayed by key", async () => {
    const refused = await ops.call("PUT", "/v1/settings", { sendRates: { sms: 0, fax: 3 } });
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe("VALIDATION_FAILED");
    expect(refused.body.error.details.map((d: any) => d.path).sort()).toEqual(["sendRates", "sendRates.sms"]);

    const key = { "Idempotency-Key": `pace-${prefix}` };
    const body = { sendRates: { sms: RATE } };
    const first = await ops.call("PUT", "/v1/settings", body, key);
    const replay = await ops.call("PUT", "/v1/settings", body, key);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ sendRates: { sms: RATE }, version: 1 });
    expect(replay.body).toEqual(first.body);
    expect((await ops.call("PUT", "/v1/settings", { sendRates: { sms: 9 } }, key)).status).toBe(422);
    expect((await lender.get("/v1/settings")).body).toEqual(first.body);

    const client = makeDocumentClient({ endpoint: inject("dynamoEndpoint") });
    const chain = new TenantAuditLog(client, {
      stateTable: `${prefix}dunning-state`,
      auditTable: `${prefix}dunning-audit`,
    });
    const changes = (await chain.entries("demo")).filter((e) => e.type === "settings_changed");
    expect(changes.map((e) => e.data)).toEqual([
      { from: 0, to: 1, changes: [{ path: "sendRates.sms", from: null, to: RATE }] },
    ]);
    expect((await chain.verify("demo")).valid).toBe(true);
  });

  it(`${LOANS} loans due at 10:00: at most ${RATE} SMS a second, none outside the window, the rest deferred`, async () => {
    const tag = randomBytes(3).toString("hex");
    const loans = Array.from({ length: LOANS }, (_, i) =>
      loanRequest(`ps-${tag}-${i}`, { policyId: POLICY }),
    );
    const batch = await lender.post("/v1/loans:batch", { loans });
    expect(batch.status).toBe(207);
    expect(batch.body.results.every((r: any) => r.status === 201)).toBe(true);
    // D−3 is 2026-01-12 at 10:00 local; the deferred ones go at the next opening, 08:00 on the 13th.
    expect((await local.post("/local/clock/advance", { to: "2026-01-14T00:00:00Z" })).status).toBe(200);

    const ours = new Set(loans.map((l) => l.loanId));
    const sms = ((await local.get("/local/outbox?channel=sms")).body.messages as any[]).filter((m) =>
      ours.has(m.loanId),
    );
    expect(sms).toHaveLength(LOANS);
    expect(new Set(sms.map((m) => m.loanId)).size).toBe(LOANS);
    const perSecond = new Map<string, number>();
    for (const m of sms) perSecond.set(m.sentAt, (perSecond.get(m.sentAt) ?? 0) + 1);
    expect(Math.max(...perSecond.values())).toBe(RATE);
    const times = sms.map((m) => localTime(m.sentAt));
    const outside = times.filter((t) => t.slice(11) < "08:00:00" || t.slice(11) >= "10:01:00");
    expect(outside).toEqual([]);
    expect(times.filter((t) => t.startsWith("2026-01-12 10:00"))).toHaveLength(IN_WINDOW);
    expect(times.filter((t) => t.startsWith("2026-01-13 08:00:"))).toHaveLength(LOANS - IN_WINDOW);

    const client = makeDocumentClient({ endpoint: inject("dynamoEndpoint") });
    const { Items = [] } = await client.send(
      new ScanCommand({
        TableName: `${prefix}dunning-audit`,
        FilterExpression: "#type = :deferred",
        ExpressionAttributeNames: { "#type": "type" },
        ExpressionAttributeValues: { ":deferred": "step_deferred" },
        ConsistentRead: true,
      }),
    );
    const deferred = Items.filter((item) => ours.has(String(item.pk).split("#LOAN#")[1] ?? ""));
    expect(deferred.map((item) => item.data)).toEqual(
      Array.from({ length: LOANS - IN_WINDOW }, () => ({
        step: "pre_due_3",
        rule: "send_capacity",
        until: "2026-01-13T00:00:00Z",
      })),
    );
  });
  it("a provider still throttling after every retry goes round again through the wait: sent once, never failed", async () => {
    const loanId = `ps-throttled-${prefix}`;
    // The default policy, due 2026-01-30: its D−7 email (email is not paced) falls due on the 23rd at 10:00 local.
    expect((await lender.post("/v1/loans", loanRequest(loanId, { dueDate: "2026-01-30" }))).status).toBe(201);
    const send = stack.lambdas.send;
    const calls = send.invocations;
    // A round of retries is 9 invocations (the first and 8 retries): 10 refusals outlast it.
    for (let i = 0; i < 10; i++)
      await send.injectFault({ kind: "throw", errorType: "ProviderThrottledError" });
    expect((await local.post("/local/clock/advance", { to: "2026-01-23T10:00:00Z" })).status).toBe(200);
    expect(send.invocations - calls).toBe(11);
    const messages = (await local.get(`/local/outbox?loanId=${loanId}`)).body.messages as any[];
    expect(messages.map((m) => `${m.step}:${m.channel}`)).toEqual(["pre_due_7:email"]);
    const entries = (await lender.get(`/v1/loans/${loanId}/audit`)).body.entries as any[];
    expect(entries.filter((e) => /failed|unknown/.test(e.type))).toEqual([]);
    expect((await ops.get(`/v1/loans/${loanId}`)).body.attention).toBeNull();
  });
});
