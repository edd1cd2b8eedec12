import { type LoanCase, planFor, stageOf } from "../domain/loan-case.ts";
import type { Policy } from "../domain/policy.ts";
import { daysPastDue } from "../domain/time.ts";

/** The LoanCase resource of the public contract. */
export function loanView(loanCase: LoanCase, policy: Policy, now: Date) {
  const action = planFor(loanCase, policy, now);
  return {
    loanId: loanCase.loanId,
    status: loanCase.status,
    stage: stageOf(loanCase, now),
    balance: loanCase.balance,
    amountDue: loanCase.amountDue,
    dueDate: loanCase.dueDate,
    daysPastDue: daysPastDue(loanCase.dueDate, loanCase.borrower.timeZone, now),
    nextAction: action
      ? action.kind === "step"
        ? { at: action.plannedAt, step: action.step.id, channels: action.step.channels }
        : { at: action.plannedAt, step: "hand_off", channels: [] }
      : null,
    policy: loanCase.policy,
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
