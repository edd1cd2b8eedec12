import { Match, type Template } from "aws-cdk-lib/assertions";
import type { IConstruct } from "constructs";
import { beforeAll, describe, expect, it } from "vitest";
import { AUDIT_TABLE, STATE_TABLE, type TableSchema } from "../../functions/adapters/dynamo/schema.ts";
import type { DunningApp } from "../../infra/aws/build-app.ts";
import { EXPORT_BUCKET_NAME, idOf, synthesizeApp } from "./synthesized-app.ts";
import { actionsOf, flat, resourcesOf, type Statement } from "./template-helpers.ts";

const AUDIT_MUTATIONS = ["dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"];

let built: DunningApp;
let data: Template;

beforeAll(() => {
  ({ built, data } = synthesizeApp());
});

const bucketId = () => idOf(built.data.exportBucket);
const logsId = () => idOf(built.data.accessLogsBucket);
const bucket = () => data.toJSON().Resources[bucketId()];
const bucketPolicy = (id: string): Statement[] => {
  const [policy] = Object.values(
    data.findResources("AWS::S3::BucketPolicy", { Properties: { Bucket: { Ref: id } } }),
  );
  return policy?.Properties.PolicyDocument.Statement ?? [];
};

describe("data stack", () => {
  const tables: [string, TableSchema][] = [
    ["loan-dunning-state", STATE_TABLE],
    ["loan-dunning-audit", AUDIT_TABLE],
  ];

  it.each(tables)(
    "%s: keys from schema.ts, on-demand, PITR, deletion protection, CMK, retained",
    (name, schema) => {
      const keyId = idOf(built.data.dataKey);
      data.hasResource("AWS::DynamoDB::Table", {
        DeletionPolicy: "Retain",
        UpdateReplacePolicy: "Retain",
        Properties: Match.objectLike({
          TableName: name,
          KeySchema: [
            { AttributeName: schema.partitionKey.name, KeyType: "HASH" },
            { AttributeName: schema.sortKey.name, KeyType: "RANGE" },
          ],
          BillingMode: "PAY_PER_REQUEST",
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          DeletionProtectionEnabled: true,
          SSESpecification: {
            SSEEnabled: true,
            SSEType: "KMS",
            KMSMasterKeyId: { "Fn::GetAtt": [keyId, "Arn"] },
          },
        }),
      });
    },
  );

  it.each(tables)("%s: global secondary indexes are exactly those of schema.ts", (name, schema) => {
    const [table] = Object.values(
      data.findResources("AWS::DynamoDB::Table", { Properties: { TableName: name } }),
    );
    expect(table?.Properties.GlobalSecondaryIndexes).toEqual(
      schema.indexes.map((index) => ({
        IndexName: index.name,
        KeySchema: [
          { AttributeName: index.partitionKey, KeyType: "HASH" },
          { AttributeName: index.sortKey, KeyType: "RANGE" },
        ],
        Projection:
          index.projection?.type === "INCLUDE"
            ? { ProjectionType: "INCLUDE", NonKeyAttributes: index.projection.attributes }
            : { ProjectionType: "ALL" },
      })),
    );
  });

  const stateTableIndexes = () => {
    const [table] = Object.values(
      data.findResources("AWS::DynamoDB::Table", { Properties: { TableName: "loan-dunning-state" } }),
    );
    return (table?.Properties.GlobalSecondaryIndexes ?? []) as { IndexName: string; Projection: unknown }[];
  };

  it("projects into the sparse open-cases index only what the aging report reads, no borrower data", () => {
    const indexes = stateTableIndexes();
    const index = indexes
      .filter((candidate) => candidate.IndexName === "openByDueDate")
      .map((candidate) => candidate.Projection);
    expect(index).toEqual([
      { ProjectionType: "INCLUDE", NonKeyAttributes: ["status", "dueDate", "balance", "agingTimeZone"] },
    ]);
  });

  it("keeps only the keys and the attention flag in the list indexes, so a step's write never rewrites them", () => {
    const indexes = stateTableIndexes();
    const listIndexes = indexes.filter((index) => ["byTenant", "byStatus"].includes(index.IndexName));
    expect(listIndexes.map((index) => [index.IndexName, index.Projection])).toEqual([
      ["byTenant", { ProjectionType: "INCLUDE", NonKeyAttributes: ["attention"] }],
      ["byStatus", { ProjectionType: "INCLUDE", NonKeyAttributes: ["attention"] }],
    ]);
  });
});

