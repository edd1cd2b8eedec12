import { Duration, Stack } from "aws-cdk-lib";
import { Rule } from "aws-cdk-lib/aws-events";
import { LambdaFunction } from "aws-cdk-lib/aws-events-targets";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { LAMBDA_FUNCTIONS } from "../../lambda-bundles.ts";
import { IMPORTS_PREFIX } from "../data-stack.ts";
import { DunningFunction } from "../dunning-function.ts";
import { acknowledge, TRACING_IS_UNSCOPED } from "./acknowledge.ts";
import { type CaseData, grantObjects } from "./case-data.ts";
import { StackPart } from "./stack-part.ts";
import type { Workflow } from "./workflow.ts";

/**
 * The import consumer's pace: at most IMPORT_MAX_CONCURRENCY invocations at once, each with up to IMPORT_BATCH_SIZE
 * messages of 100 loans, so StartExecution calls stay well below the account's rate (bursts are also retried).
 */
export const IMPORT_MAX_CONCURRENCY = 4;
export const IMPORT_BATCH_SIZE = 5;
export const IMPORT_CONSUMER_TIMEOUT = Duration.seconds(LAMBDA_FUNCTIONS.importQueue.timeoutSeconds);
/** A message that failed this many deliveries goes to the dead-letter queue. */
export const IMPORT_MAX_RECEIVES = 5;

export interface PortfolioImportProps {
  serviceName: string;
  /** Physical name of the data stack's import bucket (`imports/<tenantId>/…`). */
  importBucketName: string;
  caseData: CaseData;
  workflow: Workflow;
}

/**
 * Portfolio import on AWS: S3 upload → EventBridge → import function → queue → consumer → cases and workflows.
 * The import function streams an uploaded file and queues its valid loans in batches; the consumer subscribes the
 * batches through the bulk subscription use case, at a bounded pace.
 */
export class PortfolioImport extends StackPart {
  readonly importFunction: DunningFunction;
  readonly consumerFunction: DunningFunction;
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: PortfolioImportProps) {
    super(scope, id);
    const dataKey = props.caseData.dataKey;
    this.deadLetterQueue = new Queue(this, "ImportDeadLetterQueue", {
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: dataKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new Queue(this, "ImportQueue", {
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: dataKey,
      // Reuse a data key for 5 minutes instead of a KMS call per message.
      dataKeyReuse: Duration.minutes(5),
      enforceSSL: true,
      // Six times the consumer's timeout, as Lambda recommends for SQS event sources.
      visibilityTimeout: Duration.seconds(IMPORT_CONSUMER_TIMEOUT.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: IMPORT_MAX_RECEIVES },
    });
    this.importFunction = this.createImportFunction(props);
    this.consumerFunction = this.createConsumer(props);
  }

  /** Reads the uploaded file (GetObject below imports/ only) and queues its loans; no table, no workflow. */
  private createImportFunction(props: PortfolioImportProps): DunningFunction {
    const fn = new DunningFunction(this, "ImportFunction", {
      function: "importObject",
      description: "Portfolio import: streams an uploaded file and queues its valid loans in batches",
      environment: { IMPORT_QUEUE_URL: this.queue.queueUrl },
      serviceName: props.serviceName,
    });
    const importBucketArn = Stack.of(this).formatArn({
      service: "s3",
      region: "",
      account: "",
      resource: props.importBucketName,
    });
    grantObjects(fn, {
      sid: "ReadUploadedPortfolios",
      actions: ["s3:GetObject"],
      objects: `${importBucketArn}/${IMPORTS_PREFIX}*`,
      reason:
        "Portfolio files are uploaded under imports/<tenantId>/<file>: the import function reads (GetObject only) below imports/.",
    });
    // The objects are encrypted with the data key: reading them needs Decrypt, nothing more.
    props.caseData.dataKey.grantDecrypt(fn);
    this.queue.grantSendMessages(fn);
    acknowledge(fn.executionRole, "AwsSolutions-IAM5[Resource::*]", TRACING_IS_UNSCOPED);
    for (const action of ["kms:GenerateDataKey*", "kms:ReEncrypt*"]) {
      acknowledge(
        fn.executionRole,
        `AwsSolutions-IAM5[Action::${action}]`,
        "The action family SQS needs to encrypt messages with the queue's customer-managed key, scoped to that one key.",
      );
    }
    new Rule(this, "PortfolioUploaded", {
      description: "A portfolio file uploaded below imports/ in the import bucket",
      eventPattern: {
        source: ["aws.s3"],
        detailType: ["Object Created"],
        detail: {
          bucket: { name: [props.importBucketName] },
          object: { key: [{ prefix: IMPORTS_PREFIX }] },
        },
      },
      targets: [new LambdaFunction(fn, { retryAttempts: 2, maxEventAge: Duration.hours(2) })],
    });
    return fn;
  }

  /** Subscribes each queued batch (case data, StartExecution) and reports the messages it could not finish. */
  private createConsumer(props: PortfolioImportProps): DunningFunction {
    const fn = new DunningFunction(this, "ImportConsumerFunction", {
      function: "importQueue",
      description: "Portfolio import: subscribes queued batches of loans and starts their workflows",
      environment: {
        ...props.caseData.tableEnvironment,
        STATE_MACHINE_ARN: props.workflow.stateMachine.stateMachineArn,
      },
      serviceName: props.serviceName,
    });
    props.caseData.grantCaseData(fn);
    props.workflow.grantStart(fn);
    fn.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: IMPORT_BATCH_SIZE,
        maxConcurrency: IMPORT_MAX_CONCURRENCY,
        reportBatchItemFailures: true,
      }),
    );
    return fn;
  }
}
