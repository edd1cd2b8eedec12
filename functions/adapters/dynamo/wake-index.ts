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

/**
 * The index partition of a case: WAKE#n while an execution waits for the wake (the reconciler's), PARK#n while
 * the case is parked beyond the horizon with no execution (the waker's).
 */
function shardOf(tenantId: string, loanId: string, parked: boolean): string {
  const byte = createHash("sha256").update(`${tenantId}\u0000${loanId}`).digest()[0] as number;
  return `${parked ? PARKED : WAITING}#${byte % WAKE_SHARDS}`;
}

const WAITING = "WAKE";
const PARKED = "PARK";

function wakeKeys(tenantId: string, loanId: string, wakeAt: string, parked: boolean) {
  const index = wakeIndex();
  return {
    [index.partitionKey]: shardOf(tenantId, loanId, parked),
    [index.sortKey]: `${wakeAt}#${tenantId}#${loanId}`,
  };
}

/** The byWake keys a stored case carries: only while a workflow should act on it, at its wake instant. */
export function wakeItemKeys(loanCase: LoanCase): Record<string, string> {
  if (!loanCase.wakeAt || !expectsWorkflow(loanCase)) return {};
  return wakeKeys(loanCase.tenantId, loanCase.loanId, loanCase.wakeAt, loanCase.parked === true);
}

export const WAKE_KEY_ATTRIBUTES = [wakeIndex().partitionKey, wakeIndex().sortKey] as const;

/**
 * The workflow's wake instants in the state table. A task that writes the case writes its wake in the same Put
 * (caseItem derives these keys, see functions/usecases/step-wakes.ts); one that wrote nothing the wake could go
 * with records it here, with one UpdateItem that leaves the case's version alone (it changes nothing a reader
 * decides on), and only for the generation it works for; a case written meanwhile by a full Put keeps the wake
 * it read, at worst an earlier one.
 */
export class DynamoWorkflowWakes implements WorkflowWakes {
  private readonly stateTable: string;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    tables: { stateTable: string },
  ) {
    this.stateTable = tables.stateTable;
  }

  async setWake(ref: WorkflowRef, wakeAt: string | null, options: { parked?: boolean } = {}): Promise<void> {
    const index = wakeIndex();
    const parked = wakeAt !== null && options.parked === true;
    const names = {
      "#generation": "generation",
      "#wakeAt": "wakeAt",
      "#parked": "parked",
      "#pk4": index.partitionKey,
      "#sk4": index.sortKey,
    };
    const keysAt = wakeAt ? wakeKeys(ref.tenantId, ref.loanId, wakeAt, parked) : {};
    const update = wakeAt
      ? {
          UpdateExpression: parked
            ? "SET #wakeAt = :wakeAt, #pk4 = :pk4, #sk4 = :sk4, #parked = :parked"
            : "SET #wakeAt = :wakeAt, #pk4 = :pk4, #sk4 = :sk4 REMOVE #parked",
          ExpressionAttributeValues: {
            ":generation": ref.generation,
            ":wakeAt": wakeAt,
            ":pk4": keysAt[index.partitionKey],
            ":sk4": keysAt[index.sortKey],
            ":active": "active",
            ":onHold": "on_hold",
            ":null": "NULL",
            ...(parked ? { ":parked": true } : {}),
          },
          // The index holds only cases a workflow should act on (see expectsWorkflow).
          ConditionExpression:
            "#generation = :generation AND #status IN (:active, :onHold) AND (attribute_not_exists(#attention) OR attribute_type(#attention, :null))",
          ExpressionAttributeNames: { ...names, "#status": "status", "#attention": "attention" },
        }
      : {
          UpdateExpression: "SET #wakeAt = :none REMOVE #pk4, #sk4, #parked",
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

  /** The earliest wake of any case a workflow waits for (the embedded stack schedules its reconciler by it). */
  earliest(): Promise<string | null> {
    return this.earliestOf(WAITING);
  }

  /** The earliest wake of any parked case (the embedded stack schedules its waker by it). */
  earliestParked(): Promise<string | null> {
    return this.earliestOf(PARKED);
  }

  private async earliestOf(prefix: string): Promise<string | null> {
    const index = wakeIndex();
    const firsts = await Promise.all(
      Array.from({ length: WAKE_SHARDS }, (_, shard) =>
        this.client.send(
          new QueryCommand({
            TableName: this.stateTable,
            IndexName: index.name,
            KeyConditionExpression: "#pk = :pk",
            ExpressionAttributeNames: { "#pk": index.partitionKey, "#sk": index.sortKey },
            ExpressionAttributeValues: { ":pk": `${prefix}#${shard}` },
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

  overdue(before: string): AsyncIterable<{ tenantId: string; loanId: string }> {
    return this.before(WAITING, before);
  }

  parkedBefore(before: string): AsyncIterable<{ tenantId: string; loanId: string }> {
    return this.before(PARKED, before);
  }

  private async *before(prefix: string, before: string): AsyncIterable<{ tenantId: string; loanId: string }> {
    const index = wakeIndex();
    for (let shard = 0; shard < WAKE_SHARDS; shard++) {
      const items = queryAll<{ tenantId: string; loanId: string }>(this.client, {
        TableName: this.stateTable,
        IndexName: index.name,
        KeyConditionExpression: "#pk = :pk AND #sk < :before",
        ExpressionAttributeNames: { "#pk": index.partitionKey, "#sk": index.sortKey },
        ExpressionAttributeValues: { ":pk": `${prefix}#${shard}`, ":before": before },
      });
      for await (const item of items) yield { tenantId: item.tenantId, loanId: item.loanId };
    }
  }
}
