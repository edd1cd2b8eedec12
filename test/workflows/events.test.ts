import { describe, expect, it } from "vitest";
import { executionName } from "../../functions/usecases/execution.ts";
import { CNY, day, instant, ms, sentSince, useEventStack } from "./events-harness.ts";

/**
 * Lender events over HTTP on the embedded stack (the real ASL on the local engine, the real handlers,
 * DynamoDB Local), with a frozen virtual clock: payments, charges, disputes, the events that end contact,
 * channel opt-outs, and the events the case's state refuses. Promises, settlements, grace, installments and
 * reversals are in agreements.test.ts. Every loan is due ten days after the clock's current date, so each
 * test is independent of how far the earlier ones moved the shared clock.
 */
const h = useEventStack("events");

const DEFAULT_STEPS_UNTIL_SOFT_1 = [
  "pre_due_7:email",
  "pre_due_3:sms",
  "pre_due_1:sms",
  "pre_due_1:email",
  "due_day:sms",
  "soft_1:sms",
  "soft_1:email",
];
const stepsOf = (messages: { step: string; channel: string }[]) =>
  messages.map((m) => `${m.step}:${m.channel}`);

describe("payment", () => {
  it("a partial payment keeps collection going and the next message states the new balance", async () => {
    const loanId = h.id("partial");
    const due = day(await h.today(), 10);
    await h.subscribe(loanId, { dueDate: due });
    const paidAt = instant(day(due, 2), "12:00");
    await h.advanceTo(paidAt);

    const loan = await h.apply(loanId, { type: "payment", amount: CNY("250.00") });
    expect(loan).toMatchObject({
      status: "active",
      stage: "soft_collection",
      balance: CNY("1000.00"),
      totalPaid: CNY("250.00"),
      daysPastDue: 2,
      hold: null,
      nextAction: { step: "soft_3", at: instant(day(due, 3), "10:00"), channels: ["sms"] },
    });

    await h.advanceTo(instant(day(due, 3), "12:00"));
    const messages = await h.messages(loanId);
    const before = messages.filter((m) => ms(m.sentAt) < ms(paidAt));
    expect(stepsOf(before)).toEqual(DEFAULT_STEPS_UNTIL_SOFT_1);
    for (const m of before) expect(m.body).toContain("¥1,250.00");
    const after = sentSince(messages, paidAt);
    expect(stepsOf(after)).toEqual(["soft_3:sms"]);
    expect(after[0]?.body).toContain("¥1,000.00");
    expect(ms(after[0]?.sentAt as string)).toBe(ms(instant(day(due, 3), "10:00")));

    const payment = (await h.audit(loanId)).find((e) => e.type === "payment_received");
    expect(payment?.data).toMatchObject({
      amount: CNY("250.00"),
      balance: CNY("1000.00"),
      paidInFull: false,
      status: "active",
    });
    expect(await h.loan(loanId)).toMatchObject({ status: "active", balance: CNY("1000.00") });
  });

  it("a full payment makes the case paid, stops the execution, and nothing is sent after it", async () => {
    const loanId = h.id("full");
    const due = day(await h.today(), 10);
    await h.subscribe(loanId, { dueDate: due });
    const paidAt = instant(day(due, 2), "12:00");
    await h.advanceTo(paidAt);

    const paid = await h.apply(loanId, { type: "payment", amount: CNY("1250.00") });
    expect(paid).toMatchObject({
      status: "paid",
      stage: "done",
      balance: CNY("0.00"),
      totalPaid: CNY("1250.00"),
      hold: null,
      nextAction: null,
    });
    await h.settle();
    const execution = h.stack.engine.execution(executionName({ tenantId: "demo", loanId, generation: 1 }));
    expect(execution?.status).not.toBe("RUNNING");

    await h.advanceTo(instant(day(due, 40), "12:00"));
    const messages = await h.messages(loanId);
    expect(stepsOf(messages)).toEqual(DEFAULT_STEPS_UNTIL_SOFT_1);
    expect(sentSince(messages, paidAt)).toEqual([]);
    expect(await h.loan(loanId)).toMatchObject({ status: "paid", stage: "done", nextAction: null });

    const audit = await h.audit(loanId);
    const at = audit.findIndex((e) => e.type === "payment_received");
    expect(audit[at]?.data).toMatchObject({ paidInFull: true, status: "paid", balance: CNY("0.00") });
    expect(audit.slice(at + 1).map((e) => e.type)).toEqual([]);
  });

  it("with fees: after D+3 the balance carries the late fee and interest; a payment pays fees, then interest, then principal", async () => {
    const loanId = h.id("fees");
    const due = day(await h.today(), 10);
    const created = await h.subscribe(loanId, { dueDate: due, policyId: "with-fees" });
    expect(created.policy).toEqual({ id: "with-fees", version: 1 });
    const paidAt = instant(day(due, 3), "12:00");
    await h.advanceTo(paidAt);

    // 1250.00 × 0.0005 = 0.625 → 0.62 a day (half-even), three days past due; the 50.00 fee from D+1.
    expect(await h.loan(loanId)).toMatchObject({
      status: "active",
      stage: "soft_collection",
      daysPastDue: 3,
      balance: CNY("1301.86"),
      balanceBreakdown: { principal: CNY("1250.00"), fees: CNY("50.00"), interest: CNY("1.86") },
    });
    const messages = await h.messages(loanId);
    const body = (step: string) => messages.find((m) => m.step === step)?.body;
    expect(body("due_day")).toContain("¥1,250.00");
    expect(body("soft_1")).toContain("¥1,300.62");
    expect(body("soft_3")).toContain("¥1,301.86");

    const paid = await h.apply(loanId, { type: "payment", amount: CNY("100.00") });
    expect(paid).toMatchObject({
      status: "active",
      balance: CNY("1201.86"),
      balanceBreakdown: { principal: CNY("1201.86"), fees: CNY("0.00"), interest: CNY("0.00") },
    });
    const payment = (await h.audit(loanId)).find((e) => e.type === "payment_received");
    expect(payment?.data.allocation).toEqual({
      fees: CNY("50.00"),
      interest: CNY("1.86"),
      principal: CNY("48.14"),
    });
    expect(payment?.data.balance).toEqual(CNY("1201.86"));

    // The fee is charged once; interest goes on on the principal left: 1201.86 × 0.0005 → 0.60.
    await h.advanceTo(instant(day(due, 4), "12:00"));
    expect(await h.loan(loanId)).toMatchObject({
      balance: CNY("1202.46"),
      balanceBreakdown: { principal: CNY("1201.86"), fees: CNY("0.00"), interest: CNY("0.60") },
    });
  });
});

