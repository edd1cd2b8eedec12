/* biome-ignore-all lint/suspicious/noExplicitAny: test responses are checked field by field */
import { randomBytes } from "node:crypto";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { DateTime } from "luxon";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { makeDocumentClient } from "../../functions/adapters/dynamo/client.ts";
import { CAP_WINDOW_MS } from "../../functions/domain/contact-rules.ts";
import { DEFAULT_POLICY } from "../../functions/domain/policy.ts";
import type { LocalStack } from "../../infra/local/stack.ts";
import { type apiClient, loanRequest } from "./client.ts";
import { startTestStack } from "./test-stack.ts";

/**
 * The frequency caps per borrower (a policy with `capsPer: "borrower"`) and per loan (the default): the real
 * ASL on the local engine, the real handlers and DynamoDB Local, two loans of one borrower (same phone) due
 * the same day (≤ 1 SMS a day, ≤ 7 contacts in any 7 days), next to two borrowers with one loan each.
 */
const PER_BORROWER = "per-borrower";
const ZONE = "Asia/Shanghai";
const SHARED_PHONE = "+8613800138000";
const prefix = `bc-${randomBytes(4).toString("hex")}-`;
let stack: LocalStack;
let lender: ReturnType<typeof apiClient>;
let local: ReturnType<typeof apiClient>;

beforeAll(async () => {
  let ops: ReturnType<typeof apiClient>;
  ({ stack, lender, ops, local } = await startTestStack(prefix));
  const { id: _id, version: _version, contactRules, templates: _templates, ...rules } = DEFAULT_POLICY;
  const created = await ops.call("PUT", `/v1/policies/${PER_BORROWER}`, {
    ...rules,
    contactRules: { ...contactRules, capsPer: "borrower" },
  });
  expect(created.status).toBe(201);
});

afterAll(async () => {
  await stack?.stop();
});

interface Message {
  loanId: string;
  step: string;
  channel: "sms" | "email";
  to: string;
  sentAt: string;
}

interface Entry {
  type: string;
  at: string;
  data: any;
}

const localDay = (iso: string) => DateTime.fromISO(iso).setZone(ZONE).toISODate() as string;
const localTime = (iso: string) => DateTime.fromISO(iso).setZone(ZONE).toFormat("yyyy-MM-dd HH:mm");
const outbox = async (loanId: string) =>
  (await local.get(`/local/outbox?loanId=${loanId}`)).body.messages as Message[];
const audit = async (loanId: string) =>
  (await lender.get(`/v1/loans/${loanId}/audit`)).body.entries as Entry[];

/**
 * Every step of the policy is accounted for: started (each of its channels sent or suppressed by a cap) or
 * skipped for a later due step, and every deferral ends in one of those. Nothing disappears silently.
 */
function expectNothingDropped(loanId: string, entries: Entry[], messages: Message[]) {
  for (const step of DEFAULT_POLICY.steps) {
    const of = entries.filter((e) => e.data?.step === step.id);
    const started = of.find((e) => e.type === "step_started");
    const skipped = of.find((e) => e.type === "step_skipped");
    expect(Boolean(started) !== Boolean(skipped), `${loanId} ${step.id}: started xor skipped`).toBe(true);
    if (skipped) {
      expect(skipped.data.reason).toBe("superseded_by_later_due_step");
      continue;
    }
    const channels: string[] = started?.data.channels ?? [];
    const suppressed = of.filter((e) => e.type === "channel_suppressed").map((e) => e.data.channel);
    expect([...channels, ...suppressed].sort(), `${loanId} ${step.id}`).toEqual([...step.channels].sort());
    const sent = messages.filter((m) => m.step === step.id).map((m) => m.channel);
    expect(sent.sort(), `${loanId} ${step.id} sent`).toEqual([...channels].sort());
  }
  // A deferral is followed by the step's start or its supersession.
  const deferred = entries.filter((e) => e.type === "step_deferred");
  for (const d of deferred) {
    expect(
      entries.some(
        (e) => (e.type === "step_started" || e.type === "step_skipped") && e.data.step === d.data.step,
      ),
      `${loanId} ${d.data.step} deferred and never resolved`,
    ).toBe(true);
  }
}

