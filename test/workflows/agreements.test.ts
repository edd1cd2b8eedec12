import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import { CNY, day, instant, ms, sentSince, useEventStack, ZONE } from "./events-harness.ts";

/**
 * Agreements and re-plans over HTTP on the embedded stack with a frozen virtual clock: promises to pay
 * (kept, kept in part, broken), settlements, grace extensions, installment plans and payment reversals.
 * Every loan is due ten days after the clock's current date (D), whatever the earlier tests did to the clock.
 */
const h = useEventStack("agreements");

const stepsOf = (messages: { step: string; channel: string }[]) =>
  messages.map((m) => `${m.step}:${m.channel}`);
const localDateOf = (sentAt: string) => DateTime.fromISO(sentAt).setZone(ZONE).toISODate();

describe("promise_to_pay", () => {
  it("a promise kept in full: the case closes quietly", async () => {
    const loanId = h.id("promise-kept");
    const due = day(await h.today(), 10);
    await h.subscribe(loanId, { dueDate: due });
    const promisedAt = instant(day(due, 2), "12:00");
    await h.advanceTo(promisedAt);

    const held = await h.apply(loanId, {
      type: "promise_to_pay",
      amount: CNY("1250.00"),
      promisedDate: day(due, 6),
    });
    expect(held).toMatchObject({
      status: "on_hold",
      stage: "soft_collection",
      balance: CNY("1250.00"),
      hold: { reason: "promise", until: day(due, 6), amount: CNY("1250.00"), paidSince: CNY("0.00") },
      nextAction: { step: "hold_review", at: instant(day(due, 7), "08:00"), channels: [] },
    });
    const paidAt = instant(day(due, 5), "12:00");
    await h.advanceTo(paidAt);
    expect(sentSince(await h.messages(loanId), promisedAt)).toEqual([]);

    const paid = await h.apply(loanId, { type: "payment", amount: CNY("1250.00") });
    expect(paid).toMatchObject({
      status: "paid",
      stage: "done",
      balance: CNY("0.00"),
      hold: null,
      nextAction: null,
    });
    // Well past the promised date and its review: nothing more is sent, the promise is not called broken.
    await h.advanceTo(instant(day(due, 40), "12:00"));
    expect(sentSince(await h.messages(loanId), promisedAt)).toEqual([]);
    expect(await h.loan(loanId)).toMatchObject({ status: "paid", nextAction: null });
    const audit = await h.audit(loanId);
    const types = audit.map((e) => e.type);
    expect(types).toContain("promise_to_pay");
    expect(types).not.toContain("promise_broken");
    const last = audit.at(-1);
    expect(last?.type === "promise_kept" || last?.data.status === "paid", JSON.stringify(last)).toBe(true);
  });

  it("a promise for part of the balance, kept: active again (promise_kept), collection resumes on the rest", async () => {
    const loanId = h.id("promise-part");
    const due = day(await h.today(), 10);
    await h.subscribe(loanId, { dueDate: due });
    const promisedAt = instant(day(due, 2), "12:00");
    await h.advanceTo(promisedAt);

    const held = await h.apply(loanId, {
      type: "promise_to_pay",
      amount: CNY("500.00"),
      promisedDate: day(due, 6),
    });
    expect(held).toMatchObject({ status: "on_hold", hold: { reason: "promise", amount: CNY("500.00") } });

    const firstPartAt = instant(day(due, 3), "12:00");
    await h.advanceTo(firstPartAt);
    const part = await h.apply(loanId, { type: "payment", amount: CNY("200.00") });
    expect(part).toMatchObject({
      status: "on_hold",
      balance: CNY("1050.00"),
      hold: { reason: "promise", amount: CNY("500.00"), paidSince: CNY("200.00") },
    });

    const keptAt = instant(day(due, 4), "12:00");
    await h.advanceTo(keptAt);
    expect(sentSince(await h.messages(loanId), promisedAt)).toEqual([]);
    const kept = await h.apply(loanId, { type: "payment", amount: CNY("300.00") });
    expect(kept).toMatchObject({
      status: "active",
      stage: "soft_collection",
      balance: CNY("750.00"),
      hold: null,
    });
    expect(kept.nextAction).not.toBeNull();
    const promiseKept = (await h.audit(loanId)).find((e) => e.type === "promise_kept");
    expect(promiseKept?.data).toMatchObject({
      promised: CNY("500.00"),
      paid: CNY("500.00"),
      until: day(due, 6),
    });

    await h.advanceTo(instant(day(due, 8), "12:00"));
    const after = sentSince(await h.messages(loanId), keptAt);
    expect(after.length).toBeGreaterThan(0);
    expect(stepsOf(after)).toEqual(expect.arrayContaining(["soft_7:sms", "soft_7:email"]));
    for (const m of after) expect(m.body).toContain("¥750.00");
    expect(await h.loan(loanId)).toMatchObject({ status: "active", balance: CNY("750.00") });
  });

  // DEFECT (reported, code unchanged): keeping a promise re-plans the case, and the step that fell due during
  // the hold (soft_3, D+3 10:00) is sent at the very instant of the payment that kept the promise — the
  // borrower who just paid as promised gets "overdue 4 days, please contact us" at once. The ASL's own
  // "On hold: review" comment says a kept promise "resumes quietly"; the hold should have covered soft_3.
  // Sequence: subscribe due D; clock → D+2 12:00; promise_to_pay 500.00 by D+6; clock → D+4 12:00;
  // payment 500.00 → 200 active + promise_kept; outbox: soft_3:sms sentAt = D+4 12:00 local.
  it("a kept promise resumes quietly: nothing at the moment it is kept, the next scheduled step later", async () => {
    const loanId = h.id("promise-quiet");
    const due = day(await h.today(), 10);
    await h.subscribe(loanId, { dueDate: due });
    await h.advanceTo(instant(day(due, 2), "12:00"));
    await h.apply(loanId, { type: "promise_to_pay", amount: CNY("500.00"), promisedDate: day(due, 6) });
    const keptAt = instant(day(due, 4), "12:00");
    await h.advanceTo(keptAt);
    expect(await h.apply(loanId, { type: "payment", amount: CNY("500.00") })).toMatchObject({
      status: "active",
    });
    await h.advanceTo(instant(day(due, 7), "12:00"));
    const after = sentSince(await h.messages(loanId), keptAt);
    expect(stepsOf(after)).toEqual(["soft_7:sms", "soft_7:email"]);
    expect(ms(after[0]?.sentAt as string)).toBe(ms(instant(day(due, 7), "10:00")));
  });

  it("a promise broken: no contact during the hold, collection resumes the day after the promised date from 08:00 local", async () => {
    const loanId = h.id("promise-broken");
    const due = day(await h.today(), 10);
    await h.subscribe(loanId, { dueDate: due });
    const promisedAt = instant(day(due, 2), "12:00");
    await h.advanceTo(promisedAt);

    const promisedDate = day(due, 5);
    const held = await h.apply(loanId, { type: "promise_to_pay", amount: CNY("500.00"), promisedDate });
    expect(held).toMatchObject({
      status: "on_hold",
      hold: { reason: "promise", until: promisedDate },
      nextAction: { step: "hold_review", at: instant(day(promisedDate, 1), "08:00") },
    });
    await h.advanceTo(instant(day(due, 4), "12:00"));
    await h.apply(loanId, { type: "payment", amount: CNY("100.00") });

    // The whole promised day and the night after it stay quiet.
    await h.advanceTo(instant(day(promisedDate, 1), "07:59"));
    expect(sentSince(await h.messages(loanId), promisedAt)).toEqual([]);
    expect(await h.loan(loanId)).toMatchObject({
      status: "on_hold",
      hold: { reason: "promise", paidSince: CNY("100.00") },
    });

    await h.advanceTo(instant(day(promisedDate, 1), "12:00"));
    const after = sentSince(await h.messages(loanId), promisedAt);
    expect(after.length).toBeGreaterThan(0);
    expect(localDateOf(after[0]?.sentAt as string)).toBe(day(promisedDate, 1));
    expect(ms(after[0]?.sentAt as string)).toBeGreaterThanOrEqual(ms(instant(day(promisedDate, 1), "08:00")));
    for (const m of after) expect(m.body).toContain("¥1,150.00");

    const broken = (await h.audit(loanId)).find((e) => e.type === "promise_broken");
    expect(broken?.data).toMatchObject({
      until: promisedDate,
      amount: CNY("500.00"),
      paidSince: CNY("100.00"),
    });
    expect(await h.loan(loanId)).toMatchObject({ status: "active", hold: null, balance: CNY("1150.00") });
  });

  it("a promise broken, borrower in New York: the review and the first message follow New York time", async () => {
    const zone = "America/New_York";
    const loanId = h.id("promise-ny");
    const due = day(await h.today(zone), 10);
    await h.subscribe(loanId, {
      dueDate: due,
      borrower: {
        name: "Ann Lee",
        email: "ann.lee@example.com",
        phone: "+16502530000",
        locale: "en-US",
        timeZone: zone,
      },
      amountDue: { amount: "1250.00", currency: "USD" },
    });
    const promisedAt = instant(day(due, 2), "12:00", zone);
    await h.advanceTo(promisedAt);
    const promisedDate = day(due, 5);
    const held = await h.apply(loanId, {
      type: "promise_to_pay",
      amount: { amount: "500.00", currency: "USD" },
      promisedDate,
    });
    expect(held.nextAction).toMatchObject({
      step: "hold_review",
      at: instant(day(promisedDate, 1), "08:00", zone),
    });
    await h.advanceTo(instant(day(due, 4), "12:00", zone));
    await h.apply(loanId, { type: "payment", amount: { amount: "100.00", currency: "USD" } });

    await h.advanceTo(instant(day(promisedDate, 1), "07:59", zone));
    expect(sentSince(await h.messages(loanId), promisedAt)).toEqual([]);
    await h.advanceTo(instant(day(promisedDate, 1), "12:00", zone));
    const after = sentSince(await h.messages(loanId), promisedAt);
    expect(after.length).toBeGreaterThan(0);
    expect(
      DateTime.fromISO(after[0]?.sentAt as string)
        .setZone(zone)
        .toISODate(),
    ).toBe(day(promisedDate, 1));
    for (const m of after) expect(m.body).toContain("$1,150.00");
    expect(await h.auditTypes(loanId)).toContain("promise_broken");
  });
});