describe("keys and audit table policy", () => {
  const keyOf = (key: IConstruct) => data.toJSON().Resources[idOf(key)];

  it("has two customer-managed keys: the data key and the webhook secrets key, both rotated and retained", () => {
    data.resourceCountIs("AWS::KMS::Key", 2);
    const { dataKey, webhookSecretsKey } = built.data;
    expect(idOf(webhookSecretsKey)).not.toBe(idOf(dataKey));
    for (const key of [dataKey, webhookSecretsKey]) {
      expect(keyOf(key), idOf(key)).toMatchObject({
        Type: "AWS::KMS::Key",
        DeletionPolicy: "Retain",
        UpdateReplacePolicy: "Retain",
        Properties: { EnableKeyRotation: true, Description: expect.any(String) },
      });
    }
    expect(keyOf(dataKey).Properties.Description).toMatch(/tables/);
    expect(keyOf(webhookSecretsKey).Properties.Description).toMatch(/webhook endpoint secrets/);
  });

  it("encrypts nothing of the data stack with the webhook secrets key: it only seals secrets", () => {
    const secretsKeyId = idOf(built.data.webhookSecretsKey);
    const users = Object.entries(data.toJSON().Resources as Record<string, { Properties?: unknown }>)
      .filter(
        ([id, resource]) => id !== secretsKeyId && JSON.stringify(resource.Properties).includes(secretsKeyId),
      )
      .map(([id]) => id);
    expect(users).toEqual([]);
  });

  it("denies every principal the actions that would rewrite or remove an audit entry", () => {
    const [audit] = Object.values(
      data.findResources("AWS::DynamoDB::Table", { Properties: { TableName: "loan-dunning-audit" } }),
    );
    const statements: Statement[] = audit?.Properties.ResourcePolicy.PolicyDocument.Statement ?? [];
    const deny = statements.find((s) => s.Effect === "Deny");
    expect(deny).toMatchObject({ Principal: { AWS: "*" }, Resource: "*" });
    expect(deny && actionsOf(deny)).toEqual(expect.arrayContaining(AUDIT_MUTATIONS));
  });
});

describe("export bucket", () => {
  it("is named per account and region, encrypted with the data key (SSE-KMS), versioned and retained", () => {
    expect(flat(bucket().Properties.BucketName)).toBe(EXPORT_BUCKET_NAME);
    expect(bucket()).toMatchObject({ DeletionPolicy: "Retain", UpdateReplacePolicy: "Retain" });
    expect(bucket().Properties.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [
        {
          BucketKeyEnabled: true,
          ServerSideEncryptionByDefault: {
            SSEAlgorithm: "aws:kms",
            KMSMasterKeyID: { "Fn::GetAtt": [idOf(built.data.dataKey), "Arn"] },
          },
        },
      ],
    });
    expect(bucket().Properties.VersioningConfiguration).toEqual({ Status: "Enabled" });
  });

  it("blocks all public access and enforces bucket-owner object ownership (no ACLs), logs bucket too", () => {
    for (const id of [bucketId(), logsId()]) {
      const props = data.toJSON().Resources[id].Properties;
      expect(props.PublicAccessBlockConfiguration, id).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(props.OwnershipControls, id).toEqual({ Rules: [{ ObjectOwnership: "BucketOwnerEnforced" }] });
    }
  });

  it("denies every request without TLS (or below TLS 1.2), on the bucket and its objects, logs bucket too", () => {
    for (const id of [bucketId(), logsId()]) {
      const denies = bucketPolicy(id).filter((s) => s.Effect === "Deny");
      const onBucketAndObjects = [`<${id}.Arn>`, `<${id}.Arn>/*`];
      const insecure = denies.find(
        (s) => JSON.stringify(s.Condition) === '{"Bool":{"aws:SecureTransport":"false"}}',
      );
      expect(insecure, id).toMatchObject({ Action: "s3:*", Principal: { AWS: "*" } });
      expect(insecure && resourcesOf(insecure).sort(), id).toEqual(onBucketAndObjects);
      const oldTls = denies.find(
        (s) => JSON.stringify(s.Condition) === '{"NumericLessThan":{"s3:TlsVersion":1.2}}',
      );
      expect(oldTls && resourcesOf(oldTls).sort(), id).toEqual(onBucketAndObjects);
    }
  });
});

