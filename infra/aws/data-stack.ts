import { RemovalPolicy, Stack, type StackProps } from "aws-cdk-lib";
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from "aws-cdk-lib/aws-dynamodb";
import { AnyPrincipal, Effect, PolicyDocument, PolicyStatement } from "aws-cdk-lib/aws-iam";
import { Key } from "aws-cdk-lib/aws-kms";
import type { Construct } from "constructs";
import { AUDIT_TABLE, STATE_TABLE, type TableSchema } from "../../functions/adapters/dynamo/schema.ts";

/** Item-level writes that would change or remove an existing audit entry. */
export const AUDIT_MUTATING_ACTIONS = [
  "dynamodb:UpdateItem",
  "dynamodb:DeleteItem",
  "dynamodb:BatchWriteItem",
  "dynamodb:PartiQLUpdate",
  "dynamodb:PartiQLDelete",
];

export interface DunningDataStackProps extends StackProps {
  /** Tables are named `<prefix>-state` and `<prefix>-audit`. */
  tableNamePrefix: string;
}

/**
 * The stateful half: the two tables and the key that encrypts them. Everything here is retained on stack
 * deletion and protected against accidental deletion, so the stateless stack can be torn down and redeployed freely.
 * The tables have fixed names: a change that would replace a table fails instead of silently creating a new one,
 * and the service stack refers to them by name.
 */
export class DunningDataStack extends Stack {
  readonly dataKey: Key;
  readonly stateTable: Table;
  readonly auditTable: Table;
  readonly stateTableName: string;
  readonly auditTableName: string;

  constructor(scope: Construct, id: string, props: DunningDataStackProps) {
    super(scope, id, props);
    this.stateTableName = `${props.tableNamePrefix}-state`;
    this.auditTableName = `${props.tableNamePrefix}-audit`;

    this.dataKey = new Key(this, "DataKey", {
      description: "Encrypts the loan dunning state and audit tables",
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.stateTable = tableFromSchema(this, "StateTable", this.stateTableName, STATE_TABLE, this.dataKey);

    // The audit trail is append-only: on top of granting roles only PutItem, the table's own policy denies every
    // principal the actions that rewrite or remove an entry. `*` is the table itself (a policy cannot name the
    // ARN of the table it is attached to without a fixed table name).
    this.auditTable = tableFromSchema(this, "AuditTable", this.auditTableName, AUDIT_TABLE, this.dataKey, {
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
  }
}

function tableFromSchema(
  scope: Construct,
  id: string,
  tableName: string,
  schema: TableSchema,
  key: Key,
  extra: { resourcePolicy?: PolicyDocument } = {},
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
