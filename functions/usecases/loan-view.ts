import { amountDueNow, installmentViews } from "../domain/installments.ts";
import { breakdown, chargedTo, type LoanCase, planFor, stageOf } from "../domain/loan-case.ts";
import type { Policy } from "../domain/policy.ts";
import { daysPastDue } from "../domain/time.ts";

/** The LoanCase resource of the public contract. */
export function loanView(stored: LoanCase, policy: Policy, now: Date) {
  // Fees and interest shown as of now, without being written: they are committed with the next event.
  const loanCase = chargedTo(stored, policy.charges, now);
  const action = planFor(loanCase, policy, now);
  return {
    loanId: loanCase.loanId,
    status: loanCase.status,
    stage: stageOf(loanCase, now),
    balance: loanCase.balance,
    balanceBreakdown: breakdown(loanCase),
    amountDue: loanCase.amountDue,
    totalPaid: loanCase.totalPaid,
    dueDate: loanCase.dueDate,
    // On a schedule the due date is the oldest unpaid installment's, so this counts from the oldest overdue one.
    daysPastDue: daysPastDue(loanCase.dueDate, loanCase.borrower.timeZone, now),
    amountDueNow: amountDueNow(loanCase, now),
    nextAction: action
      ? action.kind === "step"
        ? {
            at: deferredTo(loanCase, action.step.id, action.plannedAt),
            step: action.step.id,
            channels: action.step.channels,
          }
        : { at: action.plannedAt, step: action.kind, channels: [] }
      : null,
    hold: loanCase.hold
      ? {
          reason: loanCase.hold.reason,
          until: loanCase.hold.until ?? null,
          amount: loanCase.hold.amount ?? null,
          paidSince: loanCase.hold.paidSince ?? null,
        }
      : null,
    installments: installmentViews(loanCase, now),
    /** Set when the workflow failed after its retries; cleared by a restart. */
    attention: loanCase.attention ?? null,
    optedOut: loanCase.optedOut,
    policy: loanCase.policy,
    // What places the loan in a segment of the tenant's strategy, and where the strategy placed it.
    segment: {
      risk: loanCase.risk ?? null,
      product: loanCase.product ?? null,
      customerType: loanCase.customerType ?? null,
      brokenPromises: loanCase.brokenPromises ?? 0,
      strategy: loanCase.strategy ?? null,
    },
    borrower: {
      name: loanCase.borrower.name,
      email: loanCase.borrower.email ?? null,
      phone: loanCase.borrower.phone ?? null,
      locale: loanCase.borrower.locale,
      timeZone: loanCase.borrower.timeZone,
    },
    createdAt: loanCase.createdAt,
    updatedAt: loanCase.updatedAt,
  };
}

export type LoanView = ReturnType<typeof loanView>;

/** A step the rules of contact deferred runs at the deferred instant, not at its planned one. */
function deferredTo(loanCase: LoanCase, step: string, plannedAt: string): string {
  const deferral = loanCase.deferral;
  if (!deferral || deferral.step !== step) return plannedAt;
  return Date.parse(deferral.until) > Date.parse(plannedAt) ? deferral.until : plannedAt;
}
