import { Duration } from "aws-cdk-lib";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { SIMULATION_MAX_RECEIVES } from "../../../functions/domain/simulation-job.ts";
import { LAMBDA_FUNCTIONS } from "../../lambda-bundles.ts";
import { DunningFunction } from "../dunning-function.ts";
import type { CaseData } from "./case-data.ts";
import { StackPart } from "./stack-part.ts";
import { deadLetterQueue } from "./webhooks.ts";

/** Jobs run at once (2, the least an SQS event source allows): each holds a function of 3 GB for minutes. */
export const SIMULATION_MAX_CONCURRENCY = 2;
export const SIMULATION_TIMEOUT = Duration.seconds(LAMBDA_FUNCTIONS.simulate.timeoutSeconds);

export interface SimulationsProps {
  serviceName: string;
  caseData: CaseData;
}

/**
 * What-if simulations started through the API (`POST /v1/simulations`): the API stores the job and queues its one
 * message; the simulate function — the simulator in a function of its own, with Lambda's longest timeout and the
 * memory of a large portfolio — runs the job whole, noting progress on it, and stores its report and chart. It reads
 * policies and open cases and writes its own job items; it touches no case, no workflow and no audit entry.
 */
export class Simulations extends StackPart {
  readonly simulateFunction: DunningFunction;
  /** One message per job. */
  readonly queue: Queue;
  /** Jobs the simulate function failed on SIMULATION_MAX_RECEIVES times (they end `failed`). */
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: SimulationsProps) {
    super(scope, id);
    this.deadLetterQueue = deadLetterQueue(this, "SimulationDeadLetterQueue", "jobs the simulate function");
    this.queue = new Queue(this, "SimulationQueue", {
      encryption: QueueEncryption.KMS_MANAGED,
      enforceSSL: true,
      // Six times the function's timeout, as Lambda recommends for SQS event sources.
      visibilityTimeout: Duration.seconds(SIMULATION_TIMEOUT.toSeconds() * 6),
      retentionPeriod: Duration.days(1),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: SIMULATION_MAX_RECEIVES },
    });
    const fn = new DunningFunction(this, "SimulateFunction", {
      function: "simulate",
      description: "What-if simulations: runs one job's portfolio through its policies and stores the report",
      environment: { ...props.caseData.tableEnvironment },
      serviceName: props.serviceName,
    });
    props.caseData.grantSimulationData(fn);
    fn.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: 1,
        maxConcurrency: SIMULATION_MAX_CONCURRENCY,
        reportBatchItemFailures: true,
      }),
    );
    this.simulateFunction = fn;
  }

  /** The API stores jobs (it has the state table already) and queues each job's message. */
  grantStartSimulations(fn: DunningFunction): void {
    fn.addEnvironment("SIMULATION_QUEUE_URL", this.queue.queueUrl);
    this.queue.grant(fn, "sqs:SendMessage");
  }
}
