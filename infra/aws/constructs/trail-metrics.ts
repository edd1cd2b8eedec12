import { Duration } from "aws-cdk-lib";
import { Table } from "aws-cdk-lib/aws-dynamodb";
import type { IKey } from "aws-cdk-lib/aws-kms";
import { FilterCriteria, FilterRule, StartingPosition } from "aws-cdk-lib/aws-lambda";
import { DynamoEventSource, SqsDlq } from "aws-cdk-lib/aws-lambda-event-sources";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { DunningFunction } from "../dunning-function.ts";
import { acknowledge, STREAM_READ_IS_UNSCOPED } from "./acknowledge.ts";
import type { CaseData } from "./case-data.ts";
import { METRICS_NAMESPACE } from "./operations.ts";
import { StackPart } from "./stack-part.ts";

export interface TrailMetricsProps {
  serviceName: string;
  /** The state table, where the trail's daily counters and each loan's projection mark are kept. */
  caseData: CaseData;
  /** The audit table (by name) and its stream: every new entry. */
  auditTableName: string;
  auditStreamArn: string;
  /** The key that encrypts the audit table. */
  dataKey: IKey;
}

/**
 * Business metrics, derived from the trail rather than counted inline: audit stream → trail-metrics function,
 * which turns each new entry into the metrics it stands for, added to the tenant's daily counters in the state
 * table (the portfolio report reads them) and published as EMF. Batches it gives up on go to a dead-letter queue.
 * On the state table it may only update items by key (the counters, each loan's mark; transactions are authorised
 * as their parts) and read a mark back; the audit table it only reads through its stream.
 */
export class TrailMetrics extends StackPart {
  readonly trailMetricsFunction: DunningFunction;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: TrailMetricsProps) {
    super(scope, id);
    this.trailMetricsFunction = new DunningFunction(this, "TrailMetricsFunction", {
      function: "trailMetrics",
      description: "Audit stream: turns each new entry into the business metrics it stands for",
      environment: { ...props.caseData.tableEnvironment, POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE },
      serviceName: props.serviceName,
    });
    props.caseData.grantStateItems(this.trailMetricsFunction, ["dynamodb:UpdateItem", "dynamodb:GetItem"]);
    this.deadLetterQueue = new Queue(this, "TrailMetricsDeadLetterQueue", {
      encryption: QueueEncryption.KMS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const auditStream = Table.fromTableAttributes(this, "AuditTableStream", {
      tableName: props.auditTableName,
      tableStreamArn: props.auditStreamArn,
      encryptionKey: props.dataKey,
    });
    this.trailMetricsFunction.addEventSource(
      new DynamoEventSource(auditStream, {
        startingPosition: StartingPosition.LATEST,
        batchSize: 100,
        maxBatchingWindow: Duration.seconds(10),
        bisectBatchOnError: true,
        retryAttempts: 3,
        onFailure: new SqsDlq(this.deadLetterQueue),
        filters: [FilterCriteria.filter({ eventName: FilterRule.isEqual("INSERT") })],
      }),
    );
    acknowledge(
      this.deadLetterQueue,
      "AwsSolutions-SQS3",
      "This queue is itself a dead-letter destination: stream batches the metrics function gave up on.",
    );
    acknowledge(
      this.trailMetricsFunction.executionRole,
      "AwsSolutions-IAM5[Resource::*]",
      STREAM_READ_IS_UNSCOPED,
    );
  }
}
