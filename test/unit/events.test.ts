import { Decimal } from "decimal.js";
import fc from "fast-check";
import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import { balanceOf, type Charges, NO_CHARGES } from "../../functions/domain/charges.ts";
import { BusinessRuleError, CaseStateConflictError, DomainError } from "../../functions/domain/errors.ts";
import { ALLOWED, applyEvent, type LoanEvent, type LoanEventType } from "../../functions/domain/events.ts";
import {
  type CaseStatus,
  chargedTo,
  type EventOutcome,
  type Hold,
  holdReviewAt,
  type LoanCase,
  planFor,
} from "../../functions/domain/loan-case.ts";
import { isZero, money, toDecimal } from "../../functions/domain/money.ts";
import { type Channel, DEFAULT_POLICY, findStep, type PolicyStep } from "../../functions/domain/policy.ts";
import { reachableChannels } from "../../functions/domain/step-lifecycle.ts";
import { ACTOR, borrower, newCase } from "./fixtures.ts";

/** 2026-01-06 11:00 in Shanghai: nine days before the fixtures' due date (2026-01-15). */
const NOW = new Date("2026-01-06T03:00:00Z");
/** 2026-01-25 12:00 in Shanghai: ten days past due. */
const D10 = new Date("2026-01-25T04:00:00Z");

/** A lender's lawful charges: 50.00 late fee from D+1, 0.05 % a day, fees + interest at most 25 % of principal. */
const POLICY_CHARGES: Charges = {
  lateFee: "50.00",
  lateFeeAfterDays: 1,
  dailyPenaltyRate: "0.0005",
  capPercentOfPrincipal: "25",
};

const cny = (amount: string) => money(amount, "CNY");

function run(
  loanCase: LoanCase,
  event: LoanEvent,
  now: Date = NOW,
  charges: Charges = NO_CHARGES,
): EventOutcome {
  const result = applyEvent(loanCase, event, ACTOR, now, charges);
  if ("duplicate" in result) throw new Error("unexpected duplicate");
  return result;
}

function domainError(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error("expected a DomainError");
}

function step(id: string): PolicyStep {
  const found = findStep(DEFAULT_POLICY, id);
  if (!found) throw new Error(`no step ${id}`);
  return found;
}

const PROMISE_HOLD: Hold = {
  reason: "promise",
  until: "2026-01-20",
  amount: cny("300.00"),
  paidSince: cny("0.00"),
  since: "2026-01-05T12:00:00Z",
};
const DISPUTE_HOLD: Hold = { reason: "dispute", since: "2026-01-05T12:00:00Z" };

const promise = (amount: string, promisedDate = "2026-01-20"): LoanEvent => ({
  type: "promise_to_pay",
  amount: cny(amount),
  promisedDate,
});
const payment = (amount: string): LoanEvent => ({ type: "payment", amount: cny(amount) });
const reversal = (amount: string): LoanEvent => ({ type: "payment_reversed", amount: cny(amount) });

describe("payment", () => {
  it("a partial payment keeps the case active with the exact balance, workflow none", () => {
    const loanCase = newCase();
    const { next, events, workflow } = run(loanCase, payment("333.33"));
    expect(next).toMatchObject({
      status: "active",
      balance: cny("666.67"),
      principal: cny("666.67"),
      totalPaid: cny("333.33"),
      generation: loanCase.generation,
      lastEventAt: "2026-01-06T03:00:00Z",
    });
    expect(workflow).toBe("none");
    expect(events.map((e) => e.type)).toEqual(["payment_received"]);
  });

  it("a payment of the whole balance marks the case paid and stops the workflow", () => {
    const { next, events, workflow } = run(newCase(), payment("1000.00"));
    expect(next).toMatchObject({ status: "paid", balance: cny("0.00"), hold: null });
    expect(workflow).toBe("stop");
    expect(events[0]?.data).toMatchObject({ paidInFull: true, status: "paid" });
  });

  it("with charges: the balance includes the accrued fee and interest, and the payment pays fees first", () => {
    // D+10: fee 50.00 + interest 10 × 0.50 = 5.00.
    const { next, events } = run(newCase(), payment("60.00"), D10, POLICY_CHARGES);
    expect(events[0]?.data).toMatchObject({
      allocation: { fees: cny("50.00"), interest: cny("5.00"), principal: cny("5.00") },
      balance: cny("995.00"),
      breakdown: { principal: cny("995.00"), fees: cny("0.00"), interest: cny("0.00") },
    });
    expect(next).toMatchObject({
      principal: cny("995.00"),
      fees: cny("0.00"),
      interest: cny("0.00"),
      balance: cny("995.00"),
      totalPaid: cny("60.00"),
      accruedThrough: "2026-01-25",
      lateFeeCharged: true,
    });
  });

  it("with charges: the whole charged balance (1055.00) pays the case, one cent more is refused", () => {
    expect(run(newCase(), payment("1055.00"), D10, POLICY_CHARGES).next.status).toBe("paid");
    const error = domainError(() => run(newCase(), payment("1055.01"), D10, POLICY_CHARGES));
    expect(error.code).toBe("PAYMENT_EXCEEDS_BALANCE");
  });

  it("a payment reaching the promised amount lifts the hold: active, promise_kept, replan, generation + 1", () => {
    const held = run(newCase(), promise("300.00")).next;
    const partial = run(held, payment("100.00"), new Date("2026-01-07T03:00:00Z"));
    expect(partial.next).toMatchObject({
      status: "on_hold",
      hold: { reason: "promise", amount: cny("300.00"), paidSince: cny("100.00") },
    });
    expect(partial.workflow).toBe("none");
    expect(partial.next.generation).toBe(held.generation);

    const kept = run(partial.next, payment("200.00"), new Date("2026-01-08T03:00:00Z"));
    expect(kept.next).toMatchObject({ status: "active", hold: null, balance: cny("700.00") });
    expect(kept.workflow).toBe("replan");
    expect(kept.next.generation).toBe(held.generation + 1);
    expect(kept.events.map((e) => e.type)).toEqual(["payment_received", "promise_kept"]);
    expect(kept.events[1]?.data).toEqual({
      promised: cny("300.00"),
      paid: cny("300.00"),
      until: "2026-01-20",
    });
    expect(kept.events[0]?.data.status).toBe("active");
  });

  it("a payment reaching a settlement settles the case: zero balance, settlement_completed with the waived part", () => {
    const agreed = run(newCase(), { type: "settlement", amount: cny("600.00"), payBy: "2026-01-20" }).next;
    const partial = run(agreed, payment("250.00"));
    expect(partial.next).toMatchObject({
      status: "on_hold",
      hold: { reason: "settlement", paidSince: cny("250.00") },
    });
    expect(partial.workflow).toBe("none");

    const { next, events, workflow } = run(partial.next, payment("350.00"));
    expect(next).toMatchObject({
      status: "settled",
      hold: null,
      balance: cny("0.00"),
      principal: cny("0.00"),
      fees: cny("0.00"),
      interest: cny("0.00"),
      totalPaid: cny("600.00"),
    });
    expect(workflow).toBe("stop");
    expect(next.generation).toBe(agreed.generation);
    expect(events.map((e) => e.type)).toEqual(["payment_received", "settlement_completed"]);
    expect(events[1]?.data).toEqual({
      agreed: cny("600.00"),
      paid: cny("600.00"),
      waived: { principal: cny("400.00"), fees: cny("0.00"), interest: cny("0.00") },
    });
    expect(events[0]?.data.status).toBe("settled");
  });

  it("with charges, a settlement payment pays fees and interest first and waives the principal left", () => {
    const agreed = run(
      newCase(),
      { type: "settlement", amount: cny("600.00"), payBy: "2026-01-30" },
      D10,
      POLICY_CHARGES,
    );
    expect(agreed.events[0]?.data.balance).toEqual(cny("1055.00"));
    const { next, events } = run(agreed.next, payment("600.00"), D10, POLICY_CHARGES);
    expect(next.status).toBe("settled");
    expect(events[0]?.data.allocation).toEqual({
      fees: cny("50.00"),
      interest: cny("5.00"),
      principal: cny("545.00"),
    });
    expect(events[1]?.data.waived).toEqual({
      principal: cny("455.00"),
      fees: cny("0.00"),
      interest: cny("0.00"),
    });
  });
});

