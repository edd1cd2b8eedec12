import { randomBytes } from "node:crypto";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { inject } from "vitest";
import { makeDocumentClient } from "../../functions/adapters/dynamo/client.ts";
import { createTables } from "../../functions/adapters/dynamo/tables.ts";

export interface FreshTables {
  client: DynamoDBDocumentClient;
  stateTable: string;
  auditTable: string;
  endpoint: string;
}

/** A pair of new, uniquely named tables in the run's DynamoDB Local (see global-setup.ts). */
export async function freshTables(): Promise<FreshTables> {
  const endpoint = inject("dynamoEndpoint");
  const client = makeDocumentClient({ endpoint });
  const suffix = randomBytes(6).toString("hex");
  const tables = { stateTable: `state-${suffix}`, auditTable: `audit-${suffix}` };
  await createTables(client, tables);
  return { client, ...tables, endpoint };
}
