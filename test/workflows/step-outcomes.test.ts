import { DateTime } from "luxon";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_POLICY } from "../../functions/domain/policy.ts";
import { executionName } from "../../functions/usecases/execution.ts";
import { loanRequest } from "./client.ts";
import { startTestStack, type TestStack } from "./test-stack.ts";

// No step skipped silently and no hand-off without notice: every planned step ends in exactly one recorded
// outcome, a loan subscribed past due starts with a first notice, and legal comes only 14 days after a message
// reached the borrower — never when none did.
let t: TestStack;

beforeAll(async () => {
  t = await startTestStack(`step-outcomes-${Date.now()}-`);
});
afterAll(async () => t?.stack.stop());

interface Entry {
  type: string;
  data: { step?: string; reason?: string; channel?: string; sentAt?: string; cause?: string };
}
const trail = async (loanId: string) =>
  (await t.lender.get(`/v1/loans/${loanId}/audit`)).body.entries as Entry[];
const outbox = async (loanId: string) =>
  (await t.local.get(`/local/outbox?loanId=${loanId}`)).body.messages as {
    step: string;
    channel: string;
    body: string;
    subject?: string;
  }[];
const advanceTo = async (to: string) =>
  expect((await t.local.post("/local/clock/advance", { to })).status).toBe(200);

/** Each step's recorded outcomes: a sent or unknown message per channel, or one step_skipped. */
function outcomesByStep(entries: Entry[]): Map<string, string[]> {
  const byStep = new Map<string, string[]>();
  for (const e of entries) {
    const outcome =
      e.type === "step_skipped"
        ? `skipped:${e.data.reason}`
        : ["message_sent", "message_outcome_unknown", "message_failed"].includes(e.type)
          ? `${e.type}:${e.data.channel}`
          : null;
    if (!outcome || !e.data.step) continue;
    byStep.set(e.data.step, [...(byStep.get(e.data.step) ?? []), outcome]);
  }
  return byStep;
}

/** Every step of the default policy has outcomes, and a skipped step has exactly one. */
function expectEveryStepSettled(entries: Entry[]) {
  const byStep = outcomesByStep(entries);
  for (const step of DEFAULT_POLICY.steps) {
    const outcomes = byStep.get(step.id) ?? [];
    expect(outcomes, step.id).not.toEqual([]);
    if (outcomes.some((o) => o.startsWith("skipped:"))) expect(outcomes, step.id).toHaveLength(1);
    else expect(new Set(outcomes).size, step.id).toBe(outcomes.length);
  }
}

describe("every planned step ends in one recorded outcome", () => {
  it("records the steps already past at subscription as skipped, with the reason", async () => {
    // 2026-01-05 00:00Z: pre_due_7 of a loan due 2026-01-10 (Shanghai) was on 2026-01-03.
    expect((await t.lender.post("/v1/loans", loanRequest("SO-LATE", { dueDate: "2026-01-10" }))).status).toBe(
      201,
    );
    const skipped = (await trail("SO-LATE")).filter((e) => e.type === "step_skipped");
    expect(skipped.map((e) => [e.data.step, e.data.reason])).toEqual([["pre_due_7", "before_subscription"]]);
  });

  it("records the steps a kept promise passed over", async () => {
    const loanId = "SO-PROMISE";
    expect((await t.lender.post("/v1/loans", loanRequest(loanId, { dueDate: "2026-01-06" }))).status).toBe(
      201,
    );
    await advanceTo("2026-01-07T03:00:00Z"); // soft_1 (D+1 10:00 Shanghai) has gone out
    const promised = await t.lender.post(`/v1/loans/${loanId}/events`, {
      type: "promise_to_pay",
      amount: { amount: "100.00", currency: "CNY" },
      promisedDate: "2026-01-20",
    });
    expect(promised.status).toBe(200);
    await advanceTo("2026-01-14T03:00:00Z"); // soft_3 and soft_7 fall due while on hold
    const kept = await t.lender.post(`/v1/loans/${loanId}/events`, {
      type: "payment",
      amount: { amount: "100.00", currency: "CNY" },
    });
    expect(kept.status).toBe(200);
    const passed = (await trail(loanId)).filter(
      (e) => e.type === "step_skipped" && e.data.reason === "passed_over_by_replan",
    );
    expect(passed.map((e) => [e.data.step, e.data.cause])).toEqual([
      ["soft_3", "payment"],
      ["soft_7", "payment"],
    ]);
    await advanceTo("2026-02-20T03:00:00Z");
    expect((await t.lender.get(`/v1/loans/${loanId}`)).body.status).toBe("legal");
    expectEveryStepSettled(await trail(loanId));
  });
});

