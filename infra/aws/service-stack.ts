import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ArnFormat, Duration, RemovalPolicy, Stack, type StackProps, Validations } from "aws-cdk-lib";
import {
  AccessLogFormat,
  EndpointType,
  LambdaRestApi,
  LogGroupLogDestination,
  MethodLoggingLevel,
} from "aws-cdk-lib/aws-apigateway";
import { type ITable, Table } from "aws-cdk-lib/aws-dynamodb";
import { Rule, Schedule } from "aws-cdk-lib/aws-events";
import { LambdaFunction } from "aws-cdk-lib/aws-events-targets";
import { Effect, Policy, PolicyStatement, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { type IKey, Key } from "aws-cdk-lib/aws-kms";
import { FilterCriteria, FilterRule, StartingPosition } from "aws-cdk-lib/aws-lambda";
import { DynamoEventSource, SqsDlq, SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import { LogGroup } from "aws-cdk-lib/aws-logs";
import { ConfigurationSet, EmailSendingEvent, EventDestination } from "aws-cdk-lib/aws-ses";
import { Topic } from "aws-cdk-lib/aws-sns";
import { LambdaSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import {
  type CfnStateMachine,
  DefinitionBody,
  LogLevel,
  StateMachine,
  StateMachineType,
} from "aws-cdk-lib/aws-stepfunctions";
import { CfnWebACL, CfnWebACLAssociation } from "aws-cdk-lib/aws-wafv2";
import type { Construct } from "constructs";
import { AUDIT_TABLE, keys, STATE_TABLE } from "../../functions/adapters/dynamo/schema.ts";
import { LAMBDA_FUNCTIONS } from "../lambda-bundles.ts";
import { EXPORT_RETENTION_DAYS, EXPORTS_PREFIX, HANDOFFS_PREFIX, IMPORTS_PREFIX } from "./data-stack.ts";
import { DunningFunction, LOG_RETENTION } from "./dunning-function.ts";
import { DunningOperations } from "./operations.ts";

export const WORKFLOW_ASL_PATH = fileURLToPath(new URL("../../workflows/dunning.asl.json", import.meta.url));

/**
 * The import consumer's pace: at most IMPORT_MAX_CONCURRENCY invocations at once, each with up to IMPORT_BATCH_SIZE
 * messages of 100 loans, so StartExecution calls stay well below the account's rate (bursts are also retried).
 */
export const IMPORT_MAX_CONCURRENCY = 4;
export const IMPORT_BATCH_SIZE = 5;
export const IMPORT_CONSUMER_TIMEOUT = Duration.seconds(LAMBDA_FUNCTIONS.importQueue.timeoutSeconds);
/** Every DynamoDB action that reads or writes items (transactions are authorised as these). */
const ITEM_ACTIONS = [
  "dynamodb:GetItem",
  "dynamodb:BatchGetItem",
  "dynamodb:Query",
  "dynamodb:Scan",
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:DeleteItem",
  "dynamodb:BatchWriteItem",
  "dynamodb:ConditionCheckItem",
];
/** API-key items are keyed `KEY#<hash>` (functions/adapters/dynamo/schema.ts). */
const API_KEY_PREFIX = keys.apiKey("").pk;
/** How often the reconciler looks for cases whose execution was lost. */
export const RECONCILE_EVERY = Duration.minutes(5);
/** The CloudWatch namespace of the product's own metrics (Powertools Metrics). */
export const METRICS_NAMESPACE = "LoanDunning";
/** A message that failed this many deliveries goes to the dead-letter queue. */
export const IMPORT_MAX_RECEIVES = 5;

/** The SES events the delivery function records: what happened to each email after SES accepted it. */
export const DELIVERY_EVENT_TYPES = [
  EmailSendingEvent.DELIVERY,
  EmailSendingEvent.BOUNCE,
  EmailSendingEvent.COMPLAINT,
  EmailSendingEvent.REJECT,
];

export interface DunningServiceStackProps extends StackProps {
  /** Physical names of the tables owned by the data stack. */
  stateTableName: string;
  auditTableName: string;
  /** Physical name of the data stack's export bucket (`exports/`, `handoffs/`). */
  exportBucketName: string;
  /** Physical name of the data stack's import bucket (`imports/<tenantId>/…`). */
  importBucketName?: string;
  /** The audit table's stream: every new entry, for the business metrics derived from the trail. */
  auditStreamArn?: string;
  /** Alarm when SMS spend this month passes 80% of this many US dollars (default 1000). */
  smsMonthlyBudgetUsd?: number;
  /** Name of the data stack's legal hand-off topic. */
  handOffTopicName: string;
  /** The key that encrypts the tables, the export bucket and the hand-off topic. */
  dataKey: IKey;
  /** Sender address for email; the SES permission is scoped to it and its domain. */
  emailFrom: string;
  /** Alphanumeric SMS sender id, where the destination country supports one. */
  smsSenderId?: string;
  /** Attach a regional WAF web ACL to the API stage (default true). */
  webAcl?: boolean;
  /** Powertools service name (default `loan-dunning`). */
  serviceName?: string;
  /** Prefix of every physical name this stack sets, so stages live side by side (default `loan-dunning`). */
  namePrefix?: string;
}

/**
 * The stateless half: the Lambda functions, the per-loan workflow and the HTTP API. It holds no data, so it can
 * be destroyed and redeployed without touching a case or an audit entry.
 */
export class DunningServiceStack extends Stack {
  readonly apiFunction: DunningFunction;
  readonly planFunction: DunningFunction;
  readonly sendFunction: DunningFunction;
  readonly handOffFunction: DunningFunction;
  readonly recordFailureFunction: DunningFunction;
  /** Business metrics from the audit stream (absent without a stream). */
  readonly trailMetricsFunction?: DunningFunction;
  readonly trailMetricsDeadLetterQueue?: Queue;
  /** Alarms, the ops topic and the dashboard. */
  readonly operations: DunningOperations;
  /** Scheduled: restarts cases whose execution was lost. */
  readonly reconcilerFunction: DunningFunction;
  /** Records SES delivery, bounce, complaint and reject events against the case. */
  readonly deliveryFunction: DunningFunction;
  /** Every email is sent through this configuration set, which publishes its events to deliveryEventsTopic. */
  readonly configurationSet: ConfigurationSet;
  readonly deliveryEventsTopic: Topic;
  /** Encrypts deliveryEventsTopic; SES may use it for this configuration set only. */
  readonly deliveryEventsKey: Key;
  readonly stateMachine: StateMachine;
  readonly api: LambdaRestApi;
  /** Streams an uploaded portfolio file and queues its loans in batches (absent without an import bucket). */
  readonly importFunction?: DunningFunction;
  /** Subscribes the queued batches through the bulk subscription use case. */
  readonly importConsumerFunction?: DunningFunction;
  readonly importQueue?: Queue;
  readonly importDeadLetterQueue?: Queue;

  constructor(scope: Construct, id: string, props: DunningServiceStackProps) {
    super(scope, id, props);
    const serviceName = props.serviceName ?? "loan-dunning";
    const namePrefix = props.namePrefix ?? "loan-dunning";

    // Referenced by name rather than by cross-stack token: the ARNs stay readable in IAM policies and in
    // cdk-nag findings, and the data stack never has to export anything this stack might stop using.
    const stateTable = Table.fromTableAttributes(this, "StateTable", {
      tableName: props.stateTableName,
      encryptionKey: props.dataKey,
      grantIndexPermissions: true,
    });
    const auditTable = Table.fromTableAttributes(this, "AuditTable", {
      tableName: props.auditTableName,
      encryptionKey: props.dataKey,
    });
    const tables = { STATE_TABLE: stateTable.tableName, AUDIT_TABLE: auditTable.tableName };
    const exportBucketArn = this.formatArn({
      service: "s3",
      region: "",
      account: "",
      resource: props.exportBucketName,
    });
    const handOffTopicArn = this.formatArn({ service: "sns", resource: props.handOffTopicName });
    const exportObjects = `${exportBucketArn}/${EXPORTS_PREFIX}*`;
    const handOffObjects = `${exportBucketArn}/${HANDOFFS_PREFIX}*`;
    const commonEnvironment = { ...tables, EXPORT_BUCKET: props.exportBucketName };
    // The steps start the next execution of a plan that outlives one (a year); the state machine refers to
    // the step functions, so they know it by its fixed name rather than by a token (no dependency cycle).
    const stateMachineName = `${namePrefix}-workflow`;
    const stateMachineArn = this.formatArn({
      service: "states",
      resource: "stateMachine",
      resourceName: stateMachineName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const stepEnvironment = { ...commonEnvironment, STATE_MACHINE_ARN: stateMachineArn };
    // Fixed name, like the state machine's: the send function's SES permission names its ARN.
    const configurationSetName = `${namePrefix}-email`;
    const configurationSetArn = this.formatArn({
      service: "ses",
      resource: "configuration-set",
      resourceName: configurationSetName,
    });

    // --- Workflow tasks: one bundle, three handlers (timeouts in lambda-bundles.ts).
    this.planFunction = new DunningFunction(this, "PlanFunction", {
      function: "plan",
      description: "Workflow task: re-reads the case and plans the next action",
      environment: stepEnvironment,
      serviceName,
    });
    this.sendFunction = new DunningFunction(this, "SendStepFunction", {
      function: "send",
      description: "Workflow task: claims a dunning step, sends it and records the evidence",
      environment: {
        ...stepEnvironment,
        EMAIL_FROM: props.emailFrom,
        SES_CONFIGURATION_SET: configurationSetName,
        ...(props.smsSenderId ? { SMS_SENDER_ID: props.smsSenderId } : {}),
      },
      serviceName,
    });
    this.handOffFunction = new DunningFunction(this, "HandOffFunction", {
      function: "handOff",
      description: "Workflow task: hands the case over to legal",
      environment: { ...stepEnvironment, HANDOFF_TOPIC_ARN: handOffTopicArn },
      serviceName,
    });
    this.recordFailureFunction = new DunningFunction(this, "RecordFailureFunction", {
      function: "recordFailure",
      description: "Workflow task: flags the case and audits a task that failed after its retries",
      environment: stepEnvironment,
      serviceName,
    });
    const stepFunctions = [
      this.planFunction,
      this.sendFunction,
      this.handOffFunction,
      this.recordFailureFunction,
    ];
    for (const fn of stepFunctions) {
      grantCaseData(fn, stateTable, auditTable, props.dataKey);
      fn.addToRolePolicy(
        new PolicyStatement({
          sid: "ContinueInNewExecution",
          actions: ["states:StartExecution"],
          resources: [stateMachineArn],
        }),
      );
    }
    grantSending(this.sendFunction, props.emailFrom, configurationSetArn);
    grantObjects(this.handOffFunction, "WriteHandOffPackages", ["s3:PutObject"], handOffObjects);
    grantHandOffPublish(this.handOffFunction, handOffTopicArn);

    // --- Email delivery events: SES → configuration set → encrypted topic → delivery function.
    // A key of its own (not the data key): SES gets to use exactly this key, and only for this configuration set.
    // The topic holds events only in flight, so the key goes with this stateless stack.
    this.deliveryEventsKey = new Key(this, "DeliveryEventsKey", {
      description: "Encrypts the SES delivery events topic of the loan dunning service",
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(30),
    });
    // Fixed name: the key policy names the topic, and a token would make key and topic depend on each other.
    const deliveryEventsTopicName = `${namePrefix}-delivery-events`;
    const deliveryEventsTopicArn = this.formatArn({ service: "sns", resource: deliveryEventsTopicName });
    // Publishing to an encrypted topic: SES needs a data key (GenerateDataKey*) and Decrypt on the topic's key —
    // only with this topic's SNS encryption context. Which SES resource may publish is the topic policy's job
    // (the event destination scopes it to this configuration set).
    this.deliveryEventsKey.addToResourcePolicy(
      new PolicyStatement({
        sid: "AllowSesToPublishDeliveryEvents",
        principals: [new ServicePrincipal("ses.amazonaws.com")],
        actions: ["kms:GenerateDataKey*", "kms:Decrypt"],
        resources: ["*"],
        conditions: { StringEquals: { "kms:EncryptionContext:aws:sns:topicArn": deliveryEventsTopicArn } },
      }),
    );
    this.deliveryEventsTopic = new Topic(this, "DeliveryEventsTopic", {
      topicName: deliveryEventsTopicName,
      displayName: "Loan dunning: email delivery events",
      masterKey: this.deliveryEventsKey,
      enforceSSL: true,
    });
    this.configurationSet = new ConfigurationSet(this, "EmailConfigurationSet", {
      configurationSetName,
      reputationMetrics: true,
    });
    // The event destination also adds the topic policy that lets SES publish (scoped to this configuration set).
    this.configurationSet.addEventDestination("DeliveryEvents", {
      destination: EventDestination.snsTopic(this.deliveryEventsTopic),
      events: DELIVERY_EVENT_TYPES,
    });
    this.deliveryFunction = new DunningFunction(this, "DeliveryFunction", {
      function: "delivery",
      description: "Records SES delivery, bounce, complaint and reject events against the case",
      environment: tables,
      serviceName,
    });
    grantCaseData(this.deliveryFunction, stateTable, auditTable, props.dataKey);
    this.deliveryEventsTopic.addSubscription(new LambdaSubscription(this.deliveryFunction));

    // --- The per-loan workflow, from the same ASL file the embedded runtime executes.
    const workflowLogs = new LogGroup(this, "WorkflowLogs", { retention: LOG_RETENTION });
    this.stateMachine = new StateMachine(this, "DunningWorkflow", {
      stateMachineName,
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromString(readFileSync(WORKFLOW_ASL_PATH, "utf8")),
      definitionSubstitutions: {
        PlanFunctionArn: this.planFunction.functionArn,
        SendStepFunctionArn: this.sendFunction.functionArn,
        HandOffFunctionArn: this.handOffFunction.functionArn,
        RecordFailureFunctionArn: this.recordFailureFunction.functionArn,
      },
      // Execution data carries borrower contact details; keep it out of the logs.
      logs: { destination: workflowLogs, level: LogLevel.ALL, includeExecutionData: false },
      tracingEnabled: true,
    });
    // The ASL names the functions directly as Task resources, so CDK cannot infer the grant: give exactly these.
    this.stateMachine.addToRolePolicy(
      new PolicyStatement({
        sid: "InvokeWorkflowTasks",
        actions: ["lambda:InvokeFunction"],
        resources: stepFunctions.map((fn) => fn.functionArn),
      }),
    );

    // --- The HTTP API: one proxy Lambda; authentication (Bearer API keys) and validation (zod) happen inside it.
    this.apiFunction = new DunningFunction(this, "ApiFunction", {
      function: "api",
      description: "HTTP API: loans, policies, audit trail",
      environment: {
        ...commonEnvironment,
        STATE_MACHINE_ARN: this.stateMachine.stateMachineArn,
        // Bankruptcy and cease-contact notices arrive through the API and hand the case off from there.
        HANDOFF_TOPIC_ARN: handOffTopicArn,
      },
      serviceName,
    });
    grantCaseData(this.apiFunction, stateTable, auditTable, props.dataKey, {
      auditIndexes: AUDIT_TABLE.indexes.map((index) => index.name),
      apiKeys: true,
    });
    // Audit exports: written (multipart for large ones, hence Abort), then fetched through pre-signed GETs signed
    // with this role. Hand-off packages: written and read back. No List, no Delete: exports expire by lifecycle.
    grantObjects(
      this.apiFunction,
      "WriteAndShareAuditExports",
      ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"],
      exportObjects,
    );
    grantObjects(
      this.apiFunction,
      "WriteAndReadHandOffPackages",
      ["s3:PutObject", "s3:GetObject"],
      handOffObjects,
    );
    grantHandOffPublish(this.apiFunction, handOffTopicArn);
    this.stateMachine.grantStartExecution(this.apiFunction);
    this.apiFunction.addToRolePolicy(
      new PolicyStatement({
        sid: "ControlWorkflowExecutions",
        actions: ["states:StopExecution", "states:DescribeExecution"],
        resources: [executionsOf(this.stateMachine)],
      }),
    );

    // --- The reconciler: every five minutes, restarts the workflow of cases left long past their wake (an
    // execution that never started or died), and counts them (the StalledWorkflowsRestarted metric).
    this.reconcilerFunction = new DunningFunction(this, "ReconcilerFunction", {
      function: "reconciler",
      description: "Scheduled: restarts the workflow of cases left long past their wake",
      environment: {
        ...tables,
        STATE_MACHINE_ARN: this.stateMachine.stateMachineArn,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      },
      serviceName,
    });
    grantCaseData(this.reconcilerFunction, stateTable, auditTable, props.dataKey);
    this.stateMachine.grantStartExecution(this.reconcilerFunction);
    this.reconcilerFunction.addToRolePolicy(
      new PolicyStatement({
        sid: "StopLostExecutions",
        actions: ["states:StopExecution"],
        resources: [executionsOf(this.stateMachine)],
      }),
    );
    new Rule(this, "ReconcileSchedule", {
      description: "Runs the loan dunning reconciler",
      schedule: Schedule.rate(RECONCILE_EVERY),
      targets: [new LambdaFunction(this.reconcilerFunction, { retryAttempts: 0 })],
    });

    // --- Business metrics, derived from the trail: audit stream → trail-metrics function (EMF).
    if (props.auditStreamArn) {
      this.trailMetricsFunction = new DunningFunction(this, "TrailMetricsFunction", {
        function: "trailMetrics",
        description: "Audit stream: turns each new entry into the business metrics it stands for",
        environment: { POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE },
        serviceName,
      });
      this.trailMetricsDeadLetterQueue = new Queue(this, "TrailMetricsDeadLetterQueue", {
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
          onFailure: new SqsDlq(this.trailMetricsDeadLetterQueue),
          filters: [FilterCriteria.filter({ eventName: FilterRule.isEqual("INSERT") })],
        }),
      );
      Validations.of(this.trailMetricsDeadLetterQueue).acknowledge({
        id: "AwsSolutions-SQS3",
        reason:
          "This queue is itself a dead-letter destination: stream batches the metrics function gave up on.",
      });
      Validations.of(this.trailMetricsFunction.executionRole).acknowledge({
        id: "AwsSolutions-IAM5[Resource::*]",
        reason:
          "dynamodb:ListStreams and the X-Ray tracing actions support no resource-level scoping; the stream read is scoped to the audit table's stream.",
      });
    }

    // --- Portfolio import: S3 upload → EventBridge → import function → queue → consumer → cases and workflows.
    let importObjects: string | undefined;
    if (props.importBucketName) {
      const importBucketArn = this.formatArn({
        service: "s3",
        region: "",
        account: "",
        resource: props.importBucketName,
      });
      importObjects = `${importBucketArn}/${IMPORTS_PREFIX}*`;
      this.importDeadLetterQueue = new Queue(this, "ImportDeadLetterQueue", {
        encryption: QueueEncryption.KMS,
        encryptionMasterKey: props.dataKey,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      });
      this.importQueue = new Queue(this, "ImportQueue", {
        encryption: QueueEncryption.KMS,
        encryptionMasterKey: props.dataKey,
        // Reuse a data key for 5 minutes instead of a KMS call per message.
        dataKeyReuse: Duration.minutes(5),
        enforceSSL: true,
        // Six times the consumer's timeout, as Lambda recommends for SQS event sources.
        visibilityTimeout: Duration.seconds(IMPORT_CONSUMER_TIMEOUT.toSeconds() * 6),
        retentionPeriod: Duration.days(4),
        deadLetterQueue: { queue: this.importDeadLetterQueue, maxReceiveCount: IMPORT_MAX_RECEIVES },
      });
      this.importFunction = new DunningFunction(this, "ImportFunction", {
        function: "importObject",
        description: "Portfolio import: streams an uploaded file and queues its valid loans in batches",
        environment: { IMPORT_QUEUE_URL: this.importQueue.queueUrl },
        serviceName,
      });
      grantObjects(this.importFunction, "ReadUploadedPortfolios", ["s3:GetObject"], importObjects);
      // The objects are encrypted with the data key: reading them needs Decrypt, nothing more.
      props.dataKey.grantDecrypt(this.importFunction);
      this.importQueue.grantSendMessages(this.importFunction);
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
        targets: [
          new LambdaFunction(this.importFunction, { retryAttempts: 2, maxEventAge: Duration.hours(2) }),
        ],
      });

      this.importConsumerFunction = new DunningFunction(this, "ImportConsumerFunction", {
        function: "importQueue",
        description: "Portfolio import: subscribes queued batches of loans and starts their workflows",
        environment: { ...tables, STATE_MACHINE_ARN: this.stateMachine.stateMachineArn },
        serviceName,
      });
      grantCaseData(this.importConsumerFunction, stateTable, auditTable, props.dataKey);
      this.stateMachine.grantStartExecution(this.importConsumerFunction);
      this.importConsumerFunction.addEventSource(
        new SqsEventSource(this.importQueue, {
          batchSize: IMPORT_BATCH_SIZE,
          maxConcurrency: IMPORT_MAX_CONCURRENCY,
          reportBatchItemFailures: true,
        }),
      );
    }

    const accessLogs = new LogGroup(this, "ApiAccessLogs", { retention: LOG_RETENTION });
    this.api = new LambdaRestApi(this, "Api", {
      handler: this.apiFunction,
      proxy: true,
      restApiName: namePrefix,
      description: "Loan reminder and dunning API",
      endpointTypes: [EndpointType.REGIONAL],
      // Execution logging needs the account-level API Gateway CloudWatch role; kept when the stack goes.
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      deployOptions: {
        accessLogDestination: new LogGroupLogDestination(accessLogs),
        accessLogFormat: AccessLogFormat.jsonWithStandardFields(),
        throttlingRateLimit: 200,
        throttlingBurstLimit: 400,
        loggingLevel: MethodLoggingLevel.ERROR,
        metricsEnabled: true,
        // Request/response bodies hold borrower data: never write them to execution logs.
        dataTraceEnabled: false,
        tracingEnabled: true,
      },
    });

    if (props.webAcl ?? true) {
      attachWebAcl(this, this.api);
    } else {
      Validations.of(this.api.deploymentStage).acknowledge({
        id: "AwsSolutions-APIG3",
        reason:
          "WAF disabled for this deployment (webAcl=false): an organisation-wide web ACL is attached per environment.",
      });
    }

    // --- What an operator watches: alarms into the ops topic, and a dashboard (README: runbook).
    const watched: Record<string, DunningFunction> = {
      api: this.apiFunction,
      plan: this.planFunction,
      send: this.sendFunction,
      "hand-off": this.handOffFunction,
      "record-failure": this.recordFailureFunction,
      delivery: this.deliveryFunction,
      reconciler: this.reconcilerFunction,
      ...(this.trailMetricsFunction ? { "trail-metrics": this.trailMetricsFunction } : {}),
      ...(this.importFunction ? { import: this.importFunction } : {}),
      ...(this.importConsumerFunction ? { "import-consumer": this.importConsumerFunction } : {}),
    };
    this.operations = new DunningOperations(this, "Operations", {
      namePrefix,
      metricsNamespace: METRICS_NAMESPACE,
      stateMachine: this.stateMachine,
      api: this.api,
      functions: watched,
      workflowTasks: ["plan", "send", "hand-off"],
      deadLetterQueues: {
        ...(this.importDeadLetterQueue ? { import: this.importDeadLetterQueue } : {}),
        ...(this.trailMetricsDeadLetterQueue ? { "trail-metrics": this.trailMetricsDeadLetterQueue } : {}),
      },
      configurationSetName,
      smsMonthlyBudgetUsd: props.smsMonthlyBudgetUsd ?? 1000,
    });

    acknowledgeFindings(this, {
      stateTableName: props.stateTableName,
      stepFunctions,
      apiFunction: this.apiFunction,
      deliveryFunction: this.deliveryFunction,
      handOffFunction: this.handOffFunction,
      reconcilerFunction: this.reconcilerFunction,
      exportObjects,
      handOffObjects,
      ...(this.importFunction && this.importConsumerFunction && importObjects
        ? { importFunction: this.importFunction, importConsumer: this.importConsumerFunction, importObjects }
        : {}),
    });
  }
}

/**
 * Case data for a function: read/write on the state table; on the audit table only PutItem (append) and Query
 * (read a trail / the chain head). Never UpdateItem, DeleteItem or BatchWriteItem on audit — the trail is
 * append-only by IAM, not by convention.
 */
function grantCaseData(
  fn: DunningFunction,
  stateTable: ITable,
  auditTable: ITable,
  key: IKey,
  options: { auditIndexes?: string[]; apiKeys?: boolean } = {},
): void {
  stateTable.grantReadWriteData(fn);
  if (!options.apiKeys) {
    // API-key hashes share the state table; only the API resolves keys, so no other role may touch them.
    fn.addToRolePolicy(
      new PolicyStatement({
        sid: "NeverTouchApiKeys",
        effect: Effect.DENY,
        actions: ITEM_ACTIONS,
        resources: [stateTable.tableArn, `${stateTable.tableArn}/index/*`],
        conditions: { "ForAnyValue:StringLike": { "dynamodb:LeadingKeys": [`${API_KEY_PREFIX}*`] } },
      }),
    );
  }
  fn.addToRolePolicy(
    new PolicyStatement({
      sid: "AppendAuditEntries",
      actions: ["dynamodb:PutItem"],
      resources: [auditTable.tableArn],
    }),
  );
  fn.addToRolePolicy(
    new PolicyStatement({
      sid: "ReadAuditTrail",
      actions: ["dynamodb:Query"],
      resources: [
        auditTable.tableArn,
        ...(options.auditIndexes ?? []).map((name) => `${auditTable.tableArn}/index/${name}`),
      ],
    }),
  );
  key.grantEncryptDecrypt(fn);
}

/** ARN pattern of every execution of one state machine (execution names are chosen per loan at start). */
function executionsOf(stateMachine: StateMachine): string {
  return Stack.of(stateMachine).formatArn({
    service: "states",
    resource: "execution",
    resourceName: `${stateMachine.stateMachineName}:*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

/**
 * Object-level actions on one key prefix of the export bucket. The objects are encrypted with the data key, which
 * every function may already use (grantCaseData): PutObject needs kms:GenerateDataKey, GetObject kms:Decrypt.
 */
function grantObjects(fn: DunningFunction, sid: string, actions: string[], objects: string): void {
  fn.addToRolePolicy(new PolicyStatement({ sid, actions, resources: [objects] }));
}

/** Publish to the legal hand-off topic (encrypted with the data key: kms:GenerateDataKey*, kms:Decrypt). */
function grantHandOffPublish(fn: DunningFunction, topicArn: string): void {
  fn.addToRolePolicy(
    new PolicyStatement({ sid: "PublishLegalHandOffs", actions: ["sns:Publish"], resources: [topicArn] }),
  );
}

/**
 * SES scoped to the sender identity (address or its domain, whichever is verified) and to that From address, plus
 * the configuration set every email goes through (SES authorises SendEmail against that resource too).
 */
function grantSending(fn: DunningFunction, emailFrom: string, configurationSetArn: string): void {
  const stack = Stack.of(fn);
  const domain = emailFrom.slice(emailFrom.lastIndexOf("@") + 1);
  fn.addToRolePolicy(
    new PolicyStatement({
      sid: "SendEmailAsSender",
      actions: ["ses:SendEmail"],
      resources: [
        ...[domain, emailFrom].map((identity) =>
          stack.formatArn({ service: "ses", resource: "identity", resourceName: identity }),
        ),
        configurationSetArn,
      ],
      conditions: { StringEquals: { "ses:FromAddress": emailFrom } },
    }),
  );
  // Kept in its own policy so the wildcard acknowledgement below covers exactly this statement.
  const smsPolicy = new Policy(fn, "SmsPublishPolicy", {
    statements: [
      new PolicyStatement({ sid: "PublishSmsToPhoneNumbers", actions: ["sns:Publish"], resources: ["*"] }),
      // `*` above would include every topic — the legal hand-offs, the delivery events (a forged SES event): an SMS
      // straight to a phone number names no topic, so denying every topic ARN leaves exactly SMS.
      new PolicyStatement({
        sid: "NeverPublishToTopics",
        effect: Effect.DENY,
        actions: ["sns:Publish"],
        resources: [stack.formatArn({ service: "sns", region: "*", account: "*", resource: "*" })],
      }),
    ],
  });
  smsPolicy.attachToRole(fn.executionRole);
  Validations.of(smsPolicy).acknowledge({
    id: "AwsSolutions-IAM5[Resource::*]",
    reason:
      "sns:Publish straight to a phone number (SMS) has no resource ARN to scope to; every topic ARN is denied.",
  });
}

function attachWebAcl(scope: Construct, api: LambdaRestApi): void {
  const managedRules = (
    name: string,
    priority: number,
    countOnly: string[] = [],
  ): CfnWebACL.RuleProperty => ({
    name,
    priority,
    overrideAction: { none: {} },
    statement: {
      managedRuleGroupStatement: {
        vendorName: "AWS",
        name,
        ruleActionOverrides: countOnly.map((rule) => ({ name: rule, actionToUse: { count: {} } })),
      },
    },
    visibilityConfig: { sampledRequestsEnabled: true, cloudWatchMetricsEnabled: true, metricName: name },
  });
  const webAcl = new CfnWebACL(scope, "ApiWebAcl", {
    scope: "REGIONAL",
    defaultAction: { allow: {} },
    visibilityConfig: {
      sampledRequestsEnabled: true,
      cloudWatchMetricsEnabled: true,
      metricName: "ApiWebAcl",
    },
    rules: [
      // Count, not block: bodies past the 8 KB the rule inspects (API Gateway caps them at 10 MB and the Lambda
      // validates them) and server-side HTTP clients that send no User-Agent. The rest of the set blocks.
      managedRules("AWSManagedRulesCommonRuleSet", 0, ["SizeRestrictions_BODY", "NoUserAgent_HEADER"]),
      managedRules("AWSManagedRulesKnownBadInputsRuleSet", 1),
    ],
  });
  new CfnWebACLAssociation(scope, "ApiWebAclAssociation", {
    resourceArn: api.deploymentStage.stageArn,
    webAclArn: webAcl.attrArn,
  });
}

/** Every cdk-nag finding this stack keeps on purpose, each with its reason, next to the resources it concerns. */
function acknowledgeFindings(
  stack: DunningServiceStack,
  refs: {
    stateTableName: string;
    stepFunctions: DunningFunction[];
    apiFunction: DunningFunction;
    deliveryFunction: DunningFunction;
    handOffFunction: DunningFunction;
    reconcilerFunction: DunningFunction;
    exportObjects: string;
    handOffObjects: string;
    importFunction?: DunningFunction;
    importConsumer?: DunningFunction;
    importObjects?: string;
  },
): void {
  const stateIndexes = STATE_TABLE.indexes.map((index) => index.name).join(", ");
  const caseDataFunctions = [
    ...refs.stepFunctions,
    refs.apiFunction,
    refs.deliveryFunction,
    refs.reconcilerFunction,
  ];
  if (refs.importConsumer) caseDataFunctions.push(refs.importConsumer);
  for (const fn of caseDataFunctions) {
    const role = fn.executionRole;
    Validations.of(role).acknowledge({
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) support no resource-level scoping.",
    });
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:dynamodb:<AWS::Region>:<AWS::AccountId>:table/${refs.stateTableName}/index/*]`,
      reason: `Query on the state table's own indexes (${stateIndexes}) — the wildcard stops at this one table's indexes.`,
    });
    for (const action of ["kms:GenerateDataKey*", "kms:ReEncrypt*"]) {
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Action::${action}]`,
        reason:
          "The action family DynamoDB needs to use the tables' customer-managed key, scoped to that one key.",
      });
    }
  }

  const smRole = stack.stateMachine.role;
  Validations.of(smRole).acknowledge({
    id: "AwsSolutions-IAM5[Resource::*]",
    reason:
      "Vended log delivery (logs:CreateLogDelivery etc.) and X-Ray tracing actions support no resource-level scoping.",
  });

  const stateMachineId = stack.getLogicalId(stack.stateMachine.node.defaultChild as CfnStateMachine);
  for (const fn of [refs.apiFunction, refs.reconcilerFunction]) {
    Validations.of(fn.executionRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<${stateMachineId}.Name>:*]`,
      reason:
        "Stop (or describe) any execution of this one state machine: executions are one per loan, named at start time.",
    });
  }

  // Object keys are chosen per export / per hand-off at run time; each wildcard stops at one prefix of one bucket.
  const objectAcknowledgements: [DunningFunction, string, string][] = [
    [
      refs.apiFunction,
      refs.exportObjects,
      `Audit exports are written under generated keys below exports/ only (expired by lifecycle after ${EXPORT_RETENTION_DAYS} days).`,
    ],
    [
      refs.apiFunction,
      refs.handOffObjects,
      "Legal hand-off packages are written and read back under per-case keys below handoffs/ only.",
    ],
    [
      refs.handOffFunction,
      refs.handOffObjects,
      "The hand-off step writes its package under a per-case key below handoffs/ only (PutObject, nothing else).",
    ],
  ];
  if (refs.importFunction && refs.importObjects) {
    objectAcknowledgements.push([
      refs.importFunction,
      refs.importObjects,
      "Portfolio files are uploaded under imports/<tenantId>/<file>: the import function reads (GetObject only) below imports/.",
    ]);
    const role = refs.importFunction.executionRole;
    Validations.of(role).acknowledge({
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) support no resource-level scoping.",
    });
    for (const action of ["kms:GenerateDataKey*", "kms:ReEncrypt*"]) {
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Action::${action}]`,
        reason:
          "The action family SQS needs to encrypt messages with the queue's customer-managed key, scoped to that one key.",
      });
    }
  }
  for (const [fn, objects, reason] of objectAcknowledgements) {
    Validations.of(fn.executionRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagRendering(stack, objects)}]`,
      reason,
    });
  }

  const api = stack.api;
  for (const method of api.methods) {
    Validations.of(method).acknowledge({
      id: "AwsSolutions-APIG4",
      reason:
        "Callers authenticate with per-tenant API keys (Bearer), verified by the Lambda against hashed keys.",
    });
    Validations.of(method).acknowledge({
      id: "AwsSolutions-COG4",
      reason:
        "Machine-to-machine API for lenders' systems: API keys checked in the Lambda, no Cognito user pool.",
    });
  }
  Validations.of(api).acknowledge({
    id: "AwsSolutions-APIG2",
    reason:
      "Proxy integration: the Lambda validates every request body and query with zod schemas (400 on failure).",
  });
  const cloudWatchRole = api.node.tryFindChild("CloudWatchRole");
  if (cloudWatchRole) {
    Validations.of(cloudWatchRole).acknowledge({
      id: "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
      reason:
        "The AWS-managed policy is the documented role for API Gateway's account-level execution logging.",
    });
  }
}

/** A (possibly tokenised) string as cdk-nag writes it in a finding id: `<Ref>`, `<Id.Attr>`, joins flattened. */
function nagRendering(stack: Stack, value: string): string {
  const visit = (node: unknown): string => {
    if (typeof node === "string") return node;
    const o = (node ?? {}) as Record<string, unknown>;
    if (Array.isArray(o["Fn::Join"])) {
      const [separator, parts] = o["Fn::Join"] as [string, unknown[]];
      return parts.map(visit).join(separator);
    }
    if (Array.isArray(o["Fn::GetAtt"])) return `<${(o["Fn::GetAtt"] as string[]).join(".")}>`;
    if (typeof o.Ref === "string") return `<${o.Ref}>`;
    return JSON.stringify(node);
  };
  return visit(stack.resolve(value));
}
