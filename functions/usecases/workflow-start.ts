import { type CaseChange, type LoanCase, passOver } from "../domain/loan-case.ts";
import type { Policy } from "../domain/policy.ts";
import { toInstant } from "../domain/time.ts";
import { parksUntil } from "../domain/workflow-horizon.ts";
import type { WorkflowControl, WorkflowRef } from "../ports.ts";
import { nextAction, plannedStart } from "./step-wakes.ts";

/**
 * The case as it is written when a new execution would start for it: parked, with no execution, when its next
 * action is beyond the horizon; otherwise not parked (the execution about to start owns its wake).
 */
export function parkedIfBeyondHorizon(loanCase: LoanCase, now: Date, horizonDays: number): LoanCase {
  const { parked: _wasParked, ...rest } = loanCase;
  return parksUntil(loanCase.wakeAt, now, horizonDays) ? { ...rest, parked: true } : rest;
}

/**
 * A case re-planned into a new generation (an event that moves its timing, a policy applied in flight): the steps
 * the new plan puts behind the progress already made are recorded as skipped, never silently dropped, and the case
 * records when its next execution acts — at its planned action, or at once when its Plan task must settle a step
 * in flight. Beyond the horizon the case parks instead.
 */
export function replannedCase(
  loanCase: LoanCase,
  policy: Policy,
  cause: string,
  now: Date,
  horizonDays: number,
): CaseChange {
  const passed = passOver(loanCase, policy, "passed_over_by_replan", { cause });
  const next = passed.next;
  const action = nextAction({ loanCase: next, policy }, now);
  const wakeAt = next.inFlight ? toInstant(now) : "at" in action ? action.at : null;
  return { next: parkedIfBeyondHorizon({ ...next, wakeAt }, now, horizonDays), events: passed.events };
}

/**
 * Starts the execution of a re-planned generation at its planned action, so it skips the Plan task; with a step
 * in flight it starts at Plan, which settles the step first. A parked case starts nothing: the waker will.
 */
export async function startReplanned(
  workflow: WorkflowControl,
  stored: LoanCase,
  policy: Policy,
  now: Date,
): Promise<void> {
  if (stored.parked) return;
  const planned = stored.inFlight ? {} : { planned: plannedStart(stored, policy, now) };
  await workflow.start({
    tenantId: stored.tenantId,
    loanId: stored.loanId,
    generation: stored.generation,
    ...planned,
  });
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