describe("payment_reversed", () => {
  it("re-opens a paid case: active, the amount owed again, replan, generation + 1", () => {
    const paid = run(newCase(), payment("1000.00")).next;
    const { next, events, workflow } = run(paid, reversal("400.00"));
    expect(next).toMatchObject({
      status: "active",
      balance: cny("400.00"),
      principal: cny("400.00"),
      totalPaid: cny("600.00"),
    });
    expect(workflow).toBe("replan");
    expect(next.generation).toBe(paid.generation + 1);
    expect(events).toEqual([
      {
        type: "payment_reversed",
        actor: ACTOR,
        data: {
          amount: cny("400.00"),
          occurredAt: "2026-01-06T03:00:00Z",
          balance: cny("400.00"),
          status: "active",
        },
      },
    ]);
  });

  it("on an active case adds the amount back to the balance, workflow none", () => {
    const partial = run(newCase(), payment("300.00")).next;
    const { next, workflow } = run(partial, reversal("300.00"));
    expect(next).toMatchObject({ status: "active", balance: cny("1000.00"), totalPaid: cny("0.00") });
    expect(workflow).toBe("none");
    expect(next.generation).toBe(partial.generation);
  });

  it("refuses more than the total paid with REVERSAL_EXCEEDS_PAYMENTS", () => {
    const partial = run(newCase(), payment("300.00")).next;
    const error = domainError(() => run(partial, reversal("300.01")));
    expect(error).toBeInstanceOf(BusinessRuleError);
    expect(error.code).toBe("REVERSAL_EXCEEDS_PAYMENTS");
    expect(error.details).toEqual([{ path: "amount.amount", message: "must be at most 300.00" }]);
    expect(domainError(() => run(newCase(), reversal("0.01"))).code).toBe("REVERSAL_EXCEEDS_PAYMENTS");
  });

  it("refuses a zero amount and another currency", () => {
    const partial = run(newCase(), payment("300.00")).next;
    expect(domainError(() => run(partial, reversal("0"))).code).toBe("INVALID_AMOUNT");
    expect(
      domainError(() => run(partial, { type: "payment_reversed", amount: money("1.00", "USD") })).code,
    ).toBe("CURRENCY_MISMATCH");
  });

  // BUG: a reversal does not take the reversed money off the hold's paidSince, so a bounced payment still
  // counts towards the promise. Inputs: promise 300.00 → pay 200.00 → reverse 200.00 → pay 100.00: the
  // promise is "kept" (active, promise_kept, hold lifted) with a net 100.00 paid.
  it("a reversed payment no longer counts towards a promise", () => {
    let loanCase = run(newCase(), promise("300.00")).next;
    loanCase = run(loanCase, payment("200.00")).next;
    loanCase = run(loanCase, reversal("200.00")).next;
    expect(loanCase.hold?.paidSince).toEqual(cny("0.00"));
    const { next, events } = run(loanCase, payment("100.00"));
    expect(next.status).toBe("on_hold");
    expect(events.map((e) => e.type)).toEqual(["payment_received"]);
  });

  // BUG: reversing the payment that completed a settlement re-opens the case with only the reversed amount
  // owed; the part the settlement waived is lost although the settlement was never paid. Inputs: CNY 1000.00,
  // settlement 600.00, pay 600.00 (settled, 400.00 waived), reverse 600.00 → active, balance 600.00.
  it("reversing a settlement payment restores what the settlement waived", () => {
    let loanCase = run(newCase(), { type: "settlement", amount: cny("600.00"), payBy: "2026-01-20" }).next;
    loanCase = run(loanCase, payment("600.00")).next;
    expect(loanCase.status).toBe("settled");
    const { next } = run(loanCase, reversal("600.00"));
    expect(next.balance).toEqual(cny("1000.00"));
  });

  // BUG (compliance): a case that went the legal route after a cease-contact request (or bankruptcy) and was
  // then paid is re-opened as *active* by a reversal, with workflow "replan": collection contact resumes
  // with a borrower who asked for no more contact. Inputs: cease_contact → payment 1000.00 (paid) →
  // payment_reversed 1000.00 → status active, planFor returns the next dunning step.
  it("a reversal never returns a cease-contact case to collection", () => {
    let loanCase = run(newCase(), { type: "cease_contact" }).next;
    loanCase = run(loanCase, payment("1000.00")).next;
    expect(loanCase.status).toBe("paid");
    const { next } = run(loanCase, reversal("1000.00"));
    expect(next.status).toBe("legal");
    expect(planFor(next, DEFAULT_POLICY, NOW)).toBeNull();
  });

  // BUG: a reversal does not un-pay installments, so the due date stays on a later installment while an
  // earlier one is unpaid again. Inputs: plan 400.00 on 01-20 + 600.00 on 02-20; pay 400.00 (due date moves
  // to 02-20); reverse 400.00 → due date still 2026-02-20, installment 1 still marked paid.
  it("a reversal re-opens the installment it had paid and moves the due date back", () => {
    const plan: LoanEvent = {
      type: "installment_plan",
      installments: [
        { dueDate: "2026-01-20", amount: cny("400.00") },
        { dueDate: "2026-02-20", amount: cny("600.00") },
      ],
    };
    let loanCase = run(newCase(), plan).next;
    loanCase = run(loanCase, payment("400.00")).next;
    expect(loanCase.dueDate).toBe("2026-02-20");
    const { next } = run(loanCase, reversal("400.00"));
    expect(next.installments?.[0]?.paid).toEqual(cny("0.00"));
    expect(next.dueDate).toBe("2026-01-20");
  });
});

