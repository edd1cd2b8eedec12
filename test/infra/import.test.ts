import { type CfnElement, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import type { IConstruct } from "constructs";
import { beforeAll, describe, expect, it } from "vitest";
import { buildApp, type DunningApp } from "../../infra/aws/build-app.ts";
import {
  IMPORT_BATCH_SIZE,
  IMPORT_CONSUMER_TIMEOUT,
  IMPORT_MAX_CONCURRENCY,
  IMPORT_MAX_RECEIVES,
} from "../../infra/aws/constructs/portfolio-import.ts";
import { IMPORT_RETENTION_DAYS } from "../../infra/aws/data-stack.ts";
import type { DunningFunction } from "../../infra/aws/dunning-function.ts";
import {
  actionsOf,
  flat,
  resourcesOf,
  SKIP_BUNDLING,
  type Statement,
  statementsByRole,
} from "./template-helpers.ts";

/** The AWS portfolio import path: S3 upload → EventBridge → import function → SQS → consumer function. */
let built: DunningApp;
let data: Template;
let service: Template;
let roles: Map<string, Statement[]>;

const idOf = (construct: IConstruct) =>
  Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnElement);
const importFn = () => built.service.portfolioImport?.importFunction as DunningFunction;
const consumerFn = () => built.service.portfolioImport?.consumerFunction as DunningFunction;
const statementsOf = (fn: DunningFunction) => roles.get(idOf(fn.executionRole)) ?? [];

beforeAll(() => {
  built = buildApp({ context: SKIP_BUNDLING });
  built.app.synth(); // runs cdk-nag: throws on any unacknowledged finding
  data = Template.fromStack(built.data);
  service = Template.fromStack(built.service);
  roles = statementsByRole(service);
});

describe("import bucket", () => {
  const bucket = () => data.toJSON().Resources[idOf(built.data.importBucket)];

  it("is named per account and region, KMS-encrypted with the data key, versioned, retained, logged", () => {
    expect(bucket().DeletionPolicy).toBe("Retain");
    expect(bucket().Properties).toMatchObject({
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            BucketKeyEnabled: true,
            ServerSideEncryptionByDefault: {
              SSEAlgorithm: "aws:kms",
              KMSMasterKeyID: { "Fn::GetAtt": [idOf(built.data.dataKey), "Arn"] },
            },
          },
        ],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: "BucketOwnerEnforced" }] },
      VersioningConfiguration: { Status: "Enabled" },
      LoggingConfiguration: {
        DestinationBucketName: { Ref: idOf(built.data.accessLogsBucket) },
        LogFilePrefix: "import-bucket/",
      },
      NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: true } },
    });
    expect(JSON.stringify(bucket().Properties.BucketName)).toContain("-imports-");
  });

  it("expires uploaded portfolios (they hold borrower data) and refuses requests without TLS", () => {
    expect(bucket().Properties.LifecycleConfiguration.Rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Prefix: "imports/",
          ExpirationInDays: IMPORT_RETENTION_DAYS,
          NoncurrentVersionExpiration: { NoncurrentDays: 1 },
        }),
      ]),
    );
    data.hasResourceProperties("AWS::S3::BucketPolicy", {
      Bucket: { Ref: idOf(built.data.importBucket) },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: "Deny",
            Action: "s3:*",
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          }),
        ]),
      },
    });
  });

  it("adds no custom-resource Lambda to turn on EventBridge notifications", () => {
    expect(Object.keys(data.findResources("AWS::Lambda::Function"))).toEqual([]);
  });
});

describe("import queue", () => {
  const queueId = () => idOf(built.service.portfolioImport?.queue as IConstruct);
  const dlqId = () => idOf(built.service.portfolioImport?.deadLetterQueue as IConstruct);

  it("is encrypted with the data key, has a dead-letter queue, and a visibility timeout of 6× the consumer's", () => {
    service.hasResourceProperties("AWS::SQS::Queue", {
      KmsMasterKeyId: Match.anyValue(),
      VisibilityTimeout: IMPORT_CONSUMER_TIMEOUT.toSeconds() * 6,
      RedrivePolicy: {
        deadLetterTargetArn: { "Fn::GetAtt": [dlqId(), "Arn"] },
        maxReceiveCount: IMPORT_MAX_RECEIVES,
      },
    });
    const resources = service.toJSON().Resources;
    for (const id of [queueId(), dlqId()]) {
      expect(JSON.stringify(resources[id].Properties.KmsMasterKeyId), id).toMatch(/DataKey/);
    }
  });

  it("refuses every request without TLS, on the queue and its dead-letter queue", () => {
    for (const id of [queueId(), dlqId()]) {
      service.hasResourceProperties("AWS::SQS::QueuePolicy", {
        Queues: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: "Deny",
              Action: "sqs:*",
              Condition: { Bool: { "aws:SecureTransport": "false" } },
            }),
          ]),
        },
      });
    }
  });
});

describe("import functions", () => {
  it("run the import function for objects created below imports/ in the import bucket", () => {
    service.hasResourceProperties("AWS::Events::Rule", {
      EventPattern: {
        source: ["aws.s3"],
        "detail-type": ["Object Created"],
        detail: { bucket: { name: [Match.anyValue()] }, object: { key: [{ prefix: "imports/" }] } },
      },
      Targets: [Match.objectLike({ Arn: { "Fn::GetAtt": [idOf(importFn()), "Arn"] } })],
    });
  });

  it("feed the consumer from the queue with partial batch responses and a bounded concurrency", () => {
    service.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      FunctionName: { Ref: idOf(consumerFn()) },
      EventSourceArn: { "Fn::GetAtt": [idOf(built.service.portfolioImport?.queue as IConstruct), "Arn"] },
      BatchSize: IMPORT_BATCH_SIZE,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      ScalingConfig: { MaximumConcurrency: IMPORT_MAX_CONCURRENCY },
    });
  });

  it("let the import function read imports/*, send to the queue and nothing in DynamoDB or Step Functions", () => {
    const statements = statementsOf(importFn());
    const actions = statements.flatMap(actionsOf);
    expect(actions.filter((a) => a.startsWith("sqs:")).sort()).toEqual(
      ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"].sort(),
    );
    const send = statements.find((s) => actionsOf(s).includes("sqs:SendMessage"));
    expect(resourcesOf(send as Statement).map(flat)).toEqual([
      flat({ "Fn::GetAtt": [idOf(built.service.portfolioImport?.queue as IConstruct), "Arn"] }),
    ]);
    expect(actions.some((a) => a.startsWith("dynamodb:") || a.startsWith("states:"))).toBe(false);
  });

  it("let the consumer write cases (audit append only), start executions, and receive from the queue", () => {
    const actions = statementsOf(consumerFn()).flatMap(actionsOf);
    expect(actions).toEqual(
      expect.arrayContaining(["states:StartExecution", "sqs:ReceiveMessage", "sqs:DeleteMessage"]),
    );
    expect(actions).not.toContain("sqs:SendMessage");
    expect(actions).not.toContain("states:StopExecution");
    expect(actions.some((a) => a.startsWith("s3:"))).toBe(false);
  });
});
