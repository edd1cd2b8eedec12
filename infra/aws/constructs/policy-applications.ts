import { Duration } from "aws-cdk-lib";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { APPLY_MAX_RECEIVES } from "../../../functions/domain/policy-application.ts";
import { LAMBDA_FUNCTIONS } from "../../lambda-bundles.ts";
import { DunningFunction } from "../dunning-function.ts";
import type { CaseData } from "./case-data.ts";
import { StackPart } from "./stack-part.ts";
import { deadLetterQueue } from "./webhooks.ts";
import type { Workflow } from "./workflow.ts";

/**
 * Jobs worked at once: a job's pages follow one another, so this many jobs run side by side, each at
 * POLICY_APPLY_RATE re-planned cases a second (2, the least an SQS event source allows).
 */
export const APPLY_MAX_CONCURRENCY = 2;
export const APPLY_TIMEOUT = Duration.seconds(LAMBDA_FUNCTIONS.policyApply.timeoutSeconds);

export interface PolicyApplicationsProps {
  serviceName: string;
  caseData: CaseData;
  workflow: Workflow;
  /** Re-planned cases per second per job (POLICY_APPLY_RATE); the function's default when unset. */
  casesPerSecond?: number;
}

/**
 * Policy changes applied to running loans in the background (`applyTo: "in_flight"`): the API stores the version
 * with its job and queues the first page; the apply function works one page of open cases per message (each case
 * moved to the new version in one transaction with its audit entry, its execution stopped and the next generation
 * started), counts it on the job, and queues the next page delayed to keep the pace below the Step Functions quotas.
 */
export class PolicyApplications extends StackPart {
  readonly applyFunction: DunningFunction;
  /** One message per page of a job, delayed by the pace. */
  readonly queue: Queue;
  /** Pages the apply function failed on APPLY_MAX_RECEIVES times (their job ends `failed`). */
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: PolicyApplicationsProps) {
    super(scope, id);
    this.deadLetterQueue = deadLetterQueue(this, "PolicyApplyDeadLetterQueue", "pages the apply function");
    this.queue = new Queue(this, "PolicyApplyQueue", {
      encryption: QueueEncryption.KMS_MANAGED,
      enforceSSL: true,
      // Six times the function's timeout, as Lambda recommends for SQS event sources.
      visibilityTimeout: Duration.seconds(APPLY_TIMEOUT.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: APPLY_MAX_RECEIVES },
    });
    this.applyFunction = this.createApply(props);
  }

  /** The API stores in-flight versions with their jobs and queues each job's first page. */
  grantStartApplications(fn: DunningFunction): void {
    fn.addEnvironment("POLICY_APPLY_QUEUE_URL", this.queue.queueUrl);
    this.queue.grant(fn, "sqs:SendMessage");
  }

  private createApply(props: PolicyApplicationsProps): DunningFunction {
    const { serviceName, caseData, workflow, casesPerSecond } = props;
    const fn = new DunningFunction(this, "PolicyApplyFunction", {
      function: "policyApply",
      description: "Policy applications: moves one page of running loans to a new policy version",
      environment: {
        ...caseData.tableEnvironment,
        STATE_MACHINE_ARN: workflow.stateMachine.stateMachineArn,
        POLICY_APPLY_QUEUE_URL: this.queue.queueUrl,
        ...(casesPerSecond ? { POLICY_APPLY_RATE: String(casesPerSecond) } : {}),
      },
      serviceName,
    });
    // Cases and job records (state table); a case's move appends its `policy_applied` entry (audit: PutItem, Query).
    caseData.grantCaseData(fn);
    workflow.grantStart(fn);
    workflow.grantExecutions(fn, "StopReplannedExecutions", ["states:StopExecution"]);
    // The next page of a job is queued by the page before it.
    this.queue.grant(fn, "sqs:SendMessage");
    fn.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: 1,
        maxConcurrency: APPLY_MAX_CONCURRENCY,
        reportBatchItemFailures: true,
      }),
    );
    return fn;
  }
}