describe("promise_to_pay", () => {
  it("puts the case on hold until the promised date, for the promised amount; replan, generation + 1", () => {
    const loanCase = newCase();
    const { next, events, workflow } = run(loanCase, promise("300.00"));
    expect(next).toMatchObject({
      status: "on_hold",
      hold: {
        reason: "promise",
        until: "2026-01-20",
        amount: cny("300.00"),
        paidSince: cny("0.00"),
        since: "2026-01-06T03:00:00Z",
      },
      balance: cny("1000.00"),
    });
    expect(workflow).toBe("replan");
    expect(next.generation).toBe(loanCase.generation + 1);
    expect(events[0]).toEqual({
      type: "promise_to_pay",
      actor: ACTOR,
      data: { amount: cny("300.00"), promisedDate: "2026-01-20", occurredAt: "2026-01-06T03:00:00Z" },
    });
  });

  it("refuses a date before today in the borrower's zone with DATE_IN_THE_PAST (UTC is still a day behind)", () => {
    // 2026-01-06T17:00Z is 2026-01-07 01:00 in Shanghai.
    const now = new Date("2026-01-06T17:00:00Z");
    const error = domainError(() => run(newCase(), promise("100.00", "2026-01-06"), now));
    expect(error).toBeInstanceOf(BusinessRuleError);
    expect(error.code).toBe("DATE_IN_THE_PAST");
    expect(error.details).toEqual([{ path: "promisedDate", message: "must be on or after 2026-01-07" }]);
    expect(run(newCase(), promise("100.00", "2026-01-07"), now).next.hold?.until).toBe("2026-01-07");
  });

  it("refuses more than the balance, fees and interest included, with AMOUNT_EXCEEDS_BALANCE", () => {
    expect(domainError(() => run(newCase(), promise("1000.01"))).code).toBe("AMOUNT_EXCEEDS_BALANCE");
    expect(run(newCase(), promise("1055.00", "2026-01-30"), D10, POLICY_CHARGES).next.status).toBe("on_hold");
    const error = domainError(() => run(newCase(), promise("1055.01", "2026-01-30"), D10, POLICY_CHARGES));
    expect(error.code).toBe("AMOUNT_EXCEEDS_BALANCE");
    expect(error.details).toEqual([{ path: "amount.amount", message: "must be at most 1055.00" }]);
  });

  it("cannot replace a dispute or a settlement hold", () => {
    for (const hold of [DISPUTE_HOLD, { ...PROMISE_HOLD, reason: "settlement" as const }]) {
      const error = domainError(() => run({ ...newCase(), status: "on_hold", hold }, promise("100.00")));
      expect(error).toBeInstanceOf(CaseStateConflictError);
      expect(error.code).toBe("CASE_STATE_CONFLICT");
    }
  });

  it("replaces an earlier promise, counting payments afresh", () => {
    const held = {
      ...newCase(),
      status: "on_hold" as const,
      hold: { ...PROMISE_HOLD, paidSince: cny("50.00") },
    };
    expect(run(held, promise("200.00", "2026-01-25")).next.hold).toMatchObject({
      until: "2026-01-25",
      amount: cny("200.00"),
      paidSince: cny("0.00"),
    });
  });

  it("is reviewed the day after the promised date at the window opening (08:00 local); planFor says hold_review", () => {
    const { next } = run(newCase(), promise("300.00"));
    expect(holdReviewAt(next, DEFAULT_POLICY)).toBe("2026-01-21T00:00:00Z");
    expect(planFor(next, DEFAULT_POLICY, NOW)).toEqual({
      kind: "hold_review",
      plannedAt: "2026-01-21T00:00:00Z",
    });
    // Another window start moves the review with it.
    const late = { ...DEFAULT_POLICY, contactWindow: { start: "09:30", end: "20:00" } };
    expect(holdReviewAt(next, late)).toBe("2026-01-21T01:30:00Z");
  });

  it("a New York promise due the day before DST starts is reviewed at 08:00 EDT (12:00Z)", () => {
    const loanCase = newCase(
      { borrower: borrower({ locale: "en-US", timeZone: "America/New_York" }), dueDate: "2026-03-01" },
      "2026-02-20T00:00:00Z",
    );
    const { next } = run(loanCase, promise("100.00", "2026-03-07"), new Date("2026-03-02T15:00:00Z"));
    expect(holdReviewAt(next, DEFAULT_POLICY)).toBe("2026-03-08T12:00:00Z");
  });

  it("a dispute hold has no review date and no plan", () => {
    const disputed = run(newCase(), { type: "dispute_opened" }).next;
    expect(holdReviewAt(disputed, DEFAULT_POLICY)).toBeNull();
    expect(planFor(disputed, DEFAULT_POLICY, NOW)).toBeNull();
  });
});

