import { Stack } from "aws-cdk-lib";
import { type ITable, Table } from "aws-cdk-lib/aws-dynamodb";
import { Effect, PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { IKey } from "aws-cdk-lib/aws-kms";
import type { Construct } from "constructs";
import { keys, STATE_TABLE } from "../../../functions/adapters/dynamo/schema.ts";
import { EXPORTS_PREFIX, HANDOFFS_PREFIX } from "../data-stack.ts";
import type { DunningFunction } from "../dunning-function.ts";
import { acknowledge, TRACING_IS_UNSCOPED, wildcardResource } from "./acknowledge.ts";
import { StackPart } from "./stack-part.ts";

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
/** The item actions a function that reads and writes by key may hold on the state table (grantCaseItems). */
export type StateItemAction =
  | "dynamodb:GetItem"
  | "dynamodb:PutItem"
  | "dynamodb:UpdateItem"
  | "dynamodb:ConditionCheckItem";
/** API-key items are keyed `KEY#<hash>` (functions/adapters/dynamo/schema.ts). */
const API_KEY_PREFIX = keys.apiKey("").pk;

export interface CaseDataProps {
  /** Physical names of the tables owned by the data stack. */
  stateTableName: string;
  auditTableName: string;
  /** Physical name of the data stack's export bucket (`exports/`, `handoffs/`). */
  exportBucketName: string;
  /** Name of the data stack's legal hand-off topic. */
  handOffTopicName: string;
  /** The key that encrypts the tables, the export bucket and the hand-off topic. */
  dataKey: IKey;
}

export interface CaseDataGrant {
  /** Audit-table indexes the function may query (none by default). */
  auditIndexes?: string[];
  /** Whether the function may touch API-key items in the state table (only the API resolves keys). */
  apiKeys?: boolean;
}

/**
 * Access to what the data stack keeps: the state and audit tables, the export bucket's prefixes and the legal
 * hand-off topic, each granted to a function exactly as far as it needs. The data stack's resources are referenced
 * by name rather than by cross-stack token: the ARNs stay readable in IAM policies and in cdk-nag findings, and the
 * data stack never has to export anything this stack might stop using.
 */
export class CaseData extends StackPart {
  readonly stateTable: ITable;
  readonly auditTable: ITable;
  readonly dataKey: IKey;
  /** The table names, as every function that reads cases finds them. */
  readonly tableEnvironment: { STATE_TABLE: string; AUDIT_TABLE: string };
  /** The tables and the export bucket: what the API and the workflow tasks find in their environment. */
  readonly caseEnvironment: Record<string, string>;
  readonly exportBucketName: string;
  /** Audit exports (`exports/*`) and legal hand-off packages (`handoffs/*`) in the export bucket. */
  readonly exportObjects: string;
  readonly handOffObjects: string;
  readonly handOffTopicArn: string;

  constructor(scope: Construct, id: string, props: CaseDataProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.dataKey = props.dataKey;
    this.stateTable = Table.fromTableAttributes(this, "StateTable", {
      tableName: props.stateTableName,
      encryptionKey: props.dataKey,
      grantIndexPermissions: true,
    });
    this.auditTable = Table.fromTableAttributes(this, "AuditTable", {
      tableName: props.auditTableName,
      encryptionKey: props.dataKey,
    });
    this.tableEnvironment = {
      STATE_TABLE: this.stateTable.tableName,
      AUDIT_TABLE: this.auditTable.tableName,
    };
    this.exportBucketName = props.exportBucketName;
    this.caseEnvironment = { ...this.tableEnvironment, EXPORT_BUCKET: props.exportBucketName };
    const exportBucketArn = stack.formatArn({
      service: "s3",
      region: "",
      account: "",
      resource: props.exportBucketName,
    });
    this.exportObjects = `${exportBucketArn}/${EXPORTS_PREFIX}*`;
    this.handOffObjects = `${exportBucketArn}/${HANDOFFS_PREFIX}*`;
    this.handOffTopicArn = stack.formatArn({ service: "sns", resource: props.handOffTopicName });
  }

  /**
   * Case data for a function: read/write on the state table; on the audit table only PutItem (append) and Query
   * (read a trail / the chain head). Never UpdateItem, DeleteItem or BatchWriteItem on audit — the trail is
   * append-only by IAM, not by convention.
   */
  grantCaseData(fn: DunningFunction, options: CaseDataGrant = {}): void {
    this.grantState(fn, options);
    this.grantAuditAppend(fn);
    this.grantAuditQuery(fn, options.auditIndexes);
  }

  /** Read/write on the state table and its indexes (with the data key that encrypts them); no audit at all. */
  grantState(fn: DunningFunction, options: Pick<CaseDataGrant, "apiKeys"> = {}): void {
    const { stateTable } = this;
    stateTable.grantReadWriteData(fn);
    if (!options.apiKeys) this.denyApiKeys(fn);
    this.acknowledgeDataKey(fn);
    const stateIndexes = STATE_TABLE.indexes.map((index) => index.name).join(", ");
    acknowledge(
      fn.executionRole,
      wildcardResource(this, `${stateTable.tableArn}/index/*`),
      `Query on the state table's own indexes (${stateIndexes}) — the wildcard stops at this one table's indexes.`,
    );
  }

  /**
   * Case data for a function that reads and writes items by their keys only: exactly `actions` on the state table
   * itself (no index, so no Query or Scan), and appending to the audit table (PutItem, no Query). A case write is
   * one TransactWriteItems, authorised as the actions of its parts (Put → PutItem, ConditionCheck →
   * ConditionCheckItem). API-key items stay out of reach.
   */
  grantCaseItems(fn: DunningFunction, actions: readonly StateItemAction[]): void {
    this.grantStateItems(fn, actions);
    this.grantAuditAppend(fn);
  }

  /**
   * Exactly `actions` on the state table's items by key (no index, no Query or Scan) and nothing on the audit
   * table: for a function that keeps state derived from the trail. API-key items stay out of reach.
   */
  grantStateItems(fn: DunningFunction, actions: readonly StateItemAction[]): void {
    fn.addToRolePolicy(
      new PolicyStatement({
        sid: "ReadWriteStateItemsByKey",
        actions: [...actions],
        resources: [this.stateTable.tableArn],
      }),
    );
    this.denyApiKeys(fn);
    this.dataKey.grantEncryptDecrypt(fn);
    this.acknowledgeDataKey(fn);
  }

  /** PutItem on the audit table, with the data key that encrypts it: appending entries, never changing one. */
  private grantAuditAppend(fn: DunningFunction): void {
    fn.addToRolePolicy(
      new PolicyStatement({
        sid: "AppendAuditEntries",
        actions: ["dynamodb:PutItem"],
        resources: [this.auditTable.tableArn],
      }),
    );
    this.dataKey.grantEncryptDecrypt(fn);
  }

  /** API-key hashes share the state table; only the API resolves keys, so no other role may touch them. */
  private denyApiKeys(fn: DunningFunction): void {
    const { stateTable } = this;
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

  /** Query on the audit table (and the given indexes): reading a trail, never writing to it. */
  grantAuditQuery(fn: DunningFunction, indexes: string[] = []): void {
    const { auditTable } = this;
    fn.addToRolePolicy(
      new PolicyStatement({
        sid: "ReadAuditTrail",
        actions: ["dynamodb:Query"],
        resources: [auditTable.tableArn, ...indexes.map((name) => `${auditTable.tableArn}/index/${name}`)],
      }),
    );
    // Entries are encrypted with the data key: reading them needs Decrypt.
    this.dataKey.grantDecrypt(fn);
  }

  /**
   * What a simulation reads and writes: policies and cases by key, the open-case index (named, no other), and its own
   * job items — UpdateItem only where the partition key starts `T#<tenant>#SIMULATION#`. Nothing on the audit table,
   * no PutItem or DeleteItem anywhere; API-key items stay out of reach.
   */
  grantSimulationData(fn: DunningFunction): void {
    const { stateTable } = this;
    const openIndex = STATE_TABLE.indexes.find((index) => index.name === "openByDueDate")?.name;
    const simulationKey = keys.simulation("*", "*").pk;
    const statements = [
      {
        sid: "ReadPoliciesAndCases",
        actions: ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"],
      },
      {
        sid: "PageOpenCases",
        actions: ["dynamodb:Query"],
        resources: [`${stateTable.tableArn}/index/${openIndex}`],
      },
      {
        sid: "RecordSimulationJobs",
        actions: ["dynamodb:UpdateItem"],
        conditions: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": [simulationKey] } },
      },
    ];
    for (const { resources, ...statement } of statements) {
      fn.addToRolePolicy(
        new PolicyStatement({ ...statement, resources: resources ?? [stateTable.tableArn] }),
      );
    }
    this.denyApiKeys(fn);
    this.dataKey.grantEncryptDecrypt(fn);
    this.acknowledgeDataKey(fn);
  }

  /** Publish to the legal hand-off topic (encrypted with the data key: kms:GenerateDataKey*, kms:Decrypt). */
  grantHandOffPublish(fn: DunningFunction): void {
    fn.addToRolePolicy(
      new PolicyStatement({
        sid: "PublishLegalHandOffs",
        actions: ["sns:Publish"],
        resources: [this.handOffTopicArn],
      }),
    );
  }

  /** The wildcards every case-data grant leaves (tracing, the data key's action families), and why each is kept. */
  private acknowledgeDataKey(fn: DunningFunction): void {
    const role = fn.executionRole;
    acknowledge(role, "AwsSolutions-IAM5[Resource::*]", TRACING_IS_UNSCOPED);
    for (const action of ["kms:GenerateDataKey*", "kms:ReEncrypt*"]) {
      acknowledge(
        role,
        `AwsSolutions-IAM5[Action::${action}]`,
        "The action family DynamoDB needs to use the tables' customer-managed key, scoped to that one key.",
      );
    }
  }
}

/**
 * Object-level actions on one key prefix of a bucket, with the reason its wildcard is kept: object keys are chosen
 * per export, hand-off or upload at run time, so each wildcard stops at one prefix of one bucket. The objects are
 * encrypted with the data key, which the function is granted separately (PutObject needs kms:GenerateDataKey,
 * GetObject kms:Decrypt).
 */
export function grantObjects(
  fn: DunningFunction,
  grant: { sid: string; actions: string[]; objects: string; reason: string },
): void {
  fn.addToRolePolicy(
    new PolicyStatement({ sid: grant.sid, actions: grant.actions, resources: [grant.objects] }),
  );
  acknowledge(fn.executionRole, wildcardResource(fn, grant.objects), grant.reason);
}
