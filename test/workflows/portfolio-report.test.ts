/* biome-ignore-all lint/suspicious/noExplicitAny: test responses are checked field by field */
import { randomBytes } from "node:crypto";
import { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { DynamoApiKeyStore } from "../../functions/adapters/dynamo/api-key-store.ts";
import { makeDocumentClient } from "../../functions/adapters/dynamo/client.ts";
import { DEFAULT_POLICY } from "../../functions/domain/policy.ts";
import { AuditStreamPoller } from "../../infra/local/audit-stream.ts";
import type { LocalStack } from "../../infra/local/stack.ts";
import { apiClient, loanRequest } from "./client.ts";
import { startTestStack } from "./test-stack.ts";

/**
 * GET /v1/reports/portfolio on the embedded stack (the real workflow, DynamoDB Local, the audit stream feeding the
 * trail-metrics function on the virtual clock). Two loans of one borrower under per-borrower caps (one SMS
 * deferred by the daily cap), a third loan alone; the two are paid after their reminders, the third goes to legal.
 * The daily figures must agree with what the outbox delivered and what the trails recorded, day by day.
 */
const prefix = `pf-${randomBytes(4).toString("hex")}-`;
const tag = randomBytes(3).toString("hex");
const [PAID_A, PAID_B, TO_LEGAL] = ["paid-a", "paid-b", "legal"].map((name) => `pf-${name}-${tag}`) as [
  string,
  string,
  string,
];
const LOANS = [PAID_A, PAID_B, TO_LEGAL];
const RANGE = "from=2026-01-05&to=2026-02-15";

let stack: LocalStack;
let lender: ReturnType<typeof apiClient>;
let ops: ReturnType<typeof apiClient>;
let local: ReturnType<typeof apiClient>;
let otherLender: ReturnType<typeof apiClient>;

beforeAll(async () => {
  ({ stack, lender, ops, local } = await startTestStack(prefix));
  const otherKey = `dk_other_lender_${randomBytes(12).toString("hex")}`;
  await new DynamoApiKeyStore(makeDocumentClient({ endpoint: inject("dynamoEndpoint") }), {
    stateTable: `${prefix}dunning-state`,
  }).put(otherKey, { tenantId: "other", role: "lender" });
  otherLender = apiClient(stack.url, otherKey);

  const { id: _id, version: _version, contactRules, templates: _templates, ...rules } = DEFAULT_POLICY;
  const policy = await ops.call("PUT", "/v1/policies/per-borrower", {
    ...rules,
    contactRules: { ...contactRules, capsPer: "borrower" },
  });
  expect(policy.status).toBe(201);
  for (const loanId of [PAID_A, PAID_B]) {
    expect((await lender.post("/v1/loans", loanRequest(loanId, { policyId: "per-borrower" }))).status).toBe(
      201,
    );
  }
  const alone = loanRequest(TO_LEGAL);
  const subscribed = await lender.post("/v1/loans", {
    ...alone,
    borrower: { ...alone.borrower, phone: "+8613900139000" },
  });
  expect(subscribed.status).toBe(201);
  // Every pre-due reminder and the due day's, then the two loans of one borrower are paid in full.
  await local.post("/local/clock/advance", { to: "2026-01-16T03:00:00Z" });
  for (const loanId of [PAID_A, PAID_B]) {
    const payment = { type: "payment", amount: { amount: "1250.00", currency: "CNY" } };
    expect((await lender.post(`/v1/loans/${loanId}/events`, payment)).status).toBe(200);
  }
  // Past the third loan's hand-off to legal (D+30 of 2026-01-15, 10:00 in Shanghai).
  await local.post("/local/clock/advance", { to: "2026-02-15T00:00:00Z" });
});

afterAll(async () => {
  await stack?.stop();
});

const utcDay = (iso: string) => new Date(iso).toISOString().slice(0, 10);
const bump = (map: Record<string, any>, day: string, key: string) => {
  map[day] ??= {};
  map[day][key] = (map[day][key] ?? 0) + 1;
};

/** A per-day tally summed over its days. */
const sum = (days: Record<string, Record<string, number>>) => {
  const total: Record<string, number> = {};
  for (const counts of Object.values(days)) {
    for (const [key, count] of Object.entries(counts)) total[key] = (total[key] ?? 0) + count;
  }
  return total;
};

/** Per UTC day: messages by channel from the outbox; deferrals, hand-offs and paid-after-contact from the trails. */
async function expectedDays() {
  const messages: Record<string, Record<string, number>> = {};
  const deferred: Record<string, Record<string, number>> = {};
  const counts: Record<string, Record<string, number>> = {};
  for (const loanId of LOANS) {
    const outbox = (await local.get(`/local/outbox?loanId=${loanId}`)).body.messages as any[];
    for (const m of outbox) bump(messages, utcDay(m.sentAt), m.channel);
    const trail = (await lender.get(`/v1/loans/${loanId}/audit`)).body.entries as any[];
    for (const e of trail) {
      if (e.type === "step_deferred") bump(deferred, utcDay(e.at), e.data.rule);
      if (e.type === "handed_off") bump(counts, utcDay(e.at), "handOffs");
      if (e.type === "payment_received" && e.data.afterContact)
        bump(counts, utcDay(e.at), "paymentsAfterContact");
    }
  }
  return { messages, deferred, counts };
}

async function report(query = RANGE, client = lender) {
  const response = await client.get(`/v1/reports/portfolio?${query}`);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body;
}

describe("GET /v1/reports/portfolio", () => {
  it("shows per UTC day the messages by channel, the deferral, the payments after contact and the hand-off", async () => {
    const body = await report();
    expect(body.range).toEqual({ from: "2026-01-05", to: "2026-02-15", days: 42, timeZone: "UTC" });
    expect(body.daily).toHaveLength(42);
    const { messages, deferred, counts } = await expectedDays();
    for (const day of body.daily) {
      expect(day, day.date).toEqual({
        date: day.date,
        messagesSent: messages[day.date] ?? {},
        stepsDeferred: deferred[day.date] ?? {},
        handOffs: counts[day.date]?.handOffs ?? 0,
        paymentsAfterContact: counts[day.date]?.paymentsAfterContact ?? 0,
      });
    }
    // The anchors the scenario fixes: each loan's D-7 email, the shared phone's D-3 SMS deferred by the daily
    // cap, both payments after contact, one hand-off.
    const on = (date: string) => body.daily.find((d: any) => d.date === date);
    expect(on("2026-01-08").messagesSent).toEqual({ email: 3 });
    expect(on("2026-01-12").stepsDeferred).toEqual({ sms_daily_cap: 1 });
    expect(on("2026-01-12").messagesSent).toEqual({ sms: 2 });
    expect(on("2026-01-13").messagesSent).toEqual({ sms: 1 });
    expect(on("2026-01-16").paymentsAfterContact).toBe(2);
    expect(on("2026-02-14").handOffs).toBe(1);
    expect(body.totals).toEqual({
      messagesSent: sum(messages),
      stepsDeferred: sum(deferred),
      handOffs: 1,
      paymentsAfterContact: 2,
    });
  });

  it("counts the cases by status and stage, and ages the one with legal", async () => {
    const body = await report("", ops);
    expect(body.asOf).toBe("2026-02-15T00:00:00Z");
    expect(body.cases).toEqual({
      total: 3,
      byStatus: { active: 0, on_hold: 0, paid: 2, settled: 0, legal: 1, closed: 0 },
      byStage: { pre_due: 0, soft_collection: 0, legal: 1, done: 2 },
      needingAttention: 0,
    });
    // What GET /v1/reports/aging answers, as it is.
    expect(body.aging).toEqual((await lender.get("/v1/reports/aging")).body);
    expect(body.aging.buckets.map((b: any) => b.count)).toEqual([0, 0, 1, 0, 0]);
    // By default the last 30 days: the hand-off is in them, the reminders and payments are not.
    expect(body.range).toEqual({ from: "2026-01-17", to: "2026-02-15", days: 30, timeZone: "UTC" });
    const full = await report();
    expect(body.daily).toEqual(full.daily.filter((d: any) => d.date >= "2026-01-17"));
    expect(body.totals).toMatchObject({ handOffs: 1, paymentsAfterContact: 0 });
  });

  it("counts each entry once when the stream delivers every record again", async () => {
    const before = await report();
    const poller = new AuditStreamPoller({
      client: makeDocumentClient({ endpoint: stack.dynamoEndpoint }),
      streams: new DynamoDBStreamsClient({
        endpoint: stack.dynamoEndpoint,
        region: "us-east-1",
        credentials: { accessKeyId: "local", secretAccessKey: "local" },
      }),
      tableName: `${prefix}dunning-audit`,
    });
    let records = 0;
    do {
      const batch = (await poller.poll()).filter((r) => r.eventName === "INSERT");
      for (let start = 0; start < batch.length; start += 100) {
        await stack.lambdas.trailMetrics.invoke({ Records: batch.slice(start, start + 100) });
      }
      records += batch.length;
    } while (poller.behind);
    expect(records).toBeGreaterThan(50);
    expect(await report()).toEqual(before);
  });

  it("shows another tenant nothing of these loans", async () => {
    const body = await report(RANGE, otherLender);
    expect(body.cases.total).toBe(0);
    expect(body.totals).toEqual({
      messagesSent: {},
      stepsDeferred: {},
      handOffs: 0,
      paymentsAfterContact: 0,
    });
  });

  it("refuses compliance and legal (403), a missing key (401), and bad dates (400, naming the parameter)", async () => {
    for (const role of ["compliance", "legal"] as const) {
      const response = await apiClient(stack.url, stack.keys[role]).get("/v1/reports/portfolio");
      expect(response.status, role).toBe(403);
      expect(response.body.error.code).toBe("FORBIDDEN");
    }
    expect((await local.get("/v1/reports/portfolio")).status).toBe(401);
    const refusals: [string, string][] = [
      ["from=2026-02-30", "from"],
      ["from=2026-02-10&to=2026-02-01", "to"],
      ["from=2025-01-01&to=2026-02-15", "from"],
      ["to=15-02-2026", "to"],
    ];
    for (const [query, path] of refusals) {
      const response = await lender.get(`/v1/reports/portfolio?${query}`);
      expect(response.status, query).toBe(400);
      expect(response.body.error.code, query).toBe("VALIDATION_FAILED");
      expect(
        response.body.error.details.map((d: any) => d.path),
        query,
      ).toContain(path);
    }
    const unknown = await lender.get("/v1/reports/portfolio?since=2026-01-01");
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.body.error.details)).toContain("since");
  });
});
