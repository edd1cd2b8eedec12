import type { LoanCase } from "../domain/loan-case.ts";
import { parksUntil } from "../domain/workflow-horizon.ts";
import type { WorkflowControl, WorkflowRef } from "../ports.ts";

/**
 * The case as it is written when a new execution would start for it: parked, with no execution, when its next
 * action is beyond the horizon; otherwise not parked (the execution about to start owns its wake).
 */
export function parkedIfBeyondHorizon(loanCase: LoanCase, now: Date, horizonDays: number): LoanCase {
  const { parked: _wasParked, ...rest } = loanCase;
  return parksUntil(loanCase.wakeAt, now, horizonDays) ? { ...rest, parked: true } : rest;
}

/**
 * Stops the case's execution before a new generation takes over. A parked case has none: re-planning it costs
 * no StopExecution call (a quota of its own, refilled at 200 per second).
 */
export async function stopExecutionOf(
  workflow: WorkflowControl,
  loanCase: LoanCase,
  ref: WorkflowRef,
): Promise<void> {
  if (!loanCase.parked) await workflow.stop(ref);
}
