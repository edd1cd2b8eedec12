import { describe, expect, it } from "vitest";
import type { AuditEntry } from "../../functions/domain/audit-chain.ts";
import { announceEntries } from "../../functions/domain/webhooks/lender-events.ts";
import { NOTHING_ANNOUNCED } from "../../functions/domain/webhooks/types.ts";
import { CNY, day, instant, useEventStack } from "./events-harness.ts";

/**
 * The lender-event fold over trails the real workflow writes (the embedded stack, a frozen virtual clock): the
 * paths the fuzz test cannot reach without time passing — hand-off, broken agreements, reversals. After every
 * change the trail's events must end at the status the API shows (and the stage, where the trail can show it),
 * be numbered 1..n, fold the same in two parts, and carry nothing of the borrower's contact data.
 */
const h = useEventStack("lender-events");
const BORROWER = ["Li Wei", "li.wei@example.com", "+8613800138000", "13800138000"];

async function expectFoldAgrees(loanId: string, withStage = true) {
  const [loan, entries] = await Promise.all([h.loan(loanId), h.audit(loanId)]);
  const scope = { tenantId: "demo", loanId };
  const whole = announceEntries(scope, NOTHING_ANNOUNCED, entries as AuditEntry[]);
  expect(whole.state.status, `${loanId} after ${entries.at(-1)?.type}`).toBe(loan.status);
  if (withStage) expect(whole.state.stage, `${loanId} after ${entries.at(-1)?.type}`).toBe(loan.stage);
  expect(whole.events.map((e) => e.sequence)).toEqual(whole.events.map((_, i) => i + 1));
  const half = Math.floor(entries.length / 2);
  const first = announceEntries(scope, NOTHING_ANNOUNCED, entries.slice(0, half) as AuditEntry[]);
  const second = announceEntries(scope, first.state, entries.slice(half) as AuditEntry[]);
  expect([...first.events, ...second.events]).toEqual(whole.events);
  const json = JSON.stringify(whole.events);
  for (const value of BORROWER) expect(json).not.toContain(value);
  return whole.events;
}

/** Subscribes a loan due ten days after the clock's date; answers the due date. */
async function subscribed(prefix: string): Promise<{ loanId: string; due: string }> {
  const loanId = h.id(prefix);
  const due = day(await h.today(), 10);
  await h.subscribe(loanId, { dueDate: due });
  await expectFoldAgrees(loanId);
  return { loanId, due };
}

async function payInFull(loanId: string) {
  const { balance } = await h.loan(loanId);
  await h.apply(loanId, { type: "payment", amount: balance });
}

describe("folding real trails into lender events", () => {
  it("follows a loan left alone into legal, paid there, and re-opened by a reversal", async () => {
    const { loanId, due } = await subscribed("alone");
    await h.advanceTo(instant(day(due, -5), "12:00"));
    await expectFoldAgrees(loanId);
    await h.advanceTo(instant(day(due, 2), "12:00"));
    await expectFoldAgrees(loanId);
    await h.advanceTo(instant(day(due, 31), "12:00"));
    const events = await expectFoldAgrees(loanId);
    expect(events.map((e) => e.type)).toEqual(
      expect.arrayContaining(["message.sent", "loan.handed_off", "loan.stage_changed"]),
    );
    await payInFull(loanId);
    await expectFoldAgrees(loanId);
    await h.apply(loanId, { type: "payment_reversed", amount: CNY("100.00") });
    await expectFoldAgrees(loanId);
  });

  it("follows a promise made and broken", async () => {
    const { loanId, due } = await subscribed("broken");
    await h.advanceTo(instant(day(due, 2), "12:00"));
    await h.apply(loanId, { type: "promise_to_pay", amount: CNY("500.00"), promisedDate: day(due, 5) });
    await expectFoldAgrees(loanId);
    await h.advanceTo(instant(day(due, 7), "12:00"));
    const events = await expectFoldAgrees(loanId);
    expect(events.map((e) => e.type)).toContain("promise.broken");
  });

  it("keeps a case whose contact ended on the legal route, paid or re-opened", async () => {
    const { loanId, due } = await subscribed("ended");
    await h.advanceTo(instant(day(due, 2), "12:00"));
    await h.apply(loanId, { type: "settlement", amount: CNY("600.00"), payBy: day(due, 6) });
    await expectFoldAgrees(loanId);
    await h.apply(loanId, { type: "cease_contact" });
    await expectFoldAgrees(loanId);
    await payInFull(loanId);
    await expectFoldAgrees(loanId);
    await h.apply(loanId, { type: "payment_reversed", amount: CNY("100.00") });
    await expectFoldAgrees(loanId);
  });

  it("follows a settlement completed and voided by a reversal", async () => {
    const { loanId, due } = await subscribed("settled");
    await h.advanceTo(instant(day(due, 2), "12:00"));
    await h.apply(loanId, { type: "settlement", amount: CNY("600.00"), payBy: day(due, 6) });
    await h.apply(loanId, { type: "payment", amount: CNY("600.00") });
    await expectFoldAgrees(loanId);
    await h.apply(loanId, { type: "payment_reversed", amount: CNY("600.00") });
    await expectFoldAgrees(loanId);
  });

  it("follows more time, a restructuring, a dispute and a withdrawal", async () => {
    const { loanId, due } = await subscribed("restructured");
    await h.advanceTo(instant(day(due, 2), "12:00"));
    await h.apply(loanId, { type: "grace_extension", newDueDate: day(due, 20) });
    await expectFoldAgrees(loanId);
    const { balance } = await h.loan(loanId);
    await h.apply(loanId, {
      type: "installment_plan",
      installments: [{ dueDate: day(due, 25), amount: balance }],
    });
    await expectFoldAgrees(loanId);
    await h.apply(loanId, { type: "dispute_opened" });
    await expectFoldAgrees(loanId);
    await h.apply(loanId, { type: "dispute_resolved" });
    await expectFoldAgrees(loanId);
    await h.apply(loanId, { type: "withdrawn" });
    await expectFoldAgrees(loanId);
  });
});