describe("dispute", () => {
  it("dispute_opened pauses contact (on_hold) and dispute_resolved resumes it", async () => {
    const loanId = h.id("dispute");
    const due = day(await h.today(), 10);
    await h.subscribe(loanId, { dueDate: due });
    const openedAt = instant(day(due, 2), "12:00");
    await h.advanceTo(openedAt);

    const opened = await h.apply(loanId, { type: "dispute_opened" });
    expect(opened).toMatchObject({
      status: "on_hold",
      stage: "soft_collection",
      balance: CNY("1250.00"),
      hold: { reason: "dispute", until: null },
      nextAction: null,
    });
    const resolvedAt = instant(day(due, 10), "22:30");
    await h.advanceTo(resolvedAt);
    expect(sentSince(await h.messages(loanId), openedAt)).toEqual([]);
    expect(await h.loan(loanId)).toMatchObject({ status: "on_hold", hold: { reason: "dispute" } });

    const resolved = await h.apply(loanId, { type: "dispute_resolved" });
    expect(resolved).toMatchObject({ status: "active", stage: "soft_collection", hold: null });
    expect(resolved.nextAction).not.toBeNull();

    await h.advanceTo(instant(day(due, 16), "12:00"));
    const after = sentSince(await h.messages(loanId), resolvedAt);
    // Collection resumes where it left off: the latest step that fell due while paused (soft_7) goes out as
    // soon as contact is allowed (resolved at 22:30 local: deferred to 08:00 the next day), the one before it
    // (soft_3) is recorded as superseded rather than sent in a burst.
    expect(stepsOf(after)).toEqual(["soft_7:sms", "soft_7:email", "soft_15:sms", "soft_15:email"]);
    expect(ms(after[0]?.sentAt as string)).toBe(ms(instant(day(due, 11), "08:00")));
    expect(ms(after[2]?.sentAt as string)).toBe(ms(instant(day(due, 15), "10:00")));
    const audit = await h.audit(loanId);
    const skipped = audit.filter((e) => e.type === "step_skipped");
    expect(skipped.map((e) => e.data)).toMatchObject([{ step: "soft_3", by: "soft_7" }]);
    const deferred = audit.filter((e) => e.type === "step_deferred");
    expect(deferred.map((e) => e.data)).toMatchObject([
      { step: "soft_7", rule: "contact_window", until: instant(day(due, 11), "08:00") },
    ]);

    const types = await h.auditTypes(loanId);
    expect(types).toEqual(expect.arrayContaining(["dispute_opened", "dispute_resolved"]));
    expect(types.indexOf("dispute_resolved")).toBeGreaterThan(types.indexOf("dispute_opened"));
  });
});

