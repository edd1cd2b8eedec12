import type { AuditEvent } from "./audit-chain.ts";
import { allocatePayment, balanceOf, type Charges, NO_CHARGES } from "./charges.ts";
import { BusinessRuleError, CaseStateConflictError } from "./errors.ts";
import { installmentStatus, overdueInstallments } from "./installments.ts";
import {
  assertAmount,
  breakdown,
  chargedTo,
  type EventOutcome,
  type LoanCase,
  touched,
  type WorkflowEffect,
} from "./loan-case.ts";
import { add, compare, isZero, type Money, money, subtract } from "./money.ts";
import { daysPastDue, toInstant } from "./time.ts";

/** Pays installments in order with the principal part of a payment; the earliest unpaid one sets the due date. */
function payInstallments(
  loanCase: LoanCase,
  principalPaid: Money,
): Pick<LoanCase, "installments" | "dueDate"> {
  if (!loanCase.installments) return { installments: null, dueDate: loanCase.dueDate };
  let left = principalPaid;
  const installments = loanCase.installments.map((installment) => {
    const remaining = subtract(installment.amount, installment.paid);
    const part = compare(left, remaining) > 0 ? remaining : left;
    left = subtract(left, part);
    return { ...installment, paid: add(installment.paid, part) };
  });
  const open = installments.find((i) => compare(i.paid, i.amount) < 0);
  return { installments, dueDate: open?.dueDate ?? loanCase.dueDate };
}

/**
 * A payment is allocated to fees, then interest, then principal (installments in order). Zero balance ends
 * collection; a payment that meets a promise lifts the hold; one that meets a settlement settles the case.
 */
export function recordPayment(
  loanCase: LoanCase,
  amount: Money,
  occurredAt: string,
  actor: string,
  now: Date,
  charges: Charges = NO_CHARGES,
): EventOutcome {
  if (loanCase.status !== "active" && loanCase.status !== "on_hold" && loanCase.status !== "legal") {
    throw new CaseStateConflictError(`a payment cannot be recorded on a ${loanCase.status} case`);
  }
  assertAmount(amount, loanCase.balance.currency);
  const charged = chargedTo(loanCase, charges, now);
  if (compare(amount, charged.balance) > 0) {
    throw new BusinessRuleError(
      "PAYMENT_EXCEEDS_BALANCE",
      `payment ${amount.amount} exceeds the balance ${charged.balance.amount}`,
      [{ path: "amount.amount", message: `must be at most ${charged.balance.amount}` }],
    );
  }
  const { outstanding, allocation } = allocatePayment(charged, amount);
  let next: LoanCase = touched(charged, now, {
    ...outstanding,
    ...payInstallments(charged, allocation.principal),
    balance: balanceOf(outstanding),
    totalPaid: add(charged.totalPaid, amount),
  });
  const paidInFull = isZero(next.balance);
  const events: AuditEvent[] = [
    {
      type: "payment_received",
      actor,
      data: {
        amount,
        occurredAt,
        allocation,
        balance: next.balance,
        breakdown: breakdown(next),
        paidInFull,
        // Whether a reminder had gone out before it: what the dunning recovers, as opposed to what came anyway.
        afterContact: loanCase.lastStep !== null || (loanCase.recentContacts?.length ?? 0) > 0,
      },
    },
  ];
  const cure = paidInFull ? null : cured(loanCase, next, actor, now);
  if (cure) {
    events.push(cure);
    // The cleared installments' soft-collection steps are history: collection resumes from now.
    next = { ...next, cursorAt: toInstant(now) };
  }
  let workflow: WorkflowEffect = next.dueDate !== loanCase.dueDate ? "replan" : "none";
  if (paidInFull) {
    next = { ...next, status: "paid", hold: null };
    workflow = "stop";
  } else {
    const agreement = towardsAgreement(next, amount, actor, now);
    if (agreement) {
      next = agreement.next;
      events.push(...agreement.events);
      workflow = agreement.workflow ?? workflow;
    }
  }
  events[0] = {
    ...(events[0] as AuditEvent),
    data: { ...(events[0] as AuditEvent).data, status: next.status },
  };
  return { next: { ...next, lastEventAt: occurredAt }, events, workflow };
}

/**
 * A payment that clears every overdue installment with something still owed cures the case: the due date is the
 * next unpaid installment's, so soft collection stops and that installment's pre-due reminders run. Not on a case
 * already with legal, whose collection does not resume. Null when the payment cures nothing.
 */
function cured(before: LoanCase, after: LoanCase, actor: string, now: Date): AuditEvent | null {
  const zone = before.borrower.timeZone;
  const cleared = (before.installments ?? []).flatMap((installment, index) =>
    installmentStatus(installment, zone, now) === "overdue" ? [index + 1] : [],
  );
  if (before.status === "legal" || cleared.length === 0 || overdueInstallments(after, now).length > 0)
    return null;
  return {
    type: "cured",
    actor,
    data: {
      installmentsCleared: cleared,
      nextDueDate: after.dueDate,
      daysPastDueBefore: daysPastDue(before.dueDate, zone, now),
    },
  };
}

/**
 * A payment towards a promise or settlement on hold: counted until it meets the agreed amount; then a kept promise
 * resumes collection and a met settlement settles the case (what is left waived). Null without such a hold.
 */
function towardsAgreement(
  next: LoanCase,
  amount: Money,
  actor: string,
  now: Date,
): { next: LoanCase; events: AuditEvent[]; workflow?: WorkflowEffect } | null {
  const hold = next.hold;
  if (!hold?.amount || (hold.reason !== "promise" && hold.reason !== "settlement")) return null;
  const paidSince = add(hold.paidSince ?? money(0, amount.currency), amount);
  if (compare(paidSince, hold.amount) < 0)
    return { next: { ...next, hold: { ...hold, paidSince } }, events: [] };
  if (hold.reason === "promise") {
    // A kept promise resumes quietly: steps that fell due while it held are passed over, not caught up.
    return {
      next: { ...next, status: "active", hold: null, cursorAt: toInstant(now) },
      events: [
        { type: "promise_kept", actor, data: { promised: hold.amount, paid: paidSince, until: hold.until } },
      ],
      workflow: "replan",
    };
  }
  const zero = money(0, amount.currency);
  return {
    next: {
      ...next,
      status: "settled",
      hold: null,
      waived: next.balance,
      principal: zero,
      fees: zero,
      interest: zero,
      balance: zero,
    },
    events: [
      {
        type: "settlement_completed",
        actor,
        data: { agreed: hold.amount, paid: paidSince, waived: breakdown(next) },
      },
    ],
    workflow: "stop",
  };
}