describe("settlement", () => {
  it("a settlement paid in full by payBy: settled, balance 0, nothing more is sent", async () => {
    const loanId = h.id("settle");
    const due = day(await h.today(), 10);
    await h.subscribe(loanId, { dueDate: due });
    const agreedAt = instant(day(due, 5), "12:00");
    await h.advanceTo(agreedAt);

    const held = await h.apply(loanId, { type: "settlement", amount: CNY("800.00"), payBy: day(due, 8) });
    expect(held).toMatchObject({
      status: "on_hold",
      balance: CNY("1250.00"),
      hold: { reason: "settlement", until: day(due, 8), amount: CNY("800.00"), paidSince: CNY("0.00") },
      nextAction: { step: "hold_review", at: instant(day(due, 9), "08:00") },
    });

    await h.advanceTo(instant(day(due, 7), "12:00"));
    const part = await h.apply(loanId, { type: "payment", amount: CNY("300.00") });
    expect(part).toMatchObject({
      status: "on_hold",
      balance: CNY("950.00"),
      hold: { reason: "settlement", paidSince: CNY("300.00") },
    });
    await h.advanceTo(instant(day(due, 8), "18:00"));
    const settled = await h.apply(loanId, { type: "payment", amount: CNY("500.00") });
    expect(settled).toMatchObject({
      status: "settled",
      stage: "done",
      balance: CNY("0.00"),
      totalPaid: CNY("800.00"),
      hold: null,
      nextAction: null,
    });

    await h.advanceTo(instant(day(due, 40), "12:00"));
    expect(sentSince(await h.messages(loanId), agreedAt)).toEqual([]);
    expect(await h.loan(loanId)).toMatchObject({ status: "settled", balance: CNY("0.00"), nextAction: null });
    const audit = await h.audit(loanId);
    const types = audit.map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(["settlement_agreed", "settlement_completed"]));
    expect(types).not.toContain("settlement_broken");
    expect(audit.find((e) => e.type === "settlement_completed")?.data).toMatchObject({
      agreed: CNY("800.00"),
      paid: CNY("800.00"),
    });

    const more = await h.event(loanId, { type: "payment", amount: CNY("1.00") });
    expect(more.status).toBe(409);
    expect(more.body.error.code).toBe("CASE_STATE_CONFLICT");
  });

  it("a settlement not paid by payBy is broken: collection resumes on the balance the day after, from 08:00 local", async () => {
    const loanId = h.id("settle-broken");
    const due = day(await h.today(), 10);
    await h.subscribe(loanId, { dueDate: due });
    const agreedAt = instant(day(due, 5), "12:00");
    await h.advanceTo(agreedAt);
    const payBy = day(due, 8);
    await h.apply(loanId, { type: "settlement", amount: CNY("800.00"), payBy });
    await h.advanceTo(instant(day(due, 7), "12:00"));
    await h.apply(loanId, { type: "payment", amount: CNY("300.00") });

    await h.advanceTo(instant(day(payBy, 1), "07:59"));
    expect(sentSince(await h.messages(loanId), agreedAt)).toEqual([]);
    expect((await h.loan(loanId)).status).toBe("on_hold");

    await h.advanceTo(instant(day(payBy, 1), "12:00"));
    expect(await h.loan(loanId)).toMatchObject({ status: "active", hold: null, balance: CNY("950.00") });
    const broken = (await h.audit(loanId)).find((e) => e.type === "settlement_broken");
    expect(broken?.data).toMatchObject({ until: payBy, amount: CNY("800.00"), paidSince: CNY("300.00") });
    const after = sentSince(await h.messages(loanId), agreedAt);
    expect(after.length).toBeGreaterThan(0);
    expect(localDateOf(after[0]?.sentAt as string)).toBe(day(payBy, 1));
    expect(ms(after[0]?.sentAt as string)).toBeGreaterThanOrEqual(ms(instant(day(payBy, 1), "08:00")));
    for (const m of after) expect(m.body).toContain("¥950.00");
  });
});

