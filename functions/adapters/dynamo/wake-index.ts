import { createHash } from "node:crypto";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { LoanCase } from "../../domain/loan-case.ts";
import { expectsWorkflow } from "../../domain/workflow-health.ts";
import type { WorkflowRef, WorkflowWakes } from "../../ports.ts";
import { isConditionalCheckFailed } from "./errors.ts";
import { queryAll } from "./query-all.ts";
import { keys, STATE_TABLE, WAKE_SHARDS } from "./schema.ts";

const BY_WAKE = STATE_TABLE.indexes.find((index) => index.name === "byWake");

function wakeIndex() {
  if (!BY_WAKE) throw new Error("the state table schema lacks its byWake index");
  return BY_WAKE;
}

function shardOf(tenantId: string, loanId: string): string {
  const byte = createHash("sha256").update(`${tenantId}\u0000${loanId}`).digest()[0] as number;
  return `WAKE#${byte % WAKE_SHARDS}`;
}

function wakeKeys(tenantId: string, loanId: string, wakeAt: string) {
  const index = wakeIndex();
  return {
    [index.partitionKey]: shardOf(tenantId, loanId),
    [index.sortKey]: `${wakeAt}#${tenantId}#${loanId}`,
  };
}

/** The byWake keys a stored case carries: only while a workflow should act on it, at its wake instant. */
export function wakeItemKeys(loanCase: LoanCase): Record<string, string> {
  if (!loanCase.wakeAt || !expectsWorkflow(loanCase)) return {};
  return wakeKeys(loanCase.tenantId, loanCase.loanId, loanCase.wakeAt);
}

export const WAKE_KEY_ATTRIBUTES = [wakeIndex().partitionKey, wakeIndex().sortKey] as const;

/**
 * The workflow's wake instants in the state table. A task records when it next acts with one UpdateItem that
 * leaves the case's version alone (it changes nothing a reader decides on), and only for the generation it
 * works for; a case written meanwhile by a full Put keeps the wake it read, at worst an earlier one.
 */
export class DynamoWorkflowWakes implements WorkflowWakes {
  private readonly stateTable: string;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    tables: { stateTable: string },
  ) {
    this.stateTable = tables.stateTable;
  }

  async setWake(ref: WorkflowRef, wakeAt: string | null): Promise<void> {
    const index = wakeIndex();
    const names = {
      "#generation": "generation",
      "#wakeAt": "wakeAt",
      "#pk4": index.partitionKey,
      "#sk4": index.sortKey,
    };
    const keysAt = wakeAt ? wakeKeys(ref.tenantId, ref.loanId, wakeAt) : {};
    const update = wakeAt
      ? {
          UpdateExpression: "SET #wakeAt = :wakeAt, #pk4 = :pk4, #sk4 = :sk4",
          ExpressionAttributeValues: {
            ":generation": ref.generation,
            ":wakeAt": wakeAt,
            ":pk4": keysAt[index.partitionKey],
            ":sk4": keysAt[index.sortKey],
            ":active": "active",
            ":onHold": "on_hold",
            ":null": "NULL",
          },
          // The index holds only cases a workflow should act on (see expectsWorkflow).
          ConditionExpression:
            "#generation = :generation AND #status IN (:active, :onHold) AND (attribute_not_exists(#attention) OR attribute_type(#attention, :null))",
          ExpressionAttributeNames: { ...names, "#status": "status", "#attention": "attention" },
        }
      : {
          UpdateExpression: "SET #wakeAt = :none REMOVE #pk4, #sk4",
          ExpressionAttributeValues: { ":generation": ref.generation, ":none": null },
          ConditionExpression: "#generation = :generation",
          ExpressionAttributeNames: names,
        };
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.stateTable,
          Key: keys.loanCase(ref.tenantId, ref.loanId),
          ...update,
        }),
      );
    } catch (error) {
      // Another generation took over, or the case stopped taking a workflow: its writer decides the wake.
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  /** The earliest wake of any case a workflow should act on (the embedded stack schedules its reconciler by it). */
  async earliest(): Promise<string | null> {
    const index = wakeIndex();
    const firsts = await Promise.all(
      Array.from({ length: WAKE_SHARDS }, (_, shard) =>
        this.client.send(
          new QueryCommand({
            TableName: this.stateTable,
            IndexName: index.name,
            KeyConditionExpression: "#pk = :pk",
            ExpressionAttributeNames: { "#pk": index.partitionKey, "#sk": index.sortKey },
            ExpressionAttributeValues: { ":pk": `WAKE#${shard}` },
            ProjectionExpression: "#sk",
            Limit: 1,
          }),
        ),
      ),
    );
    const wakes = firsts.flatMap((page) =>
      (page.Items ?? []).map((item) => String(item[index.sortKey]).split("#")[0] as string),
    );
    return wakes.sort()[0] ?? null;
  }

  async *overdue(before: string): AsyncIterable<{ tenantId: string; loanId: string }> {
    const index = wakeIndex();
    for (let shard = 0; shard < WAKE_SHARDS; shard++) {
      const items = queryAll<{ tenantId: string; loanId: string }>(this.client, {
        TableName: this.stateTable,
        IndexName: index.name,
        KeyConditionExpression: "#pk = :pk AND #sk < :before",
        ExpressionAttributeNames: { "#pk": index.partitionKey, "#sk": index.sortKey },
        ExpressionAttributeValues: { ":pk": `WAKE#${shard}`, ":before": before },
      });
      for await (const item of items) yield { tenantId: item.tenantId, loanId: item.loanId };
    }
  }
}
