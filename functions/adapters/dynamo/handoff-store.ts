import { type DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from "@aws-sdk/lib-dynamodb";
import type { HandoffRecord, HandoffStatus, HandoffStore } from "../../ports/handoff.ts";
import { cancellationCodes } from "./errors.ts";
import { queryAll } from "./query-all.ts";
import { keys } from "./schema.ts";

const RECORD_FIELDS = [
  "tenantId",
  "loanId",
  "status",
  "reason",
  "handedOffAt",
  "publishedAt",
  "balance",
  "daysPastDue",
  "packageHash",
  "location",
  "acknowledgedAt",
  "acknowledgedBy",
] as const;

/**
 * Hand-off records in the state table: pk `T#<tenant>#HANDOFFS`, sk `<status>#<loanId>`. Listing one status
 * is a Query on the tenant's partition with begins_with — no index; a loan's record is one of two keys
 * (read both); acknowledging deletes the pending item and puts the acknowledged one in one transaction,
 * conditional on the pending item being there, so only one acknowledgement ever wins.
 */
export class DynamoHandoffStore implements HandoffStore {
  private readonly stateTable: string;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    tables: { stateTable: string },
  ) {
    this.stateTable = tables.stateTable;
  }

  async put(record: HandoffRecord): Promise<HandoffRecord> {
    const { tenantId, loanId } = record;
    const other: HandoffStatus = record.status === "pending" ? "acknowledged" : "pending";
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.stateTable,
                Item: item(record),
                ConditionExpression: "attribute_not_exists(pk)",
              },
            },
            {
              ConditionCheck: {
                TableName: this.stateTable,
                Key: keys.handoff(tenantId, other, loanId),
                ConditionExpression: "attribute_not_exists(pk)",
              },
            },
          ],
        }),
      );
      return record;
    } catch (error) {
      const codes = cancellationCodes(error);
      if (!codes?.includes("ConditionalCheckFailed")) throw error;
      const existing = await this.get(tenantId, loanId);
      if (!existing) throw error;
      return existing;
    }
  }

  async get(tenantId: string, loanId: string): Promise<HandoffRecord | null> {
    const [pending, acknowledged] = await Promise.all(
      (["pending", "acknowledged"] as const).map((status) =>
        this.client.send(
          new GetCommand({
            TableName: this.stateTable,
            Key: keys.handoff(tenantId, status, loanId),
            ConsistentRead: true,
          }),
        ),
      ),
    );
    const found = acknowledged?.Item ?? pending?.Item;
    return found ? toRecord(found) : null;
  }

  async list(tenantId: string, status: HandoffStatus): Promise<HandoffRecord[]> {
    const records: HandoffRecord[] = [];
    const items = queryAll(this.client, {
      TableName: this.stateTable,
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :status)",
      ExpressionAttributeValues: { ":pk": keys.handoffPartition(tenantId), ":status": `${status}#` },
    });
    for await (const found of items) records.push(toRecord(found));
    return records;
  }

  async acknowledge(
    tenantId: string,
    loanId: string,
    by: string,
    at: string,
  ): Promise<{ changed: boolean; record: HandoffRecord } | null> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.get(tenantId, loanId);
      if (!current) return null;
      if (current.status === "acknowledged") return { changed: false, record: current };
      const record: HandoffRecord = {
        ...current,
        status: "acknowledged",
        acknowledgedAt: at,
        acknowledgedBy: by,
      };
      try {
        await this.client.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Delete: {
                  TableName: this.stateTable,
                  Key: keys.handoff(tenantId, "pending", loanId),
                  ConditionExpression: "attribute_exists(pk)",
                },
              },
              {
                Put: {
                  TableName: this.stateTable,
                  Item: item(record),
                  ConditionExpression: "attribute_not_exists(pk)",
                },
              },
            ],
          }),
        );
        return { changed: true, record };
      } catch (error) {
        // Someone else acknowledged (or was acknowledging) at the same time: read again.
        if (!cancellationCodes(error) || attempt >= 5) throw error;
      }
    }
  }
}

function item(record: HandoffRecord): Record<string, unknown> {
  return { ...record, ...keys.handoff(record.tenantId, record.status, record.loanId) };
}

function toRecord(found: Record<string, unknown>): HandoffRecord {
  const record: Record<string, unknown> = {};
  for (const name of RECORD_FIELDS) record[name] = found[name] ?? null;
  return record as unknown as HandoffRecord;
}
