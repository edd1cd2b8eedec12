import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { type SFNClient, StartExecutionCommand, StopExecutionCommand } from "@aws-sdk/client-sfn";
import { EXECUTIONS_STOPPED_BY_PRODUCT } from "../metrics.ts";
import type { Clock, WorkflowControl, WorkflowRef } from "../ports.ts";
import { metrics } from "../powertools.ts";
import { executionInput, executionName } from "../usecases/execution.ts";

/** The per-loan Standard workflow on AWS Step Functions. */
export class StepFunctionsWorkflow implements WorkflowControl {
  constructor(
    private readonly sfn: SFNClient,
    private readonly stateMachineArn: string,
    /** Stamps the execution input's start: the business clock, which on one machine is the virtual one. */
    private readonly clock: Clock = { now: () => new Date() },
  ) {}

  async start(ref: WorkflowRef): Promise<void> {
    try {
      await this.sfn.send(
        new StartExecutionCommand({
          stateMachineArn: this.stateMachineArn,
          name: executionName(ref),
          input: JSON.stringify(executionInput(ref, this.clock.now())),
        }),
      );
    } catch (error) {
      // Same name already used (running or finished): this generation is started; nothing to do.
      if ((error as Error).name !== "ExecutionAlreadyExists") throw error;
    }
  }

  async stop(ref: WorkflowRef): Promise<void> {
    const executionArn = `${this.stateMachineArn.replace(":stateMachine:", ":execution:")}:${executionName(ref)}`;
    try {
      await this.sfn.send(new StopExecutionCommand({ executionArn, cause: "case no longer collectable" }));
      // Aborts the product asks for are routine; the alarm on aborted executions subtracts these.
      metrics.singleMetric().addMetric(EXECUTIONS_STOPPED_BY_PRODUCT, MetricUnit.Count, 1);
    } catch (error) {
      // Already finished or never started: the step tasks re-read the case anyway.
      if ((error as Error).name !== "ExecutionDoesNotExist") throw error;
    }
  }
}
