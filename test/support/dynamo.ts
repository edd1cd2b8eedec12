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

/**
 * A pair of new, uniquely named tables in the run's DynamoDB Local (see global-setup.ts). Without the audit
 * stream unless asked for: only the stream's own tests read it, and every streamed write is slower locally.
 */
export async function freshTables(options: { streams?: boolean } = {}): Promise<FreshTables> {
  const endpoint = inject("dynamoEndpoint");
  const client = makeDocumentClient({ endpoint });
  const suffix = randomBytes(6).toString("hex");
  const tables = { stateTable: `state-${suffix}`, auditTable: `audit-${suffix}` };
  await createTables(client, tables, { streams: options.streams ?? false });
  return { client, ...tables, endpoint };
}