describe("events that end contact", () => {
  for (const [type, auditType] of [
    ["bankruptcy", "bankruptcy_notified"],
    ["cease_contact", "cease_contact_requested"],
  ] as const) {
    it(`${type} moves the case to legal and nothing more is sent`, async () => {
      const loanId = h.id(type.replace("_", "-"));
      const due = day(await h.today(), 10);
      await h.subscribe(loanId, { dueDate: due });
      const at = instant(day(due, 2), "12:00");
      await h.advanceTo(at);

      const loan = await h.apply(loanId, { type });
      expect(loan).toMatchObject({
        status: "legal",
        stage: "legal",
        balance: CNY("1250.00"),
        hold: null,
        nextAction: null,
      });
      await h.advanceTo(instant(day(due, 40), "12:00"));
      const messages = await h.messages(loanId);
      expect(stepsOf(messages)).toEqual(DEFAULT_STEPS_UNTIL_SOFT_1);
      expect(sentSince(messages, at)).toEqual([]);
      expect(await h.loan(loanId)).toMatchObject({ status: "legal", nextAction: null });
      const types = await h.auditTypes(loanId);
      expect(types).toContain(auditType);
      // After it, only the legal hand-off package's publication.
      expect(types.slice(types.indexOf(auditType) + 1)).toEqual(["handoff_published"]);
    });
  }

  for (const [type, auditType] of [
    ["deceased", "deceased_notified"],
    ["withdrawn", "loan_withdrawn"],
  ] as const) {
    it(`${type} closes the case and nothing more is sent`, async () => {
      const loanId = h.id(type);
      const due = day(await h.today(), 10);
      await h.subscribe(loanId, { dueDate: due });
      const at = instant(day(due, -2), "12:00");
      await h.advanceTo(at);

      const loan = await h.apply(loanId, { type });
      expect(loan).toMatchObject({ status: "closed", stage: "done", hold: null, nextAction: null });
      await h.advanceTo(instant(day(due, 40), "12:00"));
      const messages = await h.messages(loanId);
      expect(stepsOf(messages)).toEqual(["pre_due_7:email", "pre_due_3:sms"]);
      expect(sentSince(messages, at)).toEqual([]);
      expect(await h.loan(loanId)).toMatchObject({ status: "closed", stage: "done", nextAction: null });
      const types = await h.auditTypes(loanId);
      expect(types).toContain(auditType);
      expect(types.slice(types.indexOf(auditType) + 1)).toEqual([]);
    });
  }

  it("after cease_contact, a settlement is refused (no hold that could resume contact)", async () => {
    const loanId = h.id("cease-settle");
    const due = day(await h.today(), 10);
    await h.subscribe(loanId, { dueDate: due });
    const at = instant(day(due, 2), "12:00");
    await h.advanceTo(at);
    expect(await h.apply(loanId, { type: "cease_contact" })).toMatchObject({ status: "legal" });
    const refused = await h.event(loanId, { type: "settlement", amount: CNY("800.00"), payBy: day(due, 4) });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe("CASE_STATE_CONFLICT");
    await h.advanceTo(instant(day(due, 40), "12:00"));
    expect(stepsOf(sentSince(await h.messages(loanId), at))).toEqual([]);
  });

  it("after bankruptcy, a reversed payment re-opens the debt on the legal route, never to contact", async () => {
    const loanId = h.id("bankrupt-reversal");
    const due = day(await h.today(), 10);
    await h.subscribe(loanId, { dueDate: due });
    const at = instant(day(due, 2), "12:00");
    await h.advanceTo(at);
    expect(await h.apply(loanId, { type: "bankruptcy" })).toMatchObject({ status: "legal" });
    expect(await h.apply(loanId, { type: "payment", amount: CNY("1250.00") })).toMatchObject({
      status: "paid",
    });
    await h.advanceTo(instant(day(due, 3), "12:00"));
    expect(await h.apply(loanId, { type: "payment_reversed", amount: CNY("1250.00") })).toMatchObject({
      status: "legal",
      nextAction: null,
    });
    await h.advanceTo(instant(day(due, 40), "12:00"));
    expect(stepsOf(sentSince(await h.messages(loanId), at))).toEqual([]);
  });
});

