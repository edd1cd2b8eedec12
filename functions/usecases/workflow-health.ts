import {
  CaseNotCollectableError,
  ConcurrentUpdateError,
  NotFoundError,
  StaleExecutionError,
} from "../domain/errors.ts";
import { toInstant } from "../domain/time.ts";
import { flagWorkflowFailure, restartWorkflow } from "../domain/workflow-health.ts";
import { logger } from "../logger.ts";
import type { Principal } from "../ports.ts";
import { actorOf, getLoan, type LenderDeps, workflowRef } from "./lender.ts";
import type { LoanView } from "./loan-view.ts";
import type { ExecutionState, StepDeps } from "./workflow-steps.ts";

/** The execution state as the ASL hands it over after a task failed for good. */
export interface FailedExecutionState extends ExecutionState {
  failedState: string;
  failure: { Error: string; Cause?: string };
}

const MAX_ATTEMPTS = 5;

/**
 * The workflow's last word when a task failed after its retries: the case is flagged as needing attention and
 * the failure audited, so no execution ends without the case saying so. An execution of an older generation,
 * or of a case that no longer takes contact, has nothing to flag.
 */
export async function recordWorkflowFailure(
  deps: StepDeps,
  input: FailedExecutionState,
): Promise<ExecutionState> {
  for (let attempt = 1; ; attempt++) {
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
    try {
      const now = deps.clock.now();
      await deps.cases.update(loanCase, flagWorkflowFailure(loanCase, failure, now), toInstant(now));
      logger.error("workflow failed", { state: failure.state, errorType: failure.error });
      return input;
    } catch (error) {
      if (!(error instanceof ConcurrentUpdateError) || attempt >= MAX_ATTEMPTS) throw error;
    }
  }
}

/**
 * Ops' way back after a failure (or any doubt): a fresh execution under the next generation continues from the
 * stored state. The old execution, if any still runs, is stopped; its steps would find their generation stale.
 */
export async function restartLoanWorkflow(
  deps: LenderDeps,
  principal: Principal,
  loanId: string,
): Promise<LoanView> {
  for (let attempt = 1; ; attempt++) {
    const current = await deps.cases.get(principal.tenantId, loanId);
    if (!current) throw new NotFoundError(`loan ${loanId} not found`);
    const now = deps.clock.now();
    try {
      const stored = await deps.cases.update(
        current,
        restartWorkflow(current, actorOf(principal), now),
        toInstant(now),
      );
      await deps.workflow.stop(workflowRef(current));
      await deps.workflow.start(workflowRef(stored));
      return getLoan(deps, principal, loanId);
    } catch (error) {
      if (!(error instanceof ConcurrentUpdateError) || attempt >= MAX_ATTEMPTS) throw error;
    }
  }
}
