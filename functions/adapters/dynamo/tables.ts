import {
  type AttributeDefinition,
  CreateTableCommand,
  DescribeTableCommand,
  type Projection,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { AUDIT_TABLE, type IndexSchema, STATE_TABLE, type TableSchema } from "./schema.ts";

export interface TableNames {
  stateTable: string;
  auditTable: string;
}

export interface CreateTablesOptions {
  /**
   * Whether tables get the streams their schema names (the audit trail's, read by the webhook announcer). On by
   * default; tests of the repositories alone turn it off, since DynamoDB Local writes every streamed item slower.
   */
  streams?: boolean;
}

/**
 * Creates both tables from the shared schema (on AWS the CDK data stack does this instead). Idempotent: a table
 * that already exists is left as it is. Resolves when both tables and their indexes are ACTIVE.
 */
export async function createTables(
  client: DynamoDBDocumentClient,
  tables: TableNames,
  options: CreateTablesOptions = {},
): Promise<void> {
  const schemaOf = (schema: TableSchema): TableSchema =>
    options.streams === false ? { ...schema, stream: undefined } : schema;
  await Promise.all([
    createTable(client, tables.stateTable, schemaOf(STATE_TABLE)),
    createTable(client, tables.auditTable, schemaOf(AUDIT_TABLE)),
  ]);
}

async function createTable(
  client: DynamoDBDocumentClient,
  tableName: string,
  schema: TableSchema,
): Promise<void> {
  const attributes = new Map<string, AttributeDefinition>();
  const define = (name: string, type: "S" | "N") =>
    attributes.set(name, { AttributeName: name, AttributeType: type });
  define(schema.partitionKey.name, schema.partitionKey.type);
  define(schema.sortKey.name, schema.sortKey.type);
  for (const index of schema.indexes) {
    define(index.partitionKey, "S");
    define(index.sortKey, "S");
  }
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [...attributes.values()],
        KeySchema: [
          { AttributeName: schema.partitionKey.name, KeyType: "HASH" },
          { AttributeName: schema.sortKey.name, KeyType: "RANGE" },
        ],
        ...(schema.indexes.length > 0
          ? {
              GlobalSecondaryIndexes: schema.indexes.map((index) => ({
                IndexName: index.name,
                KeySchema: [
                  { AttributeName: index.partitionKey, KeyType: "HASH" as const },
                  { AttributeName: index.sortKey, KeyType: "RANGE" as const },
                ],
                Projection: projectionOf(index),
              })),
            }
          : {}),
        ...(schema.stream
          ? { StreamSpecification: { StreamEnabled: true, StreamViewType: schema.stream } }
          : {}),
      }),
    );
  } catch (error) {
    if ((error as Error).name !== "ResourceInUseException") throw error;
    // Kept from an earlier version (a data folder): add the indexes and the stream it does not have yet.
    await addMissingIndexes(client, tableName, schema);
    return enableStream(client, tableName, schema);
  }
  await waitUntilActive(client, tableName);
  if (schema.timeToLiveAttribute) {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: schema.timeToLiveAttribute, Enabled: true },
      }),
    );
  }
}

async function addMissingIndexes(client: DynamoDBDocumentClient, tableName: string, schema: TableSchema) {
  await waitUntilActive(client, tableName);
  const { Table: table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
  const present = new Set((table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName));
  // One index per UpdateTable call, as DynamoDB requires.
  for (const index of schema.indexes.filter((i) => !present.has(i.name))) {
    await client.send(
      new UpdateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [
          { AttributeName: index.partitionKey, AttributeType: "S" },
          { AttributeName: index.sortKey, AttributeType: "S" },
        ],
        GlobalSecondaryIndexUpdates: [
          {
            Create: {
              IndexName: index.name,
              KeySchema: [
                { AttributeName: index.partitionKey, KeyType: "HASH" },
                { AttributeName: index.sortKey, KeyType: "RANGE" },
              ],
              Projection: projectionOf(index),
            },
          },
        ],
      }),
    );
    await waitUntilActive(client, tableName);
  }
}

async function enableStream(client: DynamoDBDocumentClient, tableName: string, schema: TableSchema) {
  if (!schema.stream) return;
  const hasStream = async () => {
    const { Table: table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    return table?.StreamSpecification?.StreamEnabled === true;
  };
  if (await hasStream()) return;
  try {
    await client.send(
      new UpdateTableCommand({
        TableName: tableName,
        StreamSpecification: { StreamEnabled: true, StreamViewType: schema.stream },
      }),
    );
  } catch (error) {
    // Another process starting on the same tables may have enabled it first.
    if (!(await hasStream())) throw error;
  }
  await waitUntilActive(client, tableName);
}

function projectionOf(index: IndexSchema): Projection {
  const projection = index.projection ?? { type: "ALL" };
  return projection.type === "ALL"
    ? { ProjectionType: "ALL" }
    : { ProjectionType: "INCLUDE", NonKeyAttributes: projection.attributes };
}

async function waitUntilActive(client: DynamoDBDocumentClient, tableName: string, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { Table: table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const indexesActive = (table?.GlobalSecondaryIndexes ?? []).every(
      (index) => index.IndexStatus === "ACTIVE",
    );
    if (table?.TableStatus === "ACTIVE" && indexesActive) return;
    if (Date.now() > deadline) throw new Error(`table ${tableName} is not ACTIVE after ${timeoutMs} ms`);
    await new Promise((done) => setTimeout(done, 250));
  }
}