describe("opt-out and opt-in", () => {
  it("opt_out sms leaves only email; opt_in sms brings sms back", async () => {
    const loanId = h.id("opt");
    const due = day(await h.today(), 10);
    await h.subscribe(loanId, { dueDate: due });
    const outAt = instant(day(due, -5), "12:00");
    await h.advanceTo(outAt);

    const out = await h.apply(loanId, { type: "opt_out", channel: "sms" });
    expect(out).toMatchObject({ status: "active", optedOut: ["sms"] });
    const inAt = instant(day(due, 2), "12:00");
    await h.advanceTo(inAt);
    const whileOut = sentSince(await h.messages(loanId), outAt);
    // SMS-only steps fall back to email (the policy's default contact rules).
    expect(stepsOf(whileOut)).toEqual([
      "pre_due_3:email",
      "pre_due_1:email",
      "due_day:email",
      "soft_1:email",
    ]);

    const audit = await h.audit(loanId);
    const started = audit.filter((e) => e.type === "step_started" && e.data.step === "pre_due_3");
    expect(started.map((e) => e.data)).toMatchObject([{ channels: ["email"], unreachable: ["sms"] }]);
    expect(audit).toContainEqual(
      expect.objectContaining({
        type: "channel_fallback",
        data: { step: "pre_due_3", from: "sms", to: "email" },
      }),
    );

    const back = await h.apply(loanId, { type: "opt_in", channel: "sms" });
    expect(back).toMatchObject({ status: "active", optedOut: [] });
    await h.advanceTo(instant(day(due, 7), "12:00"));
    const afterIn = sentSince(await h.messages(loanId), inAt);
    expect(stepsOf(afterIn)).toEqual(["soft_3:sms", "soft_7:sms", "soft_7:email"]);
    expect(await h.auditTypes(loanId)).toEqual(expect.arrayContaining(["opted_out", "opted_in"]));
  });
});