describe("frequency caps per borrower", () => {
  it("two loans of one phone due the same day: at most one SMS a day to it, the other loan's SMS deferred, nothing dropped; other borrowers unaffected", async () => {
    const tag = randomBytes(3).toString("hex");
    const shared = [`shared-a-${tag}`, `shared-b-${tag}`];
    // Same email as the shared loans: the phone identifies the borrower, so these are two other people.
    const alone = [
      { loanId: `alone-c-${tag}`, phone: "+8613900139000" },
      { loanId: `alone-d-${tag}`, phone: "+8613700137000" },
    ];
    for (const loanId of shared) {
      expect((await lender.post("/v1/loans", loanRequest(loanId, { policyId: PER_BORROWER }))).status).toBe(
        201,
      );
    }
    for (const { loanId, phone } of alone) {
      const request = loanRequest(loanId, { policyId: PER_BORROWER });
      const response = await lender.post("/v1/loans", {
        ...request,
        borrower: { ...request.borrower, phone },
      });
      expect(response.status).toBe(201);
    }
    // Past the hand-off to legal (D+30 of 2026-01-15).
    await local.post("/local/clock/advance", { to: "2026-02-20T00:00:00Z" });

    // The shared phone: at most one SMS per borrower-local day, at most 7 contacts in any 7 days.
    const sharedMessages = (await Promise.all(shared.map(outbox))).flat();
    const sms = sharedMessages.filter((m) => m.channel === "sms");
    expect(sms.every((m) => m.to === SHARED_PHONE)).toBe(true);
    const smsDays = sms.map((m) => localDay(m.sentAt));
    expect(smsDays.length).toBeGreaterThan(0);
    expect(new Set(smsDays).size, `SMS days: ${smsDays.join(", ")}`).toBe(smsDays.length);
    const times = sharedMessages.map((m) => Date.parse(m.sentAt)).sort((x, y) => x - y);
    for (const t of times) {
      expect(times.filter((u) => u <= t && t - u < CAP_WINDOW_MS).length).toBeLessThanOrEqual(7);
    }

    // D−3 (pre_due_3, SMS only): one loan sends at 10:00, the other is deferred by the SMS cap to the next
    // day's window opening and sends then.
    const trails = await Promise.all(shared.map(audit));
    const preDue3 = await Promise.all(
      shared.map(async (loanId) => (await outbox(loanId)).find((m) => m.step === "pre_due_3")),
    );
    const first = preDue3.findIndex((m) => m && localTime(m.sentAt) === "2026-01-12 10:00");
    expect(first).toBeGreaterThanOrEqual(0);
    const second = 1 - first;
    expect(localTime(preDue3[second]?.sentAt as string)).toBe("2026-01-13 08:00");
    expect(trails[second]).toContainEqual(
      expect.objectContaining({
        type: "step_deferred",
        data: { step: "pre_due_3", rule: "sms_daily_cap", until: "2026-01-13T00:00:00Z" },
      }),
    );
    expect(trails[first]?.some((e) => e.type === "step_deferred" && e.data.step === "pre_due_3")).toBe(false);
    // D−1 (pre_due_1, SMS + email): one SMS that day; the loan that gets none still gets its email.
    const preDue1 = trails.flatMap((trail) =>
      trail.filter(
        (e) => e.data?.step === "pre_due_1" && (e.type === "message_sent" || e.type === "channel_suppressed"),
      ),
    );
    expect(preDue1.filter((e) => e.type === "message_sent" && e.data.channel === "sms")).toHaveLength(1);
    expect(preDue1.filter((e) => e.type === "message_sent" && e.data.channel === "email")).toHaveLength(2);
    expect(preDue1).toContainEqual(
      expect.objectContaining({
        type: "channel_suppressed",
        data: { step: "pre_due_1", channel: "sms", rule: "sms_daily_cap" },
      }),
    );

    for (const [index, loanId] of shared.entries()) {
      expectNothingDropped(loanId, trails[index] ?? [], await outbox(loanId));
      expect((await lender.get(`/v1/loans/${loanId}`)).body.status).toBe("legal");
      // The evidence says the caps were evaluated over the borrower's contacts.
      for (const sent of (trails[index] ?? []).filter((e) => e.type === "message_sent")) {
        expect(sent.data.rulesPassed).toContain("frequency_caps_per_borrower");
      }
    }

    // Borrowers with a phone of their own: every step on every channel, at 10:00, as for any single loan.
    const expected = DEFAULT_POLICY.steps.flatMap((step) =>
      step.channels.map((channel) => `${step.id}:${channel}`),
    );
    for (const { loanId, phone } of alone) {
      const messages = await outbox(loanId);
      expect(messages.map((m) => `${m.step}:${m.channel}`)).toEqual(expected);
      expect(messages.every((m) => localTime(m.sentAt).endsWith("10:00"))).toBe(true);
      expect(messages.filter((m) => m.channel === "sms").every((m) => m.to === phone)).toBe(true);
      expect((await audit(loanId)).some((e) => e.type === "step_deferred")).toBe(false);
    }
  });

  it("keeps borrower contact records under hashed keys, with no phone or email in them", async () => {
    const client = makeDocumentClient({ endpoint: inject("dynamoEndpoint") });
    const { Items = [] } = await client.send(
      new ScanCommand({ TableName: `${prefix}dunning-state`, ConsistentRead: true }),
    );
    const records = Items.filter((item) => item.sk === "CONTACTS");
    // The shared phone and the two single-loan phones.
    expect(records).toHaveLength(3);
    for (const record of records) {
      expect(record.pk).toMatch(/^T#demo#BORROWER#[0-9a-f]{64}$/);
      const text = JSON.stringify(record);
      expect(text).not.toMatch(/\+86|@example\.com/);
      expect(record.contacts.length).toBeGreaterThan(0);
      expect(Object.keys(record.contacts[0]).sort()).toEqual([
        "at",
        "channel",
        "loanId",
        "plannedAt",
        "step",
      ]);
    }
  });

  it("by default the caps count each loan: two loans of one phone due the same day each get every step at 10:00", async () => {
    const tag = randomBytes(3).toString("hex");
    const loans = [`per-loan-a-${tag}`, `per-loan-b-${tag}`];
    for (const loanId of loans) {
      const request = loanRequest(loanId, { dueDate: "2026-03-16" });
      expect((await lender.post("/v1/loans", request)).status).toBe(201);
    }
    await local.post("/local/clock/advance", { to: "2026-04-20T00:00:00Z" });

    const expected = DEFAULT_POLICY.steps.flatMap((step) =>
      step.channels.map((channel) => `${step.id}:${channel}`),
    );
    for (const loanId of loans) {
      const messages = await outbox(loanId);
      expect(messages.map((m) => `${m.step}:${m.channel}`)).toEqual(expected);
      expect(messages.every((m) => localTime(m.sentAt).endsWith("10:00"))).toBe(true);
      const trail = await audit(loanId);
      expect(trail.some((e) => e.type === "step_deferred" || e.type === "channel_suppressed")).toBe(false);
      for (const sent of trail.filter((e) => e.type === "message_sent")) {
        expect(sent.data.rulesPassed).toContain("frequency_caps_per_loan");
      }
    }
  });
});