describe("grace_extension", () => {
  it("moves the due date; replan, generation + 1", () => {
    const loanCase = newCase();
    const { next, events, workflow } = run(loanCase, { type: "grace_extension", newDueDate: "2026-01-30" });
    expect(next).toMatchObject({ dueDate: "2026-01-30", status: "active" });
    expect(workflow).toBe("replan");
    expect(next.generation).toBe(loanCase.generation + 1);
    expect(events[0]).toEqual({
      type: "grace_extension",
      actor: ACTOR,
      data: { from: "2026-01-15", to: "2026-01-30", occurredAt: "2026-01-06T03:00:00Z" },
    });
  });

  it("keeps the charges accrued so far and charges nothing more until the new due date", () => {
    const { next } = run(
      newCase(),
      { type: "grace_extension", newDueDate: "2026-02-15" },
      D10,
      POLICY_CHARGES,
    );
    expect(next).toMatchObject({
      fees: cny("50.00"),
      interest: cny("5.00"),
      balance: cny("1055.00"),
      accruedThrough: "2026-01-25",
    });
    expect(chargedTo(next, POLICY_CHARGES, new Date("2026-02-15T04:00:00Z")).balance).toEqual(cny("1055.00"));
    expect(chargedTo(next, POLICY_CHARGES, new Date("2026-02-17T04:00:00Z")).balance).toEqual(cny("1056.00"));
  });

  // BUG: on an installment plan the extension moves only dueDate; the next payment, even a partial one,
  // recomputes dueDate from the installments and silently undoes the grace, with workflow "replan". Inputs:
  // plan 400.00 on 01-20 + 600.00 on 02-20; grace_extension to 2026-01-31; payment 10.00 → dueDate
  // 2026-01-20, workflow replan (dunning for a date the lender extended).
  it("survives a later partial payment on an installment plan", () => {
    const plan: LoanEvent = {
      type: "installment_plan",
      installments: [
        { dueDate: "2026-01-20", amount: cny("400.00") },
        { dueDate: "2026-02-20", amount: cny("600.00") },
      ],
    };
    let loanCase = run(newCase(), plan).next;
    loanCase = run(loanCase, { type: "grace_extension", newDueDate: "2026-01-31" }).next;
    const { next, workflow } = run(loanCase, payment("10.00"));
    expect(next.dueDate).toBe("2026-01-31");
    expect(workflow).toBe("none");
  });

  it.each(["2026-01-15", "2026-01-14"])(
    "refuses %s (not after 2026-01-15) with DUE_DATE_NOT_LATER",
    (newDueDate) => {
      const error = domainError(() => run(newCase(), { type: "grace_extension", newDueDate }));
      expect(error).toBeInstanceOf(BusinessRuleError);
      expect(error.code).toBe("DUE_DATE_NOT_LATER");
      expect(error.details).toEqual([{ path: "newDueDate", message: "must be after 2026-01-15" }]);
    },
  );
});

describe("installment_plan", () => {
  const plan = (...installments: [string, string][]): LoanEvent => ({
    type: "installment_plan",
    installments: installments.map(([dueDate, amount]) => ({ dueDate, amount: cny(amount) })),
  });

  it("must add up to the balance exactly (INSTALLMENTS_DO_NOT_MATCH_BALANCE)", () => {
    for (const second of ["599.99", "600.01"]) {
      const error = domainError(() => run(newCase(), plan(["2026-01-20", "400.00"], ["2026-02-20", second])));
      expect(error).toBeInstanceOf(BusinessRuleError);
      expect(error.code).toBe("INSTALLMENTS_DO_NOT_MATCH_BALANCE");
      expect(error.details).toEqual([{ path: "installments", message: "must add up to 1000.00" }]);
    }
  });

  it("must add up to the balance with fees and interest when the case is late", () => {
    const error = domainError(() =>
      run(newCase(), plan(["2026-01-30", "400.00"], ["2026-02-28", "600.00"]), D10, POLICY_CHARGES),
    );
    expect(error.details).toEqual([{ path: "installments", message: "must add up to 1055.00" }]);
  });

  it.each([
    ["equal", "2026-01-20"],
    ["earlier", "2026-01-19"],
  ])("refuses %s successive due dates with INSTALLMENTS_NOT_IN_ORDER", (_, second) => {
    const error = domainError(() => run(newCase(), plan(["2026-01-20", "400.00"], [second, "600.00"])));
    expect(error.code).toBe("INSTALLMENTS_NOT_IN_ORDER");
    expect(error.details[0]?.path).toBe("installments.1.dueDate");
  });

  it("refuses a first installment before today with DATE_IN_THE_PAST", () => {
    const error = domainError(() => run(newCase(), plan(["2026-01-05", "1000.00"])));
    expect(error.code).toBe("DATE_IN_THE_PAST");
    expect(error.details[0]?.path).toBe("installments.0.dueDate");
  });

  it("sets the due date to the first installment, active without a hold; replan, generation + 1", () => {
    const held = { ...newCase(), status: "on_hold" as const, hold: PROMISE_HOLD };
    const { next, workflow } = run(held, plan(["2026-01-20", "400.00"], ["2026-02-20", "600.00"]));
    expect(next).toMatchObject({
      status: "active",
      hold: null,
      dueDate: "2026-01-20",
      balance: cny("1000.00"),
      cursorAt: "2026-01-06T03:00:00Z",
      installments: [
        { dueDate: "2026-01-20", amount: cny("400.00"), paid: cny("0.00") },
        { dueDate: "2026-02-20", amount: cny("600.00"), paid: cny("0.00") },
      ],
    });
    expect(workflow).toBe("replan");
    expect(next.generation).toBe(held.generation + 1);
  });

  it("restructures fees and interest into installment principal", () => {
    const { next, events } = run(
      newCase(),
      plan(["2026-01-30", "455.00"], ["2026-02-28", "600.00"]),
      D10,
      POLICY_CHARGES,
    );
    expect(next).toMatchObject({
      principal: cny("1055.00"),
      fees: cny("0.00"),
      interest: cny("0.00"),
      balance: cny("1055.00"),
      accruedThrough: null,
      dueDate: "2026-01-30",
    });
    expect(events[0]?.data.restructured).toEqual({
      principal: cny("1000.00"),
      fees: cny("50.00"),
      interest: cny("5.00"),
    });
  });

  it("paying the first installment moves the due date to the second and re-plans; a partial one does not", () => {
    const planned = run(newCase(), plan(["2026-01-20", "400.00"], ["2026-02-20", "600.00"])).next;
    const partial = run(planned, payment("100.00"));
    expect(partial.next.dueDate).toBe("2026-01-20");
    expect(partial.workflow).toBe("none");

    const first = run(partial.next, payment("300.00"));
    expect(first.next.dueDate).toBe("2026-02-20");
    expect(first.next.installments?.map((i) => i.paid)).toEqual([cny("400.00"), cny("0.00")]);
    expect(first.workflow).toBe("replan");
    expect(first.next.generation).toBe(partial.next.generation + 1);

    const last = run(first.next, payment("600.00"));
    expect(last.next.status).toBe("paid");
    expect(last.workflow).toBe("stop");
  });

  // BUG (compliance): installment_plan is allowed on an on_hold case whatever the hold, and lifts it: during
  // a dispute it sets the case active with workflow "replan", so contact resumes before the dispute is
  // resolved (promise_to_pay and settlement refuse a dispute hold). Inputs: dispute_opened → installment_plan
  // [1000.00 on 2026-01-20] → status active, hold null, workflow replan.
  it("is refused while a dispute is open", () => {
    const disputed = run(newCase(), { type: "dispute_opened" }).next;
    const error = domainError(() => run(disputed, plan(["2026-01-20", "1000.00"])));
    expect(error.code).toBe("CASE_STATE_CONFLICT");
  });

  // BUG: the restructuring zeroes fees and interest and resets lateFeeCharged, so the cap (measured against
  // outstanding fees + interest) starts over and the late fee is charged again. Inputs: CNY 1000.00, fee
  // 50.00, 1 %/day, cap 25 %: at D+60 250.00 charged (the cap); plan 625.00 + 625.00 (03-20, 04-20); by
  // 2026-06-16 another 50.00 fee + 200.00 interest → 500.00 charged on a 1000.00 loan.
  it("keeps fees and interest within the cap across a restructuring", () => {
    const steep = { ...POLICY_CHARGES, dailyPenaltyRate: "0.01" };
    const d60 = new Date("2026-03-16T04:00:00Z");
    const planned = run(newCase(), plan(["2026-03-20", "625.00"], ["2026-04-20", "625.00"]), d60, steep).next;
    const later = chargedTo(planned, steep, new Date("2026-06-16T04:00:00Z"));
    const everCharged = toDecimal(later.balance).minus(toDecimal(newCase().amountDue));
    expect(everCharged.lte(250)).toBe(true);
  });
});

