import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { DynamoDBRecord } from "aws-lambda";
import type { TrailEntry } from "../../domain/trail-projection.ts";
import { keys } from "./schema.ts";

/**
 * The audit entries a batch of the audit table's stream records carries, in the batch's order. Entries are only
 * ever inserted, so only INSERT records count. The tenant is the entry's time-index partition (`gsi1pk`), the
 * loan the rest of its partition key after `T#<tenant>#LOAN#`; a record without them is no audit entry.
 */
export function trailEntriesOf(records: readonly DynamoDBRecord[]): TrailEntry[] {
  const entries: TrailEntry[] = [];
  for (const record of records) {
    const image = record.dynamodb?.NewImage;
    if (record.eventName !== "INSERT" || !image) continue;
    const item = unmarshall(image as Record<string, AttributeValue>);
    const tenantId = item.gsi1pk;
    if (typeof tenantId !== "string" || typeof item.pk !== "string") continue;
    const prefix = keys.auditPartition(tenantId, "");
    if (!item.pk.startsWith(prefix)) continue;
    entries.push({
      tenantId,
      loanId: item.pk.slice(prefix.length),
      seq: Number(item.seq),
      at: String(item.at),
      type: String(item.type),
      data: (item.data ?? {}) as Record<string, unknown>,
    });
  }
  return entries;
}
