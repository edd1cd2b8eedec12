import { borrowerRef, withReservations } from "../domain/borrower-contacts.ts";
import type { LoanCase } from "../domain/loan-case.ts";
import type { StepDecision } from "../domain/step-lifecycle.ts";
import type { BorrowerContactRecord, BorrowerContactStore } from "../ports/borrower-contacts.ts";

/** A borrower's contact record across their loans, as the frequency caps per borrower read and reserve it. */
export interface BorrowerView {
  ref: string;
  record: BorrowerContactRecord;
}

/** The borrower's contact record; null for a loan with neither phone nor email (nothing can be sent). */
export async function borrowerContacts(
  deps: { borrowers: BorrowerContactStore },
  loanCase: LoanCase,
): Promise<BorrowerView | null> {
  const ref = borrowerRef(loanCase.tenantId, loanCase.borrower);
  if (!ref) return null;
  return { ref, record: await deps.borrowers.get(loanCase.tenantId, ref) };
}

/**
 * Records the channels about to be sent on the borrower, conditional on the version the decision read: a
 * send for another loan of the borrower that got there first makes this one re-read and decide again
 * (ConcurrentUpdateError, which the workflow retries). Channels this step already reserved are not added
 * again, so a retried send counts once.
 */
export async function reserveChannels(
  deps: { borrowers: BorrowerContactStore },
  loanCase: LoanCase,
  borrower: BorrowerView,
  decision: Extract<StepDecision, { kind: "send" }>,
  now: Date,
): Promise<void> {
  const contacts = withReservations(
    borrower.record.contacts,
    {
      loanId: loanCase.loanId,
      step: decision.step.id,
      plannedAt: decision.plannedAt,
      channels: decision.channels,
    },
    now,
  );
  if (contacts) await deps.borrowers.put(loanCase.tenantId, borrower.ref, borrower.record.version, contacts);
}