describe("settlement", () => {
  const settlement = (amount: string, payBy = "2026-01-20"): LoanEvent => ({
    type: "settlement",
    amount: cny(amount),
    payBy,
  });

  it("puts the case on a settlement hold; replan, generation + 1", () => {
    const loanCase = newCase();
    const { next, events, workflow } = run(loanCase, settlement("600.00"));
    expect(next).toMatchObject({
      status: "on_hold",
      hold: { reason: "settlement", until: "2026-01-20", amount: cny("600.00"), paidSince: cny("0.00") },
    });
    expect(workflow).toBe("replan");
    expect(next.generation).toBe(loanCase.generation + 1);
    expect(events[0]).toEqual({
      type: "settlement_agreed",
      actor: ACTOR,
      data: {
        amount: cny("600.00"),
        payBy: "2026-01-20",
        balance: cny("1000.00"),
        occurredAt: "2026-01-06T03:00:00Z",
      },
    });
    expect(planFor(next, DEFAULT_POLICY, NOW)).toEqual({
      kind: "hold_review",
      plannedAt: "2026-01-21T00:00:00Z",
    });
  });

  it("refuses more than the balance, a past pay-by date, and an open dispute", () => {
    expect(domainError(() => run(newCase(), settlement("1000.01"))).code).toBe("AMOUNT_EXCEEDS_BALANCE");
    expect(domainError(() => run(newCase(), settlement("600.00", "2026-01-05"))).code).toBe(
      "DATE_IN_THE_PAST",
    );
    const disputed = run(newCase(), { type: "dispute_opened" }).next;
    const error = domainError(() => run(disputed, settlement("600.00")));
    expect(error).toBeInstanceOf(CaseStateConflictError);
    expect(error.code).toBe("CASE_STATE_CONFLICT");
  });

  // BUG (compliance): settlement is allowed on a legal case (after cease_contact or bankruptcy) and turns it
  // into on_hold/settlement; when the settlement is not paid, the hold review (workflow-steps.ts) sets the
  // case *active* and collection contact resumes with a borrower who asked for none. Inputs: cease_contact →
  // settlement 600.00 by 2026-01-20 → status on_hold, planFor hold_review at 2026-01-21T00:00Z.
  it("keeps a legal (cease-contact) case on the legal route: no settlement hold that could resume contact", () => {
    const legal = run(newCase(), { type: "cease_contact" }).next;
    expect(() => run(legal, settlement("600.00"))).toThrow(CaseStateConflictError);
  });
});

describe("disputes", () => {
  it("dispute_opened puts the case on a dispute hold and stops the workflow, recording the hold it replaced", () => {
    const held = { ...newCase(), status: "on_hold" as const, hold: PROMISE_HOLD };
    const { next, events, workflow } = run(held, { type: "dispute_opened" });
    expect(next).toMatchObject({
      status: "on_hold",
      hold: { reason: "dispute", since: "2026-01-06T03:00:00Z" },
    });
    expect(workflow).toBe("stop");
    expect(next.generation).toBe(held.generation);
    expect(events[0]).toEqual({
      type: "dispute_opened",
      actor: ACTOR,
      data: { occurredAt: "2026-01-06T03:00:00Z", replacedHold: "promise" },
    });
  });

  it("dispute_resolved re-activates the case; replan, generation + 1", () => {
    const disputed = run(newCase(), { type: "dispute_opened" }).next;
    const { next, events, workflow } = run(
      disputed,
      { type: "dispute_resolved" },
      new Date("2026-01-07T03:00:00Z"),
    );
    expect(next).toMatchObject({ status: "active", hold: null });
    expect(workflow).toBe("replan");
    expect(next.generation).toBe(disputed.generation + 1);
    expect(events[0]?.data).toEqual({ occurredAt: "2026-01-07T03:00:00Z", openedAt: "2026-01-06T03:00:00Z" });
  });

  it("dispute_resolved without an open dispute is a CASE_STATE_CONFLICT", () => {
    const held = { ...newCase(), status: "on_hold" as const, hold: PROMISE_HOLD };
    const error = domainError(() => run(held, { type: "dispute_resolved" }));
    expect(error).toBeInstanceOf(CaseStateConflictError);
    expect(error.code).toBe("CASE_STATE_CONFLICT");
    expect(domainError(() => run(newCase(), { type: "dispute_resolved" })).code).toBe("CASE_STATE_CONFLICT");
  });
});

