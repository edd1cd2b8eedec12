import { Duration, RemovalPolicy, Stack, type StackProps } from "aws-cdk-lib";
import {
  AttributeType,
  BillingMode,
  ProjectionType,
  StreamViewType,
  Table,
  TableEncryption,
} from "aws-cdk-lib/aws-dynamodb";
import { AnyPrincipal, Effect, PolicyDocument, PolicyStatement } from "aws-cdk-lib/aws-iam";
import { Key } from "aws-cdk-lib/aws-kms";
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type BucketProps,
  type CfnBucket,
  HttpMethods,
  ObjectOwnership,
} from "aws-cdk-lib/aws-s3";
import { Topic } from "aws-cdk-lib/aws-sns";
import type { Construct } from "constructs";
import { AUDIT_TABLE, STATE_TABLE, type TableSchema } from "../../functions/adapters/dynamo/schema.ts";
import { acknowledge } from "./constructs/acknowledge.ts";

/** Item-level writes that would change or remove an existing audit entry. */
export const AUDIT_MUTATING_ACTIONS = [
  "dynamodb:UpdateItem",
  "dynamodb:DeleteItem",
  "dynamodb:BatchWriteItem",
  "dynamodb:PartiQLUpdate",
  "dynamodb:PartiQLDelete",
];

/** Key prefixes of the export bucket: short-lived audit exports, and legal hand-off packages (kept). */
export const EXPORTS_PREFIX = "exports/";
export const HANDOFFS_PREFIX = "handoffs/";
/** Portfolio files are uploaded under `imports/<tenantId>/`; they hold borrower data, so they go once imported. */
export const IMPORTS_PREFIX = "imports/";
export const IMPORT_RETENTION_DAYS = 14;
/** Audit exports are fetched through pre-signed links shortly after they are written; then they go. */
export const EXPORT_RETENTION_DAYS = 7;

export interface DunningDataStackProps extends StackProps {
  /**
   * Tables are named `<prefix>-state` and `<prefix>-audit`, the legal hand-off topic `<prefix>-legal-handoffs`
   * and the export bucket `<prefix>-exports-<account>-<region>` (lower case: bucket names are global).
   */
  tableNamePrefix: string;
}

/**
 * The stateful half: the two tables, the export bucket (with its access-log bucket), the legal hand-off topic, the
 * key that encrypts them and the key that seals lenders' webhook secrets. Everything here is retained on stack
 * deletion and the tables are protected against accidental deletion, so the stateless stack can be torn down and
 * redeployed freely. Tables, bucket and topic have fixed names: a change that would replace one fails instead of
 * silently creating a new one, and the service stack refers to them by name.
 */
export class DunningDataStack extends Stack {
  readonly dataKey: Key;
  /**
   * Seals lenders' webhook endpoint secrets (stored in the state table). A key of its own, not the data key: the
   * service stack's API may only Encrypt with it and the deliver function only Decrypt, each for one tenant.
   */
  readonly webhookSecretsKey: Key;
  readonly stateTable: Table;
  readonly auditTable: Table;
  readonly stateTableName: string;
  readonly auditTableName: string;
  /** Audit exports (`exports/`, expire) and legal hand-off packages (`handoffs/`, kept). */
  readonly exportBucket: Bucket;
  readonly exportBucketName: string;
  /**
   * Portfolio uploads (`imports/<tenantId>/<file>.jsonl|csv`); each new object is announced on EventBridge, where
   * the service stack's import function picks it up (no bucket notification pointing into the other stack).
   */
  readonly importBucket: Bucket;
  readonly importBucketName: string;
  /** Receives the exportBucket's and importBucket's server access logs. */
  readonly accessLogsBucket: Bucket;
  /** Legal hand-offs (bankruptcy, cease-contact, end of the dunning plan); subscribers live outside this app. */
  readonly handOffTopic: Topic;
  readonly handOffTopicName: string;

