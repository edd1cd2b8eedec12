import { Duration } from "aws-cdk-lib";
import { Rule, Schedule } from "aws-cdk-lib/aws-events";
import { LambdaFunction } from "aws-cdk-lib/aws-events-targets";
import type { Construct } from "constructs";
import { DunningFunction } from "../dunning-function.ts";
import type { CaseData } from "./case-data.ts";
import { METRICS_NAMESPACE } from "./operations.ts";
import { StackPart } from "./stack-part.ts";
import type { Workflow } from "./workflow.ts";

/** How often the reconciler looks for cases whose execution was lost. */
export const RECONCILE_EVERY = Duration.minutes(5);

export interface ReconcilerProps {
  serviceName: string;
  caseData: CaseData;
  workflow: Workflow;
}

/**
 * The reconciler: on a schedule, restarts the workflow of cases left long past their wake (an execution that never
 * started or died), and counts them (the StalledWorkflowsRestarted metric, alarmed when it goes silent); and, as
 * the waker, starts the executions of parked cases whose next action has come within the workflow's horizon.
 */
export class Reconciler extends StackPart {
  readonly reconcilerFunction: DunningFunction;

  constructor(scope: Construct, id: string, props: ReconcilerProps) {
    super(scope, id);
    this.reconcilerFunction = new DunningFunction(this, "ReconcilerFunction", {
      function: "reconciler",
      description: "Scheduled: restarts stalled workflows and wakes parked cases entering the horizon",
      environment: {
        ...props.caseData.tableEnvironment,
        STATE_MACHINE_ARN: props.workflow.stateMachine.stateMachineArn,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      },
      serviceName: props.serviceName,
    });
    props.caseData.grantCaseData(this.reconcilerFunction);
    props.workflow.grantStart(this.reconcilerFunction);
    props.workflow.grantExecutions(this.reconcilerFunction, "StopLostExecutions", ["states:StopExecution"]);
    new Rule(this, "ReconcileSchedule", {
      description: "Runs the loan dunning reconciler",
      schedule: Schedule.rate(RECONCILE_EVERY),
      targets: [new LambdaFunction(this.reconcilerFunction, { retryAttempts: 0 })],
    });
  }
}
