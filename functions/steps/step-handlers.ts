import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { Context } from "aws-lambda";
import { asDependencyError } from "../adapters/dependency-errors.ts";
import { DomainError } from "../domain/errors.ts";
import { logger } from "../powertools.ts";
import { type FailedExecutionState, recordWorkflowFailure } from "../usecases/workflow-health.ts";
import {
  type ExecutionState,
  handOffStep,
  planStep,
  type StepDeps,
  sendStep,
} from "../usecases/workflow-steps.ts";

type StepUseCase = (deps: StepDeps, input: ExecutionState) => Promise<ExecutionState>;

/**
 * Thin middy adapters over the workflow use cases. Errors propagate with their class name, which is
 * what the ASL's Retry/Catch clauses match on.
 */
function stepHandler(name: string, useCase: StepUseCase, deps: StepDeps) {
  return middy<ExecutionState, ExecutionState, Error, Context>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .handler(async (input) => {
      logger.appendKeys({ tenantId: input.tenantId, loanId: input.loanId, generation: input.generation });
      try {
        const result = await useCase(deps, input);
        logger.info(`${name} done`, { next: result.next });
        return result;
      } catch (caught) {
        const error = asDependencyError(caught);
        if (error instanceof DomainError) logger.info(`${name} ended`, { error: error.name });
        else logger.error(`${name} failed`, { error: error as Error });
        throw error;
      }
    });
}

export function makeStepHandlers(deps: StepDeps) {
  return {
    plan: stepHandler("plan", planStep, deps),
    send: stepHandler("send", sendStep, deps),
    handOff: stepHandler("hand-off", handOffStep, deps),
    recordFailure: stepHandler(
      "record-failure",
      (d, input) => recordWorkflowFailure(d, input as FailedExecutionState),
      deps,
    ),
  };
}