describe("grace_extension", () => {
  it("moves the due date; the next planned step is relative to the new date", async () => {
    const loanId = h.id("grace");
    const due = day(await h.today(), 10);
    await h.subscribe(loanId, { dueDate: due });
    const extendedAt = instant(day(due, -2), "12:00");
    await h.advanceTo(extendedAt);

    const notLater = await h.event(loanId, { type: "grace_extension", newDueDate: due });
    expect(notLater.status).toBe(422);
    expect(notLater.body.error.code).toBe("DUE_DATE_NOT_LATER");

    const newDue = day(due, 14);
    const extended = await h.apply(loanId, { type: "grace_extension", newDueDate: newDue });
    expect(extended).toMatchObject({
      status: "active",
      stage: "pre_due",
      dueDate: newDue,
      daysPastDue: 0,
      nextAction: { step: "pre_due_7", at: instant(day(newDue, -7), "10:00"), channels: ["email"] },
    });

    // The old D-1, D0 and D+1 pass without a message; the new D-7 … D0 come on time.
    await h.advanceTo(instant(newDue, "12:00"));
    const after = sentSince(await h.messages(loanId), extendedAt);
    expect(stepsOf(after)).toEqual([
      "pre_due_7:email",
      "pre_due_3:sms",
      "pre_due_1:sms",
      "pre_due_1:email",
      "due_day:sms",
    ]);
    expect(after.map((m) => m.sentAt).map(ms)).toEqual(
      [-7, -3, -1, -1, 0].map((offset) => ms(instant(day(newDue, offset), "10:00"))),
    );
    const grace = (await h.audit(loanId)).find((e) => e.type === "grace_extension");
    expect(grace?.data).toMatchObject({ from: due, to: newDue });
    expect(await h.loan(loanId)).toMatchObject({
      dueDate: newDue,
      nextAction: { step: "soft_1", at: instant(day(newDue, 1), "10:00") },
    });
  });
});

