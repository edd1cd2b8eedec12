import { forEachLimited, retryOnConflict } from "../concurrency.ts";
import {
  CaseNotCollectableError,
  ConcurrentUpdateError,
  NotFoundError,
  StaleExecutionError,
} from "../domain/errors.ts";
import type { LoanCase } from "../domain/loan-case.ts";
import { toInstant } from "../domain/time.ts";
import { expectsWorkflow, flagWorkflowFailure, restartWorkflow } from "../domain/workflow-health.ts";
import { horizonEnd, parksUntil } from "../domain/workflow-horizon.ts";
import type { Principal, WorkflowWakes } from "../ports.ts";
import { logger } from "../powertools.ts";
import { actorOf, getLoan, type LenderDeps, workflowRef } from "./lender.ts";
import type { LoanView } from "./loan-view.ts";
import { stopExecutionOf } from "./workflow-start.ts";
import type { ExecutionState, StepDeps } from "./workflow-steps.ts";

/** The execution state as the ASL hands it over after a task failed for good. */
export interface FailedExecutionState extends ExecutionState {
  failedState: string;
  failure: { Error: string; Cause?: string };
}

const isConflict = (error: unknown) => error instanceof ConcurrentUpdateError;

/**
 * The workflow's last word when a task failed after its retries: the case is flagged as needing attention and
 * the failure audited, so no execution ends without the case saying so. An execution of an older generation,
 * or of a case that no longer takes contact, has nothing to flag.
 */
export async function recordWorkflowFailure(
  deps: StepDeps,
  input: FailedExecutionState,
): Promise<ExecutionState> {
  return retryOnConflict(isConflict, async () => {
    const loanCase = await deps.cases.get(input.tenantId, input.loanId);
    if (!loanCase) throw new CaseNotCollectableError("case not found");
    if (loanCase.generation !== input.generation) {
      throw new StaleExecutionError(
        `execution generation ${input.generation}, case at ${loanCase.generation}`,
      );
    }
    if (loanCase.status !== "active" && loanCase.status !== "on_hold") {
      throw new CaseNotCollectableError(`case is ${loanCase.status}`);
    }
    const failure = { state: input.failedState, error: input.failure.Error, cause: input.failure.Cause };
    const now = deps.clock.now();
    await deps.cases.update(loanCase, flagWorkflowFailure(loanCase, failure, now), toInstant(now));
    logger.error("workflow failed", { state: failure.state, errorType: failure.error });
    return input;
  });
}

/** What a restart needs: the cases, the workflow, the clock. */
type RestartDeps = Pick<LenderDeps, "cases" | "workflow" | "clock">;

/**
 * Starts the case's next generation and stops the old execution, if one still runs (its steps would find their
 * generation stale anyway). Retries a concurrent write; `keep` decides on the fresh read whether to go on.
 */
async function restartCase(
  deps: RestartDeps,
  tenantId: string,
  loanId: string,
  actor: string,
  reason: string,
  keep: (current: LoanCase) => boolean = () => true,
): Promise<LoanCase | null> {
  return retryOnConflict(isConflict, async () => {
    const current = await deps.cases.get(tenantId, loanId);
    if (!current) throw new NotFoundError(`loan ${loanId} not found`);
    if (!keep(current)) return null;
    const now = deps.clock.now();
    const stored = await deps.cases.update(
      current,
      restartWorkflow(current, actor, reason, now),
      toInstant(now),
    );
    await stopExecutionOf(deps.workflow, current, workflowRef(current));
    await deps.workflow.start(workflowRef(stored));
    return stored;
  });
}

/**
 * Ops' way back after a failure (or any doubt): a fresh execution under the next generation continues from the
 * stored state.
 */
export async function restartLoanWorkflow(
  deps: LenderDeps,
  principal: Principal,
  loanId: string,
): Promise<LoanView> {
  await restartCase(deps, principal.tenantId, loanId, actorOf(principal), "ops");
  return getLoan(deps, principal, loanId);
}

/** Past its wake by this much with nothing recorded, a case's execution is presumed lost. Longer than any
 * task's retries can take (a claim's lease, provider back-off, Lambda timeouts). */
export const STALLED_AFTER_MS = 30 * 60_000;
export const RECONCILER_ACTOR = "system:reconciler";

/**
 * Finds the cases a workflow should have acted on long ago — an execution that never started (StartExecution
 * failed after the case was written), or one that died — and restarts each from its stored state. Cases flagged
 * as needing attention are left to ops: their workflow failed for a reason a restart may not cure.
 */
export async function reconcileWorkflows(
  deps: RestartDeps & { wakes: WorkflowWakes },
  stalledAfterMs = STALLED_AFTER_MS,
): Promise<{ restarted: { tenantId: string; loanId: string }[] }> {
  const cutoffMs = deps.clock.now().getTime() - stalledAfterMs;
  const restarted: { tenantId: string; loanId: string }[] = [];
  // Re-checked on a fresh read: the workflow may have acted since the index was read.
  const stillStalled = (current: LoanCase) =>
    expectsWorkflow(current) && !!current.wakeAt && Date.parse(current.wakeAt) < cutoffMs;
  for await (const { tenantId, loanId } of deps.wakes.overdue(toInstant(new Date(cutoffMs)))) {
    const stored = await restartCase(deps, tenantId, loanId, RECONCILER_ACTOR, "stalled", stillStalled);
    if (stored) restarted.push({ tenantId, loanId });
  }
  if (restarted.length > 0) logger.warn("stalled workflows restarted", { count: restarted.length });
  return { restarted };
}

/**
 * Starts at most this many parked executions per run: StartExecution refills at 300 per second per account and
 * Region, shared with subscriptions and re-plans, and a run must end inside the function's timeout. A backlog
 * (a horizon shortened, a large import) is worked over the following runs, earliest wake first.
 */
export const WAKE_PER_RUN = 20_000;
/** Starts in flight at once: about a hundred per second at the API's usual latency. */
const WAKE_CONCURRENCY = 8;

/**
 * The waker: starts an execution for every parked case whose next action has come within the horizon. Each wake
 * of a generation has an execution name of its own (the wake instant), so a start repeated by an overlapping run
 * is a no-op; the execution's Plan task then moves the case's wake out of the parked index.
 */
export async function wakeParkedCases(
  deps: RestartDeps & { wakes: WorkflowWakes },
  horizonDays: number,
  limit = WAKE_PER_RUN,
): Promise<{ woken: number }> {
  if (horizonDays <= 0) return { woken: 0 };
  const now = deps.clock.now();
  const due: { tenantId: string; loanId: string }[] = [];
  for await (const parked of deps.wakes.parkedBefore(toInstant(horizonEnd(now, horizonDays)))) {
    due.push(parked);
    if (due.length >= limit) break;
  }
  let woken = 0;
  await forEachLimited(due, WAKE_CONCURRENCY, async ({ tenantId, loanId }) => {
    // Re-checked on a fresh read: an event may have re-planned or closed the case since the index was read.
    const current = await deps.cases.get(tenantId, loanId);
    if (!current?.parked || !expectsWorkflow(current) || !current.wakeAt) return;
    if (parksUntil(current.wakeAt, now, horizonDays)) return;
    try {
      await deps.workflow.start({ ...workflowRef(current), wake: current.wakeAt });
      woken++;
    } catch (error) {
      // Still parked: the next run tries again, well before the action is due.
      logger.error("parked workflow not woken", { loanId, error: error as Error });
    }
  });
  if (woken > 0) logger.info("parked workflows woken", { count: woken });
  return { woken };
}
