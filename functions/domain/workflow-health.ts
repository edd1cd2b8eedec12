import { CaseStateConflictError } from "./errors.ts";
import { type Attention, type CaseChange, type LoanCase, WORKFLOW_ACTOR } from "./loan-case.ts";

export type { Attention };

import { toInstant } from "./time.ts";

/** What the workflow reports when a task failed after its retries. */
export interface WorkflowFailure {
  state: string;
  error: string;
  cause?: string;
}

/** Causes are error messages of the product's own code or of AWS; a bounded excerpt keeps the trail small. */
const MAX_CAUSE = 500;

/** The case flagged for ops, with the audit entry that says why. */
function flagged(
  loanCase: LoanCase,
  why: Pick<Attention, "reason" | "state" | "error">,
  entry: { type: string; data: Record<string, unknown> },
  now: Date,
): CaseChange {
  const at = toInstant(now);
  const attention: Attention = { ...why, since: at, generation: loanCase.generation };
  return {
    next: { ...loanCase, attention, updatedAt: at },
    events: [{ ...entry, actor: WORKFLOW_ACTOR }],
  };
}

/** Records a failed workflow on the case: an audit entry, and the case flagged as needing attention. */
export function flagWorkflowFailure(loanCase: LoanCase, failure: WorkflowFailure, now: Date): CaseChange {
  const { state, error } = failure;
  return flagged(
    loanCase,
    { reason: "workflow_failed", state, error },
    {
      type: "workflow_failed",
      data: {
        state,
        error,
        cause: failure.cause?.slice(0, MAX_CAUSE) ?? null,
        generation: loanCase.generation,
      },
    },
    now,
  );
}

/**
 * The hand-off is due but no message has ever reached the borrower: nobody goes to legal without notice. The
 * case stays active, flagged for ops (new contact details, then a restart; or a decision of their own).
 */
export function withholdHandOff(loanCase: LoanCase, plannedAt: string, now: Date): CaseChange {
  return flagged(
    loanCase,
    { reason: "handoff_withheld", state: "Legal hand-off: hand over", error: "NoMessageReachedBorrower" },
    { type: "handoff_withheld", data: { reason: "no_message_reached_borrower", plannedAt } },
    now,
  );
}

/**
 * Starts the case's workflow afresh under the next generation (a new execution name, so no earlier execution
 * can block it); the new execution plans from the stored state and settles any step left in flight.
 */
export function restartWorkflow(loanCase: LoanCase, actor: string, reason: string, now: Date): CaseChange {
  if (loanCase.status !== "active" && loanCase.status !== "on_hold") {
    throw new CaseStateConflictError(
      `the case is ${loanCase.status}: no workflow runs for it`,
      [{ path: "loanId", message: `the case is ${loanCase.status}` }],
      "WORKFLOW_NOT_RESTARTABLE",
    );
  }
  const at = toInstant(now);
  // Not parked any more: the new execution starts with the Plan task at once, which records the wake after it.
  const { parked: _parked, ...running } = loanCase;
  return {
    next: { ...running, attention: null, generation: loanCase.generation + 1, wakeAt: at, updatedAt: at },
    events: [
      {
        type: "workflow_restarted",
        actor,
        data: {
          fromGeneration: loanCase.generation,
          toGeneration: loanCase.generation + 1,
          reason,
          attention: loanCase.attention ?? null,
        },
      },
    ],
  };
}

/** A workflow should be acting on the case: it is active, or on hold until a date; and it is not flagged. */
export function expectsWorkflow(loanCase: LoanCase): boolean {
  const running = loanCase.status === "active" || (loanCase.status === "on_hold" && !!loanCase.hold?.until);
  return running && !loanCase.attention;
}