describe("export bucket: lifecycle and access logs", () => {
  it("expires exports/ after 7 days — current and noncurrent versions — and keeps handoffs/", () => {
    const rules = bucket().Properties.LifecycleConfiguration.Rules as Record<string, unknown>[];
    expect(rules).toContainEqual(
      expect.objectContaining({
        Prefix: "exports/",
        Status: "Enabled",
        ExpirationInDays: 7,
        NoncurrentVersionExpiration: { NoncurrentDays: 1 },
      }),
    );
    // Nothing that removes data applies to handoffs/: every expiring rule is limited to exports/.
    for (const rule of rules) {
      const removesData =
        "ExpirationInDays" in rule || "NoncurrentVersionExpiration" in rule || "ExpirationDate" in rule;
      if (removesData) expect(rule.Prefix).toBe("exports/");
      expect(rule.Filter).toBeUndefined();
    }
  });

  it("writes server access logs to a separate SSE-S3 bucket that only S3 log delivery for this bucket may write", () => {
    expect(bucket().Properties.LoggingConfiguration).toEqual({
      DestinationBucketName: { Ref: logsId() },
      LogFilePrefix: "export-bucket/",
    });
    expect(logsId()).not.toBe(bucketId());
    const logs = data.toJSON().Resources[logsId()];
    expect(logs.DeletionPolicy).toBe("Retain");
    expect(logs.Properties.BucketEncryption.ServerSideEncryptionConfiguration).toEqual([
      { ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } },
    ]);
    const allows = bucketPolicy(logsId()).filter((s) => s.Effect === "Allow");
    // One delivery grant per logged bucket: the export bucket and the import bucket.
    expect(allows).toEqual(
      [bucketId(), idOf(built.data.importBucket)].map((source) =>
        expect.objectContaining({
          Action: "s3:PutObject",
          Principal: { Service: "logging.s3.amazonaws.com" },
          Condition: expect.objectContaining({
            ArnLike: { "aws:SourceArn": { "Fn::GetAtt": [source, "Arn"] } },
          }),
        }),
      ),
    );
  });
});

describe("legal hand-off topic", () => {
  const topicId = () => idOf(built.data.handOffTopic);

  it("is named, encrypted with the data key and retained", () => {
    data.resourceCountIs("AWS::SNS::Topic", 1);
    expect(data.toJSON().Resources[topicId()]).toMatchObject({
      DeletionPolicy: "Retain",
      Properties: {
        TopicName: "loan-dunning-legal-handoffs",
        KmsMasterKeyId: { "Fn::GetAtt": [idOf(built.data.dataKey), "Arn"] },
      },
    });
  });

  it("refuses publishing without TLS, to every principal", () => {
    const [policy] = Object.values(data.findResources("AWS::SNS::TopicPolicy"));
    expect(policy?.Properties.Topics).toEqual([{ Ref: topicId() }]);
    expect(policy?.Properties.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({
        Effect: "Deny",
        Principal: "*",
        Action: "sns:Publish",
        Resource: { Ref: topicId() },
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      }),
    );
  });
});