describe("stops: bankruptcy, cease_contact, deceased, withdrawn", () => {
  it.each([
    ["bankruptcy", "legal", "bankruptcy_notified"],
    ["cease_contact", "legal", "cease_contact_requested"],
    ["deceased", "closed", "deceased_notified"],
    ["withdrawn", "closed", "loan_withdrawn"],
  ] as const)("%s → %s, hold cleared, workflow stop, %s", (type, status, auditType) => {
    const held = { ...newCase(), status: "on_hold" as const, hold: PROMISE_HOLD };
    const { next, events, workflow } = run(held, { type }, D10);
    expect(next).toMatchObject({ status, hold: null });
    expect(workflow).toBe("stop");
    expect(next.generation).toBe(held.generation);
    expect(events[0]?.type).toBe(auditType);
    expect(events[0]?.data).toEqual(
      status === "legal"
        ? { occurredAt: "2026-01-25T04:00:00Z", daysPastDue: 10 }
        : { occurredAt: "2026-01-25T04:00:00Z", balance: cny("1000.00") },
    );
    expect(planFor(next, DEFAULT_POLICY, D10)).toBeNull();
  });
});

describe("opt_out / opt_in", () => {
  const both = step("pre_due_1");

  it("opt_out removes the channel from reachableChannels at once; workflow none", () => {
    const loanCase = newCase();
    expect(reachableChannels(loanCase, both)).toEqual(["sms", "email"]);
    const { next, events, workflow } = run(loanCase, { type: "opt_out", channel: "sms" });
    expect(next.optedOut).toEqual(["sms"]);
    expect(reachableChannels(next, both)).toEqual(["email"]);
    expect(workflow).toBe("none");
    expect(next.generation).toBe(loanCase.generation);
    expect(events[0]).toEqual({
      type: "opted_out",
      actor: ACTOR,
      data: { channel: "sms", occurredAt: "2026-01-06T03:00:00Z" },
    });
  });

  it("opting out twice records the channel once", () => {
    const once = run(newCase(), { type: "opt_out", channel: "email" }).next;
    expect(run(once, { type: "opt_out", channel: "email" }).next.optedOut).toEqual(["email"]);
  });

  it("opt_in restores the channel; workflow none", () => {
    const out = run(newCase(), { type: "opt_out", channel: "sms" }).next;
    const { next, events, workflow } = run(out, { type: "opt_in", channel: "sms" });
    expect(next.optedOut).toEqual([]);
    expect(reachableChannels(next, both)).toEqual(["sms", "email"]);
    expect(workflow).toBe("none");
    expect(events[0]?.type).toBe("opted_in");
  });

  it("works on a paid case too (the borrower may still opt out)", () => {
    const paid = run(newCase(), payment("1000.00")).next;
    expect(run(paid, { type: "opt_out", channel: "sms" }).next).toMatchObject({
      status: "paid",
      optedOut: ["sms"],
    });
  });
});

/** Every case status; a Record so a new status fails to compile here. */
const STATUS_KEYS: Record<CaseStatus, null> = {
  active: null,
  on_hold: null,
  paid: null,
  settled: null,
  legal: null,
  closed: null,
};
const STATUSES = Object.keys(STATUS_KEYS) as CaseStatus[];

/** One valid event of each type; a Record so a new event type fails to compile here. */
const SAMPLES: Record<LoanEventType, LoanEvent> = {
  customer_type_assessed: { type: "customer_type_assessed", customerType: "malicious" },
  consent_recorded: { type: "consent_recorded", scope: "third_party_sharing" },
  payment: payment("10.00"),
  payment_reversed: reversal("10.00"),
  promise_to_pay: promise("100.00"),
  grace_extension: { type: "grace_extension", newDueDate: "2026-01-30" },
  installment_plan: {
    type: "installment_plan",
    installments: [
      { dueDate: "2026-01-20", amount: cny("450.00") },
      { dueDate: "2026-02-20", amount: cny("450.00") },
    ],
  },
  settlement: { type: "settlement", amount: cny("500.00"), payBy: "2026-01-20" },
  dispute_opened: { type: "dispute_opened" },
  dispute_resolved: { type: "dispute_resolved" },
  bankruptcy: { type: "bankruptcy" },
  deceased: { type: "deceased" },
  cease_contact: { type: "cease_contact" },
  opt_out: { type: "opt_out", channel: "sms" },
  opt_in: { type: "opt_in", channel: "sms" },
  contact_time_preferred: { type: "contact_time_preferred", time: "18:00" },
  withdrawn: { type: "withdrawn" },
};
const EVENT_TYPES = Object.keys(SAMPLES) as LoanEventType[];

/** A case in `status` with 100.00 paid of 1000.00, sms opted out, on a hold that suits `type`. */
function caseIn(status: CaseStatus, type: LoanEventType): LoanCase {
  return {
    ...newCase(),
    status,
    principal: cny("900.00"),
    balance: cny("900.00"),
    totalPaid: cny("100.00"),
    optedOut: ["sms"],
    hold: status === "on_hold" ? (type === "dispute_resolved" ? DISPUTE_HOLD : PROMISE_HOLD) : null,
    lastEventAt: "2026-01-05T12:00:00Z",
  };
}