describe("refused and repeated events", () => {
  it("an event the state forbids is 409 CASE_STATE_CONFLICT and changes nothing", async () => {
    const loanId = h.id("forbidden");
    const due = day(await h.today(), 10);
    await h.subscribe(loanId, { dueDate: due });

    const noDispute = await h.event(loanId, { type: "dispute_resolved" });
    expect(noDispute.status).toBe(409);
    expect(noDispute.body.error.code).toBe("CASE_STATE_CONFLICT");

    // On hold for a promise: still no dispute to resolve, and the due date cannot be extended.
    const promised = await h.apply(loanId, {
      type: "promise_to_pay",
      amount: CNY("100.00"),
      promisedDate: day(due, 1),
    });
    expect(promised.status).toBe("on_hold");
    for (const body of [
      { type: "dispute_resolved" },
      { type: "grace_extension", newDueDate: day(due, 30) },
    ]) {
      const refused = await h.event(loanId, body);
      expect(refused.status, body.type).toBe(409);
      expect(refused.body.error.code, body.type).toBe("CASE_STATE_CONFLICT");
    }

    expect(await h.apply(loanId, { type: "withdrawn" })).toMatchObject({ status: "closed" });
    for (const body of [
      { type: "payment", amount: CNY("100.00") },
      { type: "withdrawn" },
      { type: "dispute_opened" },
      { type: "promise_to_pay", amount: CNY("100.00"), promisedDate: day(due, 1) },
    ]) {
      const refused = await h.event(loanId, body);
      expect(refused.status, body.type).toBe(409);
      expect(refused.body.error.code, body.type).toBe("CASE_STATE_CONFLICT");
      expect(refused.body.error.message, body.type).toBeTruthy();
    }
    // A refused request replays as refused under its Idempotency-Key.
    const key = { "Idempotency-Key": `refused-${loanId}` };
    const refused = await h.event(loanId, { type: "payment", amount: CNY("100.00") }, key);
    expect(refused.status).toBe(409);
    expect(await h.event(loanId, { type: "payment", amount: CNY("100.00") }, key)).toEqual(refused);
    expect(await h.loan(loanId)).toMatchObject({ status: "closed", balance: CNY("1250.00") });
    expect((await h.auditTypes(loanId)).filter((t) => t === "payment_received")).toEqual([]);
  });

  it("an event older than the last applied one is 409 EVENT_OUT_OF_ORDER", async () => {
    const loanId = h.id("order");
    await h.subscribe(loanId, { dueDate: day(await h.today(), 10) });
    const now = ms(await h.now());
    const iso = (offsetMs: number) => new Date(now + offsetMs).toISOString();

    const first = await h.apply(loanId, {
      type: "payment",
      amount: CNY("100.00"),
      occurredAt: iso(-60 * 60_000),
    });
    expect(first.balance).toEqual(CNY("1150.00"));
    const late = await h.event(loanId, {
      type: "payment",
      amount: CNY("100.00"),
      occurredAt: iso(-2 * 60 * 60_000),
    });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe("EVENT_OUT_OF_ORDER");
    expect((await h.loan(loanId)).balance).toEqual(CNY("1150.00"));

    const future = await h.event(loanId, {
      type: "payment",
      amount: CNY("100.00"),
      occurredAt: iso(60 * 60_000),
    });
    expect(future.status).toBe(422);
    expect(future.body.error.code).toBe("EVENT_IN_THE_FUTURE");

    // At or after the last applied instant is in order.
    const next = await h.apply(loanId, {
      type: "payment",
      amount: CNY("100.00"),
      occurredAt: iso(-60 * 60_000),
    });
    expect(next.balance).toEqual(CNY("1050.00"));
  });

  it("the same eventId twice is applied once", async () => {
    const loanId = h.id("event-id");
    await h.subscribe(loanId, { dueDate: day(await h.today(), 10) });
    const body = { type: "payment", amount: CNY("100.00"), eventId: `pay-${loanId}` };

    const first = await h.apply(loanId, body);
    const second = await h.apply(loanId, body);
    expect(first.balance).toEqual(CNY("1150.00"));
    expect(second.balance).toEqual(CNY("1150.00"));
    expect(await h.loan(loanId)).toMatchObject({ balance: CNY("1150.00"), totalPaid: CNY("100.00") });
    const payments = (await h.audit(loanId)).filter((e) => e.type === "payment_received");
    expect(payments).toHaveLength(1);
    expect(payments[0]?.data.eventId).toBe(`pay-${loanId}`);
  });

  it("the same Idempotency-Key and body twice answer identically and apply once", async () => {
    const loanId = h.id("idem");
    await h.subscribe(loanId, { dueDate: day(await h.today(), 10) });
    const key = { "Idempotency-Key": `idem-${loanId}` };
    const body = { type: "payment", amount: CNY("100.00") };

    const first = await h.event(loanId, body, key);
    const second = await h.event(loanId, body, key);
    expect(first.status).toBe(200);
    expect(second).toEqual(first);
    expect(first.body.balance).toEqual(CNY("1150.00"));
    expect(await h.loan(loanId)).toMatchObject({ balance: CNY("1150.00") });
    expect((await h.auditTypes(loanId)).filter((t) => t === "payment_received")).toHaveLength(1);

    const reused = await h.event(loanId, { ...body, amount: CNY("200.00") }, key);
    expect(reused.status).toBe(422);
    expect(reused.body.error.code).toBe("IDEMPOTENCY_KEY_REUSED");

    const tooMuch = await h.event(loanId, { type: "payment", amount: CNY("1150.01") });
    expect(tooMuch.status).toBe(422);
    expect(tooMuch.body.error.code).toBe("PAYMENT_EXCEEDS_BALANCE");
    expect(await h.loan(loanId)).toMatchObject({ balance: CNY("1150.00") });
  });
});

describe("contact window", () => {
  it("every message sent in this file went out between 08:00 and 21:00 borrower local time", async () => {
    const all = await h.allMessages();
    expect(all.length).toBeGreaterThan(0);
  });
});