describe("no hand-off without notice", () => {
  it("refuses a due date more than 10 years away, changing nothing", async () => {
    const today = DateTime.fromMillis(t.stack.clock.nowMs(), { zone: "Asia/Shanghai" });
    const tooEarly = today.minus({ years: 10, days: 1 }).toISODate() as string;
    const tooLate = today.plus({ years: 10, days: 1 }).toISODate() as string;
    for (const dueDate of [tooEarly, tooLate]) {
      const refused = await t.lender.post("/v1/loans", loanRequest("SO-FAR", { dueDate }));
      expect(refused.status).toBe(400);
      expect(refused.body.error).toMatchObject({
        code: "VALIDATION_FAILED",
        details: [expect.objectContaining({ path: "dueDate" })],
      });
    }
    expect((await t.lender.get("/v1/loans/SO-FAR")).status).toBe(404);
  });

  it("gives a loan subscribed long past due a first notice, then hands off 14 days after it", async () => {
    const loanId = "SO-2020";
    const created = await t.lender.post("/v1/loans", loanRequest(loanId, { dueDate: "2020-01-01" }));
    expect(created.status).toBe(201);
    expect(created.body.status).toBe("active");
    expect(created.body.nextAction).toMatchObject({ step: "first_notice" });
    // Every step of the policy lies before the subscription: all on the record as skipped.
    const atSubscription = await trail(loanId);
    expect(
      atSubscription.filter((e) => e.type === "step_skipped").map((e) => [e.data.step, e.data.reason]),
    ).toEqual(DEFAULT_POLICY.steps.map((s) => [s.id, "before_subscription"]));

    await advanceTo(t.stack.clock.now().toISOString().replace(/T.*/, "T03:00:00Z"));
    const notices = await outbox(loanId);
    expect(notices.map((m) => `${m.step}:${m.channel}`).sort()).toEqual([
      "first_notice:email",
      "first_notice:sms",
    ]);
    const email = notices.find((m) => m.channel === "email");
    expect(email?.subject).toContain("1,250.00");
    expect(email?.body).toMatch(/异议/); // how to dispute
    expect(email?.body).toContain(loanId); // how to pay: the payment reference
    const sentAt = (await trail(loanId)).find((e) => e.type === "message_sent")?.data.sentAt as string;

    // Not before 14 whole days have passed since that notice, at the policy's hand-off time (10:00 local).
    const notYet = new Date(Date.parse(sentAt) + 14 * 86_400_000 - 60_000).toISOString();
    await advanceTo(notYet);
    const waiting = (await t.lender.get(`/v1/loans/${loanId}`)).body;
    expect(waiting.status).toBe("active");
    expect(waiting.nextAction).toMatchObject({ step: "hand_off" });
    expect(Date.parse(waiting.nextAction.at)).toBeGreaterThanOrEqual(Date.parse(sentAt) + 14 * 86_400_000);
    await advanceTo(new Date(Date.parse(sentAt) + 16 * 86_400_000).toISOString());
    expect((await t.lender.get(`/v1/loans/${loanId}`)).body.status).toBe("legal");
  });

  it("withholds the hand-off of a borrower no message reached, and flags the case for ops", async () => {
    const loanId = "SO-UNREACHED";
    // Subscribed at 22:00 in Shanghai, so the first notice waits for the window to open at 08:00.
    const tomorrow = new Date(t.stack.clock.nowMs() + 86_400_000).toISOString().slice(0, 10);
    await advanceTo(`${tomorrow}T14:00:00Z`);
    const request = loanRequest(loanId, { dueDate: "2025-12-20" });
    const borrower = { ...request.borrower, phone: undefined };
    expect((await t.lender.post("/v1/loans", { ...request, borrower })).status).toBe(201);
    // The only channel is closed before the first notice could go out.
    const out = await t.lender.post(`/v1/loans/${loanId}/events`, { type: "opt_out", channel: "email" });
    expect(out.status).toBe(200);
    await advanceTo(new Date(t.stack.clock.nowMs() + 40 * 86_400_000).toISOString());

    const loan = (await t.ops.get(`/v1/loans/${loanId}`)).body;
    expect(loan.status).toBe("active");
    expect(loan.attention).toMatchObject({ reason: "handoff_withheld" });
    const entries = await trail(loanId);
    expect(entries.filter((e) => e.type === "handed_off")).toEqual([]);
    expect(entries.find((e) => e.type === "handoff_withheld")?.data.reason).toBe(
      "no_message_reached_borrower",
    );
    expect(
      entries.find((e) => e.type === "step_skipped" && e.data.step === "first_notice")?.data.reason,
    ).toBe("no_reachable_channel");
    expect(await outbox(loanId)).toEqual([]);
  });
});

describe("maxLateness", () => {
  it("skips a step found later than the policy allows instead of sending it out of its moment", async () => {
    const { id: _id, version: _version, templates: _templates, ...rules } = DEFAULT_POLICY;
    const put = await t.ops.call("PUT", "/v1/policies/punctual", {
      ...rules,
      maxLateness: "PT10M",
      applyTo: "new_loans",
    });
    expect(put.status).toBe(201);
    expect(put.body.maxLateness).toBe("PT10M");
    const loanId = "SO-PUNCTUAL";
    const now = t.stack.clock.nowMs();
    const dueDate = new Date(now + 20 * 86_400_000).toISOString().slice(0, 10);
    expect(
      (await t.lender.post("/v1/loans", loanRequest(loanId, { dueDate, policyId: "punctual" }))).status,
    ).toBe(201);
    // The execution dies without the case knowing; the reconciler restarts it, by then 30 minutes late.
    const created = (await t.lender.get(`/v1/loans/${loanId}`)).body;
    expect(created.nextAction.step).toBe("pre_due_7");
    const planned = Date.parse(created.nextAction.at);
    await t.stack.engine.stop(executionName({ tenantId: "demo", loanId, generation: 1 }));
    await advanceTo(new Date(planned + 2 * 3_600_000).toISOString());
    expect((await trail(loanId)).map((e) => e.type)).toContain("workflow_restarted");

    const skipped = (await trail(loanId)).find(
      (e) => e.type === "step_skipped" && e.data.step === "pre_due_7",
    );
    expect(skipped?.data.reason).toBe("later_than_max_lateness");
    expect((await outbox(loanId)).filter((m) => m.step === "pre_due_7")).toEqual([]);
    expect((await t.lender.get(`/v1/loans/${loanId}`)).body.nextAction.step).toBe("pre_due_3");
  });
});