describe("installment_plan", () => {
  it("must total the balance; reminders precede each installment; paying one moves the due date to the next", async () => {
    const loanId = h.id("plan");
    const due = day(await h.today(), 10);
    await h.subscribe(loanId, { dueDate: due });
    const plannedAt = instant(day(due, 2), "12:00");
    await h.advanceTo(plannedAt);
    const first = day(due, 12);
    const second = day(first, 30);

    const short = await h.event(loanId, {
      type: "installment_plan",
      installments: [
        { dueDate: first, amount: CNY("600.00") },
        { dueDate: second, amount: CNY("600.00") },
      ],
    });
    expect(short.status).toBe(422);
    expect(short.body.error.code).toBe("INSTALLMENTS_DO_NOT_MATCH_BALANCE");

    const plan = await h.apply(loanId, {
      type: "installment_plan",
      installments: [
        { dueDate: first, amount: CNY("600.00") },
        { dueDate: second, amount: CNY("650.00") },
      ],
    });
    expect(plan).toMatchObject({
      status: "active",
      stage: "pre_due",
      dueDate: first,
      daysPastDue: 0,
      balance: CNY("1250.00"),
      installments: [
        { dueDate: first, amount: CNY("600.00"), paid: CNY("0.00") },
        { dueDate: second, amount: CNY("650.00"), paid: CNY("0.00") },
      ],
      nextAction: { step: "pre_due_7", at: instant(day(first, -7), "10:00") },
    });

    const paidAt = instant(first, "12:00");
    await h.advanceTo(paidAt);
    const beforeFirst = sentSince(await h.messages(loanId), plannedAt);
    expect(stepsOf(beforeFirst)).toEqual([
      "pre_due_7:email",
      "pre_due_3:sms",
      "pre_due_1:sms",
      "pre_due_1:email",
      "due_day:sms",
    ]);
    expect(beforeFirst.map((m) => ms(m.sentAt))).toEqual(
      [-7, -3, -1, -1, 0].map((offset) => ms(instant(day(first, offset), "10:00"))),
    );

    const paid = await h.apply(loanId, { type: "payment", amount: CNY("600.00") });
    expect(paid).toMatchObject({
      status: "active",
      stage: "pre_due",
      dueDate: second,
      balance: CNY("650.00"),
      installments: [
        { dueDate: first, paid: CNY("600.00") },
        { dueDate: second, paid: CNY("0.00") },
      ],
      nextAction: { step: "pre_due_7", at: instant(day(second, -7), "10:00") },
    });

    await h.advanceTo(instant(second, "12:00"));
    const beforeSecond = sentSince(await h.messages(loanId), paidAt);
    expect(stepsOf(beforeSecond)).toEqual([
      "pre_due_7:email",
      "pre_due_3:sms",
      "pre_due_1:sms",
      "pre_due_1:email",
      "due_day:sms",
    ]);
    expect(beforeSecond.map((m) => ms(m.sentAt))).toEqual(
      [-7, -3, -1, -1, 0].map((offset) => ms(instant(day(second, offset), "10:00"))),
    );
    for (const m of beforeSecond) expect(m.body).toContain("¥650.00");
    expect(await h.auditTypes(loanId)).toEqual(
      expect.arrayContaining(["installment_plan", "payment_received"]),
    );
  });

  // DEFECT (reported, code unchanged): the reminders before the first installment say the whole balance is
  // due on the installment's date — "您的借款¥1,250.00将于<installment 1 date>到期" — while only ¥600.00 is.
  // The message renders the case balance; with a plan it should be the open installment's remaining amount.
  // Sequence: subscribe 1250.00 due D; clock → D+2 12:00; installment_plan [D+12: 600.00, D+42: 650.00];
  // clock → D+12 12:00; outbox pre_due_7 … due_day bodies contain "¥1,250.00", none "¥600.00".
  it("a reminder before an installment states that installment's amount, not the whole balance", async () => {
    const loanId = h.id("plan-amount");
    const due = day(await h.today(), 10);
    await h.subscribe(loanId, { dueDate: due });
    const plannedAt = instant(day(due, 2), "12:00");
    await h.advanceTo(plannedAt);
    const first = day(due, 12);
    await h.apply(loanId, {
      type: "installment_plan",
      installments: [
        { dueDate: first, amount: CNY("600.00") },
        { dueDate: day(first, 30), amount: CNY("650.00") },
      ],
    });
    await h.advanceTo(instant(first, "12:00"));
    const reminders = sentSince(await h.messages(loanId), plannedAt);
    expect(reminders).toHaveLength(5);
    for (const m of reminders) expect(m.body).toContain("¥600.00");
  });
});