const PAIRS = EVENT_TYPES.flatMap((type) => STATUSES.map((status) => [type, status] as const));
const FORBIDDEN = PAIRS.filter(([type, status]) => !ALLOWED[type].includes(status));
const PERMITTED = PAIRS.filter(([type, status]) => ALLOWED[type].includes(status));

describe("the state machine: ALLOWED", () => {
  it("covers every event type and only known statuses", () => {
    expect(Object.keys(ALLOWED).sort()).toEqual([...EVENT_TYPES].sort());
    for (const statuses of Object.values(ALLOWED))
      expect(STATUSES).toEqual(expect.arrayContaining([...statuses]));
    expect(FORBIDDEN.length + PERMITTED.length).toBe(EVENT_TYPES.length * STATUSES.length);
    expect(FORBIDDEN.length).toBeGreaterThan(0);
  });

  it.each(FORBIDDEN)("%s on a %s case is refused with CASE_STATE_CONFLICT", (type, status) => {
    const error = domainError(() =>
      run(caseIn(status, type), { ...SAMPLES[type], eventId: "evt-x" }, NOW, POLICY_CHARGES),
    );
    expect(error).toBeInstanceOf(CaseStateConflictError);
    expect(error.name).toBe("CaseStateConflictError");
    expect(error.code).toBe("CASE_STATE_CONFLICT");
    expect(error.message).toBe(`${type} is not allowed on a ${status} case`);
    expect(error.details).toEqual([
      { path: "type", message: `allowed when the case is ${ALLOWED[type].join(", ")}` },
    ]);
  });

  it.each(PERMITTED)(
    "%s on a %s case applies: eventId on the first audit event, generation + 1 exactly on replan",
    (type, status) => {
      const before = caseIn(status, type);
      const { next, events, workflow } = run(
        before,
        { ...SAMPLES[type], eventId: `evt-${type}` },
        NOW,
        POLICY_CHARGES,
      );
      expect(events.length).toBeGreaterThan(0);
      expect(events[0]?.data.eventId).toBe(`evt-${type}`);
      for (const later of events.slice(1)) expect(later.data.eventId).toBeUndefined();
      expect(events.every((e) => e.actor === ACTOR)).toBe(true);
      expect(["none", "stop", "replan"]).toContain(workflow);
      expect(next.generation).toBe(before.generation + (workflow === "replan" ? 1 : 0));
      expect(next.recentEventIds).toEqual([`evt-${type}`]);
      expect(next.lastEventAt).toBe("2026-01-06T03:00:00Z");
      expect(next.updatedAt).toBe("2026-01-06T03:00:00Z");
      expect(STATUSES).toContain(next.status);
      expect(next.balance).toEqual(balanceOf(next));

      // Without an eventId nothing is added to the audit data, and nothing is remembered.
      const anonymous = run(before, SAMPLES[type], NOW, POLICY_CHARGES);
      expect(anonymous.events[0]?.data).not.toHaveProperty("eventId");
      expect(anonymous.next.recentEventIds).toEqual([]);
    },
  );
});

describe("event order, clock and de-duplication", () => {
  const optOut: LoanEvent = { type: "opt_out", channel: "email" };

  it("an event that occurred before the last applied one is refused with EVENT_OUT_OF_ORDER", () => {
    const first = run(newCase(), { ...optOut, occurredAt: "2026-01-06T02:00:00Z" }).next;
    expect(first.lastEventAt).toBe("2026-01-06T02:00:00Z");
    // 09:59:59+08:00 is 01:59:59Z: compared as instants, not as strings.
    const error = domainError(() =>
      run(first, { ...payment("1.00"), occurredAt: "2026-01-06T09:59:59+08:00" }),
    );
    expect(error).toBeInstanceOf(CaseStateConflictError);
    expect(error.code).toBe("EVENT_OUT_OF_ORDER");
    expect(error.details).toEqual([
      { path: "occurredAt", message: "must be at or after 2026-01-06T02:00:00Z" },
    ]);
    // The same instant is in order.
    expect(run(first, { ...payment("1.00"), occurredAt: "2026-01-06T10:00:00+08:00" }).next.lastEventAt).toBe(
      "2026-01-06T02:00:00Z",
    );
  });

  it("out of order is checked before the state: a forbidden late event reports the order", () => {
    const paid = run(newCase(), { ...payment("1000.00"), occurredAt: "2026-01-06T02:00:00Z" }).next;
    expect(
      domainError(() => run(paid, { ...payment("1.00"), occurredAt: "2026-01-06T01:00:00Z" })).code,
    ).toBe("EVENT_OUT_OF_ORDER");
  });

  it("an event more than 5 minutes in the future is refused with EVENT_IN_THE_FUTURE", () => {
    const now = new Date("2026-01-06T03:00:00.500Z");
    expect(run(newCase(), { ...optOut, occurredAt: "2026-01-06T03:05:00Z" }, now).next.lastEventAt).toBe(
      "2026-01-06T03:05:00Z",
    );
    const error = domainError(() => run(newCase(), { ...optOut, occurredAt: "2026-01-06T03:05:01Z" }, now));
    expect(error).toBeInstanceOf(BusinessRuleError);
    expect(error.code).toBe("EVENT_IN_THE_FUTURE");
    expect(error.details[0]?.path).toBe("occurredAt");
  });

  it("occurredAt defaults to now, in whole UTC seconds", () => {
    const { next, events } = run(newCase(), optOut, new Date("2026-01-06T03:00:00.750Z"));
    expect(next.lastEventAt).toBe("2026-01-06T03:00:00Z");
    expect(events[0]?.data.occurredAt).toBe("2026-01-06T03:00:00Z");
  });

  it("the same eventId twice applies once: the second time is {duplicate: true}", () => {
    const event: LoanEvent = { ...payment("1000.00"), eventId: "evt-1" };
    const first = run(newCase(), event);
    expect(first.next.status).toBe("paid");
    // Not a state conflict (the case is paid now) and not out of order: a repeat.
    expect(applyEvent(first.next, event, ACTOR, new Date("2026-01-07T00:00:00Z"), NO_CHARGES)).toEqual({
      duplicate: true,
    });
    expect(
      applyEvent(first.next, { ...event, occurredAt: "2026-01-01T00:00:00Z" }, ACTOR, NOW, NO_CHARGES),
    ).toEqual({
      duplicate: true,
    });
  });

  it("a different eventId applies; a refused event is not remembered", () => {
    const first = run(newCase(), { ...payment("100.00"), eventId: "evt-1" }).next;
    expect(() => run(first, { ...payment("5000.00"), eventId: "evt-2" })).toThrow(BusinessRuleError);
    const second = run(first, { ...payment("100.00"), eventId: "evt-2" }).next;
    expect(second.recentEventIds).toEqual(["evt-1", "evt-2"]);
    expect(second.balance).toEqual(cny("800.00"));
  });

  it("remembers the last 50 event ids", () => {
    let loanCase = newCase();
    for (let i = 0; i <= 50; i++) loanCase = run(loanCase, { ...optOut, eventId: `evt-${i}` }).next;
    expect(loanCase.recentEventIds).toHaveLength(50);
    expect(loanCase.recentEventIds[0]).toBe("evt-1");
    expect(applyEvent(loanCase, { ...optOut, eventId: "evt-50" }, ACTOR, NOW, NO_CHARGES)).toEqual({
      duplicate: true,
    });
    expect("duplicate" in applyEvent(loanCase, { ...optOut, eventId: "evt-0" }, ACTOR, NOW, NO_CHARGES)).toBe(
      false,
    );
  });

  it("the eventId is on the first audit event only, also when a payment keeps a promise", () => {
    const held = run(newCase(), promise("300.00")).next;
    const { events } = run(held, { ...payment("300.00"), eventId: "evt-pay" });
    expect(events.map((e) => [e.type, e.data.eventId])).toEqual([
      ["payment_received", "evt-pay"],
      ["promise_kept", undefined],
    ]);
  });
});