  constructor(scope: Construct, id: string, props: DunningDataStackProps) {
    super(scope, id, props);
    this.stateTableName = `${props.tableNamePrefix}-state`;
    this.auditTableName = `${props.tableNamePrefix}-audit`;
    this.exportBucketName = `${props.tableNamePrefix.toLowerCase()}-exports-${this.account}-${this.region}`;
    this.handOffTopicName = `${props.tableNamePrefix}-legal-handoffs`;
    this.importBucketName = `${props.tableNamePrefix.toLowerCase()}-imports-${this.account}-${this.region}`;

    this.dataKey = new Key(this, "DataKey", {
      description: "Encrypts the loan dunning tables, export bucket and legal hand-off topic",
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // The sealed secrets live in the retained state table: without this key they could never be opened again.
    this.webhookSecretsKey = new Key(this, "WebhookSecretsKey", {
      description: "Seals lenders' webhook endpoint secrets stored in the loan dunning state table",
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.stateTable = tableFromSchema(this, "StateTable", this.stateTableName, STATE_TABLE, this.dataKey);

    // The audit trail is append-only: on top of granting roles only PutItem, the table's own policy denies every
    // principal the actions that rewrite or remove an entry. `*` is the table itself (a policy cannot name the
    // ARN of the table it is attached to without a fixed table name).
    // Its stream carries every new entry to whatever is derived from the trail (business metrics).
    this.auditTable = tableFromSchema(this, "AuditTable", this.auditTableName, AUDIT_TABLE, this.dataKey, {
      stream: StreamViewType.NEW_IMAGE,
      resourcePolicy: new PolicyDocument({
        statements: [
          new PolicyStatement({
            sid: "AuditTrailIsAppendOnly",
            effect: Effect.DENY,
            principals: [new AnyPrincipal()],
            actions: AUDIT_MUTATING_ACTIONS,
            resources: ["*"],
          }),
        ],
      }),
    });

    this.accessLogsBucket = this.createAccessLogsBucket();

    this.exportBucket = new Bucket(this, "ExportBucket", {
      ...this.protectedBucket(this.exportBucketName, "export-bucket/"),
      lifecycleRules: [
        {
          // Versioned: expiring only adds a delete marker, so the data itself goes with the noncurrent version.
          id: "ExpireAuditExports",
          prefix: EXPORTS_PREFIX,
          expiration: Duration.days(EXPORT_RETENTION_DAYS),
          noncurrentVersionExpiration: Duration.days(1),
        },
        { id: "RemoveExpiredExportMarkers", prefix: EXPORTS_PREFIX, expiredObjectDeleteMarker: true },
        // Hand-off packages (handoffs/) are kept; only abandoned multipart uploads are cleaned up everywhere.
        { id: "AbortIncompleteUploads", abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      // The ops console verifies an export in the browser: it downloads the file and its manifest through their
      // pre-signed links (the signature is the credential), so a GET from any origin may read the answer.
      cors: [{ allowedMethods: [HttpMethods.GET], allowedOrigins: ["*"], maxAge: 3000 }],
    });

    this.importBucket = this.createImportBucket();

    this.handOffTopic = new Topic(this, "HandOffTopic", {
      topicName: this.handOffTopicName,
      displayName: "Loan dunning: legal hand-offs",
      masterKey: this.dataKey,
      enforceSSL: true,
    });
    this.handOffTopic.applyRemovalPolicy(RemovalPolicy.RETAIN);
  }

  /** Receives the export and import buckets' server access logs. */
  private createAccessLogsBucket(): Bucket {
    // Server access logs need SSE-S3 on the target bucket (S3 log delivery cannot use a KMS key).
    const bucket = new Bucket(this, "AccessLogsBucket", {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledge(
      bucket,
      "AwsSolutions-S1",
      "This is the access-log target of the export and import buckets; logging the log bucket would only log log deliveries.",
    );
    return bucket;
  }

  /** Portfolio uploads below `imports/<tenantId>/`, announced on EventBridge; they hold borrower data, so they expire. */
  private createImportBucket(): Bucket {
    const bucket = new Bucket(this, "ImportBucket", {
      ...this.protectedBucket(this.importBucketName, "import-bucket/"),
      lifecycleRules: [
        {
          id: "ExpireImportedPortfolios",
          prefix: IMPORTS_PREFIX,
          expiration: Duration.days(IMPORT_RETENTION_DAYS),
          noncurrentVersionExpiration: Duration.days(1),
        },
        { id: "RemoveExpiredImportMarkers", prefix: IMPORTS_PREFIX, expiredObjectDeleteMarker: true },
        { id: "AbortIncompleteUploads", abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });

    // EventBridge notifications set on the CloudFormation resource itself: the L2 `eventBridgeEnabled` would add a
    // custom-resource Lambda (with a managed policy) just to write this one setting.
    (bucket.node.defaultChild as CfnBucket).notificationConfiguration = {
      eventBridgeConfiguration: { eventBridgeEnabled: true },
    };
    return bucket;
  }

  /** What every bucket holding borrower data gets: the data key, TLS only, no public access, no ACLs, access logs. */
  private protectedBucket(bucketName: string, logPrefix: string): BucketProps {
    return {
      bucketName,
      encryption: BucketEncryption.KMS,
      encryptionKey: this.dataKey,
      // One data key per bucket instead of a KMS call per object; grants on the key are unchanged.
      bucketKeyEnabled: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: true,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: logPrefix,
      removalPolicy: RemovalPolicy.RETAIN,
    };
  }
}

function tableFromSchema(
  scope: Construct,
  id: string,
  tableName: string,
  schema: TableSchema,
  key: Key,
  extra: { resourcePolicy?: PolicyDocument; stream?: StreamViewType } = {},
): Table {
  const table = new Table(scope, id, {
    tableName,
    partitionKey: { name: schema.partitionKey.name, type: attributeType(schema.partitionKey.type) },
    sortKey: { name: schema.sortKey.name, type: attributeType(schema.sortKey.type) },
    billingMode: BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    deletionProtection: true,
    encryption: TableEncryption.CUSTOMER_MANAGED,
    encryptionKey: key,
    removalPolicy: RemovalPolicy.RETAIN,
    ...(schema.timeToLiveAttribute ? { timeToLiveAttribute: schema.timeToLiveAttribute } : {}),
    ...extra,
  });
  for (const index of schema.indexes) {
    const projection = index.projection ?? { type: "ALL" };
    // Index keys are composite strings (tenant, tenant#status, timestamp#id…).
    table.addGlobalSecondaryIndex({
      indexName: index.name,
      partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
      sortKey: { name: index.sortKey, type: AttributeType.STRING },
      ...(projection.type === "ALL"
        ? { projectionType: ProjectionType.ALL }
        : { projectionType: ProjectionType.INCLUDE, nonKeyAttributes: projection.attributes }),
    });
  }
  return table;
}

function attributeType(type: "S" | "N"): AttributeType {
  return type === "S" ? AttributeType.STRING : AttributeType.NUMBER;
}