describe("payment_reversed", () => {
  it("re-opens a paid case and collection continues", async () => {
    const loanId = h.id("reversed");
    const due = day(await h.today(), 10);
    await h.subscribe(loanId, { dueDate: due });
    await h.advanceTo(instant(day(due, 2), "12:00"));
    expect(await h.apply(loanId, { type: "payment", amount: CNY("1250.00") })).toMatchObject({
      status: "paid",
      nextAction: null,
    });

    const reversedAt = instant(day(due, 4), "21:30");
    await h.advanceTo(reversedAt);
    const tooMuch = await h.event(loanId, { type: "payment_reversed", amount: CNY("1250.01") });
    expect(tooMuch.status).toBe(422);
    expect(tooMuch.body.error.code).toBe("REVERSAL_EXCEEDS_PAYMENTS");

    const reopened = await h.apply(loanId, { type: "payment_reversed", amount: CNY("1250.00") });
    expect(reopened).toMatchObject({
      status: "active",
      stage: "soft_collection",
      balance: CNY("1250.00"),
      totalPaid: CNY("0.00"),
    });
    expect(reopened.nextAction).not.toBeNull();

    await h.advanceTo(instant(day(due, 8), "12:00"));
    const after = sentSince(await h.messages(loanId), reversedAt);
    // Re-opened at 21:30 local: the step that fell due while paid (soft_3) waits for 08:00, then soft_7.
    expect(stepsOf(after)).toEqual(["soft_3:sms", "soft_7:sms", "soft_7:email"]);
    expect(ms(after[0]?.sentAt as string)).toBe(ms(instant(day(due, 5), "08:00")));
    for (const m of after) expect(m.body).toContain("¥1,250.00");
    const reversal = (await h.audit(loanId)).find((e) => e.type === "payment_reversed");
    expect(reversal?.data).toMatchObject({
      amount: CNY("1250.00"),
      balance: CNY("1250.00"),
      status: "active",
    });
    expect(await h.loan(loanId)).toMatchObject({ status: "active", balance: CNY("1250.00") });
  });
});

describe("contact window", () => {
  it("every message sent in this file went out between 08:00 and 21:00 borrower local time", async () => {
    const all = await h.allMessages();
    expect(all.length).toBeGreaterThan(0);
  });
});
