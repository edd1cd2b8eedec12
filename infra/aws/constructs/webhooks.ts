import { Duration } from "aws-cdk-lib";
import { Table } from "aws-cdk-lib/aws-dynamodb";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { IKey } from "aws-cdk-lib/aws-kms";
import { FilterCriteria, FilterRule, StartingPosition } from "aws-cdk-lib/aws-lambda";
import { DynamoEventSource, SqsDlq, SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { LAMBDA_FUNCTIONS } from "../../lambda-bundles.ts";
import { DunningFunction } from "../dunning-function.ts";
import { acknowledge, STREAM_READ_IS_UNSCOPED } from "./acknowledge.ts";
import type { CaseData } from "./case-data.ts";
import { StackPart } from "./stack-part.ts";

/**
 * The sender's pace: up to WEBHOOK_BATCH_SIZE lines an invocation and at most WEBHOOK_MAX_CONCURRENCY invocations
 * at once, so a burst of events cannot flood lenders' endpoints (or the account's concurrency).
 */
export const WEBHOOK_BATCH_SIZE = 10;
export const WEBHOOK_MAX_CONCURRENCY = 50;
/** A line whose processing failed this many receives goes to the dead-letter queue (retries are new messages). */
export const WEBHOOK_MAX_RECEIVES = 5;
export const WEBHOOK_DELIVER_TIMEOUT = Duration.seconds(LAMBDA_FUNCTIONS.webhookDeliver.timeoutSeconds);
/** The encryption-context key every sealed secret carries: the key is usable only with one. */
export const SECRET_CONTEXT_KEY = "tenantId";

export interface LenderWebhooksProps {
  serviceName: string;
  caseData: CaseData;
  /** The audit table's stream: every new entry. */
  auditStreamArn: string;
  /**
   * The data stack's key that seals endpoint secrets: the secrets outlive this stack in the state table, so their
   * key lives (and is retained) with the data.
   */
  secretKey: IKey;
}

/**
 * Signed webhooks to lenders: audit stream → announce function, which records the loan's new events as deliveries
 * (state table) and queues their lines → delivery queue → deliver function, which POSTs them to the lenders'
 * endpoints and queues a line again, delayed, to retry. Endpoint secrets are sealed with a key of their own, kept by
 * the data stack: the API seals (Encrypt only), the deliver function opens (Decrypt only). When the deliver function
 * disables an endpoint that kept failing, it appends the decision to the tenant's audit chain.
 */
export class LenderWebhooks extends StackPart {
  readonly announceFunction: DunningFunction;
  readonly deliverFunction: DunningFunction;
  /** Lines to deliver: one message per endpoint and loan, possibly delayed (a retry). */
  readonly queue: Queue;
  /** Lines the deliver function failed on WEBHOOK_MAX_RECEIVES times. */
  readonly deadLetterQueue: Queue;
  /** Stream batches the announce function gave up on. */
  readonly announceDeadLetterQueue: Queue;
  readonly secretKey: IKey;

  constructor(scope: Construct, id: string, props: LenderWebhooksProps) {
    super(scope, id);
    this.secretKey = props.secretKey;
    this.deadLetterQueue = deadLetterQueue(this, "WebhookDeadLetterQueue", "lines the deliver function");
    this.queue = new Queue(this, "WebhookDeliveryQueue", {
      encryption: QueueEncryption.KMS_MANAGED,
      enforceSSL: true,
      // Six times the deliver function's timeout, as Lambda recommends for SQS event sources.
      visibilityTimeout: Duration.seconds(WEBHOOK_DELIVER_TIMEOUT.toSeconds() * 6),
      // Retries run for up to 3 days: a line waiting out an outage of the sender must outlive them.
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: WEBHOOK_MAX_RECEIVES },
    });
    this.announceDeadLetterQueue = deadLetterQueue(
      this,
      "WebhookAnnounceDeadLetterQueue",
      "stream batches the announce function",
    );
    this.announceFunction = this.createAnnounce(props);
    this.deliverFunction = this.createDeliver(props);
  }

  /** The API creates endpoints and rotates their secrets (seals them) and redelivers (queues lines). */
  grantEndpointAdmin(fn: DunningFunction): void {
    fn.addEnvironment("WEBHOOK_SECRET_KEY_ARN", this.secretKey.keyArn);
    fn.addEnvironment("WEBHOOK_QUEUE_URL", this.queue.queueUrl);
    this.grantSecrets(fn, "SealWebhookSecrets", "kms:Encrypt");
    this.queue.grant(fn, "sqs:SendMessage");
  }

  /** Reads the loan's new audit entries, records them as deliveries and queues their lines. */
  private createAnnounce({ serviceName, caseData, auditStreamArn }: LenderWebhooksProps): DunningFunction {
    const fn = new DunningFunction(this, "WebhookAnnounceFunction", {
      function: "webhookAnnounce",
      description: "Lender webhooks: turns a loan's new audit entries into deliveries and queues them",
      environment: { ...caseData.tableEnvironment, WEBHOOK_QUEUE_URL: this.queue.queueUrl },
      serviceName,
    });
    caseData.grantState(fn);
    caseData.grantAuditQuery(fn);
    this.queue.grant(fn, "sqs:SendMessage");
    const auditStream = Table.fromTableAttributes(this, "WebhookAuditStream", {
      tableName: caseData.auditTable.tableName,
      tableStreamArn: auditStreamArn,
      encryptionKey: caseData.dataKey,
    });
    fn.addEventSource(
      new DynamoEventSource(auditStream, {
        startingPosition: StartingPosition.LATEST,
        batchSize: 100,
        maxBatchingWindow: Duration.seconds(5),
        bisectBatchOnError: true,
        // Announcing is idempotent (conditional on the loan's announced state), so retries are safe.
        retryAttempts: 5,
        onFailure: new SqsDlq(this.announceDeadLetterQueue),
        filters: [FilterCriteria.filter({ eventName: FilterRule.isEqual("INSERT") })],
      }),
    );
    acknowledge(fn.executionRole, "AwsSolutions-IAM5[Resource::*]", STREAM_READ_IS_UNSCOPED);
    return fn;
  }

  /**
   * POSTs queued lines to the lenders' endpoints, opening each endpoint's secret to sign with; disables (and audits)
   * an endpoint that failed for three days.
   */
  private createDeliver({ serviceName, caseData }: LenderWebhooksProps): DunningFunction {
    const fn = new DunningFunction(this, "WebhookDeliverFunction", {
      function: "webhookDeliver",
      description: "Lender webhooks: signs and POSTs queued deliveries to the lenders' endpoints",
      environment: {
        ...caseData.tableEnvironment,
        WEBHOOK_QUEUE_URL: this.queue.queueUrl,
        WEBHOOK_SECRET_KEY_ARN: this.secretKey.keyArn,
      },
      serviceName,
    });
    // Disabling an endpoint appends an audit entry and moves the tenant's chain head (one transaction).
    caseData.grantCaseData(fn);
    this.grantSecrets(fn, "OpenWebhookSecrets", "kms:Decrypt");
    // A failed POST is retried by queueing the line again with a delay.
    this.queue.grant(fn, "sqs:SendMessage");
    fn.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: WEBHOOK_BATCH_SIZE,
        maxConcurrency: WEBHOOK_MAX_CONCURRENCY,
        reportBatchItemFailures: true,
      }),
    );
    return fn;
  }

  /** One action on the secrets key, only with the tenant in the encryption context. */
  private grantSecrets(fn: DunningFunction, sid: string, action: "kms:Encrypt" | "kms:Decrypt"): void {
    fn.addToRolePolicy(
      new PolicyStatement({
        sid,
        actions: [action],
        resources: [this.secretKey.keyArn],
        conditions: { Null: { [`kms:EncryptionContext:${SECRET_CONTEXT_KEY}`]: "false" } },
      }),
    );
  }
}

/** A dead-letter queue: kept 14 days, the longest SQS allows, for an operator to inspect and redrive. */
export function deadLetterQueue(scope: Construct, id: string, holds: string): Queue {
  const queue = new Queue(scope, id, {
    encryption: QueueEncryption.KMS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  acknowledge(
    queue,
    "AwsSolutions-SQS3",
    `This queue is itself a dead-letter destination: ${holds} gave up on.`,
  );
  return queue;
}