type Op =
  | { kind: "pay"; perMille: number; hours: number }
  | { kind: "reverse"; perMille: number; hours: number }
  | { kind: "promise"; perMille: number; days: number; hours: number }
  | { kind: "opt_out" | "opt_in"; channel: Channel; hours: number }
  | { kind: "replay"; back: number; hours: number };

const hours = fc.integer({ min: 0, max: 96 });
const perMille = fc.integer({ min: 1, max: 1000 });
const OPS: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("pay" as const), perMille, hours }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("reverse" as const), perMille, hours }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("promise" as const),
      perMille,
      days: fc.integer({ min: 0, max: 10 }),
      hours,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constantFrom("opt_out" as const, "opt_in" as const),
      channel: fc.constantFrom<Channel>("sms", "email"),
      hours,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("replay" as const), back: fc.nat(60), hours }) },
);

/** perMille ‰ of an amount, rounded down to the cent, at least 0.01. */
function part(total: Decimal, perMilleOf: number): string {
  const value = total.times(perMilleOf).dividedBy(1000).toDecimalPlaces(2, Decimal.ROUND_DOWN);
  return Decimal.max(value, "0.01").toFixed(2);
}

describe("random event sequences (property)", () => {
  it("never a negative balance; totalPaid = payments − reversals; balance = principal + fees + interest", () => {
    fc.assert(
      fc.property(
        fc.array(OPS, { minLength: 1, maxLength: 40 }),
        fc.constantFrom(NO_CHARGES, POLICY_CHARGES, { ...POLICY_CHARGES, dailyPenaltyRate: "0.01" }),
        (ops, charges) => {
          let loanCase = newCase();
          let now = NOW.getTime();
          let paid = new Decimal(0);
          let reversed = new Decimal(0);
          let replans = 0;
          const ids: LoanEvent[] = [];
          for (const [index, op] of ops.entries()) {
            now += op.hours * 3_600_000;
            const at = new Date(now);
            let event: LoanEvent;
            if (op.kind === "replay") {
              const earlier = ids[ids.length - 1 - (op.back % Math.max(ids.length, 1))];
              if (!earlier?.eventId) continue;
              const result = applyEvent(loanCase, earlier, ACTOR, at, charges);
              // Every id is still remembered (fewer than 50 events), so a replay never applies twice.
              expect(result).toEqual({ duplicate: true });
              continue;
            }
            if (op.kind === "pay") {
              const balance = toDecimal(chargedTo(loanCase, charges, at).balance);
              if (balance.isZero()) continue;
              event = payment(part(balance, op.perMille));
            } else if (op.kind === "reverse") {
              if (isZero(loanCase.totalPaid)) continue;
              event = reversal(part(toDecimal(loanCase.totalPaid), op.perMille));
            } else if (op.kind === "promise") {
              const balance = toDecimal(chargedTo(loanCase, charges, at).balance);
              if (balance.isZero()) continue;
              const today = DateTime.fromJSDate(at).setZone(loanCase.borrower.timeZone);
              event = promise(
                part(balance, op.perMille),
                today.plus({ days: op.days }).toISODate() as string,
              );
            } else {
              event = { type: op.kind, channel: op.channel };
            }
            event = { ...event, eventId: `evt-${index}` };

            let outcome: EventOutcome;
            try {
              outcome = run(loanCase, event, at, charges);
            } catch (error) {
              // Only the state may refuse these well-formed events (a payment or a promise on a paid case).
              expect(error).toBeInstanceOf(CaseStateConflictError);
              expect((error as DomainError).code).toBe("CASE_STATE_CONFLICT");
              continue;
            }
            ids.push(event);
            if (event.type === "payment") paid = paid.plus(event.amount.amount);
            if (event.type === "payment_reversed") reversed = reversed.plus(event.amount.amount);
            if (outcome.workflow === "replan") replans++;
            loanCase = outcome.next;

            for (const value of [loanCase.balance, loanCase.principal, loanCase.fees, loanCase.interest]) {
              expect(toDecimal(value).isNegative()).toBe(false);
            }
            expect(loanCase.balance).toEqual(balanceOf(loanCase));
            expect(loanCase.totalPaid.amount).toBe(paid.minus(reversed).toFixed(2));
            expect(loanCase.status === "paid").toBe(isZero(loanCase.balance));
            expect(loanCase.generation).toBe(1 + replans);
            const charged = chargedTo(loanCase, charges, at);
            expect(toDecimal(charged.balance).isNegative()).toBe(false);
            expect(charged.balance).toEqual(balanceOf(charged));
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
