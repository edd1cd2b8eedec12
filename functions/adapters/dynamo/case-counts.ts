import { type DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from "@aws-sdk/lib-dynamodb";
import { CASE_STATUSES, type CaseStatus } from "../../domain/loan-case.ts";
import type { CaseCounts } from "../../ports/reports.ts";
import { STATE_TABLE } from "./schema.ts";

const BY_STATUS = STATE_TABLE.indexes.find((index) => index.name === "byStatus");

/**
 * How many cases the tenant has in each status, and how many carry the attention flag: one Select COUNT query per
 * status on the byStatus index (keys and the attention flag only, so no case is read). The filter on the flag
 * makes DynamoDB tell both numbers from one read: ScannedCount (every case of the status) and Count (the flagged
 * ones). The queries run side by side; each follows its pages.
 */
export async function countCases(
  client: Pick<DynamoDBDocumentClient, "send">,
  stateTable: string,
  tenantId: string,
): Promise<CaseCounts> {
  if (!BY_STATUS) throw new Error("the state table schema lacks its byStatus index");
  const index = BY_STATUS;
  const counted = await Promise.all(
    CASE_STATUSES.map((status) =>
      countAll(client, {
        TableName: stateTable,
        IndexName: index.name,
        KeyConditionExpression: "#pk = :pk",
        // A flagged case holds an attention map; a cleared one holds null or nothing (as the list filters).
        FilterExpression: "attribute_type(#attention, :map)",
        ExpressionAttributeNames: { "#pk": index.partitionKey, "#attention": "attention" },
        ExpressionAttributeValues: { ":pk": `${tenantId}#${status}`, ":map": "M" },
        Select: "COUNT",
      }),
    ),
  );
  const byStatus = Object.fromEntries(
    CASE_STATUSES.map((status, i) => [status, counted[i]?.scanned ?? 0]),
  ) as Record<CaseStatus, number>;
  return { byStatus, attention: counted.reduce((sum, count) => sum + count.matched, 0) };
}

/** A COUNT query over all its pages: the items evaluated (before the filter) and those that matched it. */
async function countAll(
  client: Pick<DynamoDBDocumentClient, "send">,
  input: QueryCommandInput,
): Promise<{ scanned: number; matched: number }> {
  let scanned = 0;
  let matched = 0;
  let start = input.ExclusiveStartKey;
  do {
    const page = await client.send(
      new QueryCommand({ ...input, ...(start ? { ExclusiveStartKey: start } : {}) }),
    );
    scanned += page.ScannedCount ?? 0;
    matched += page.Count ?? 0;
    start = page.LastEvaluatedKey;
  } while (start);
  return { scanned, matched };
}
