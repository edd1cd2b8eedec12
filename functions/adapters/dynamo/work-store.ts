import { type DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { WorkItem } from "../../domain/work/work-items.ts";
import type { Placement, PlacementStore, WorkItemStore } from "../../ports/work.ts";
import { isConditionalCheckFailed } from "./errors.ts";
import { queryAll } from "./query-all.ts";
import { keys } from "./schema.ts";
import type { TableNames } from "./tables.ts";

/** A work item as stored: beside the tenant's other items, in the state table. */
export function workItemRecord(item: WorkItem): Record<string, unknown> {
  return { ...keys.workItem(item.tenantId, item.id), ...item };
}

const fromRecord = (record: Record<string, unknown>): WorkItem => {
  const { pk: _pk, sk: _sk, ...item } = record;
  return item as unknown as WorkItem;
};

/**
 * The tenant's work items in one partition of the state table: the work list reads it whole (a team works a few
 * thousand open items at most; a tenant with more needs the list sharded, see the README).
 */
export class DynamoWorkItemStore implements WorkItemStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tables: Pick<TableNames, "stateTable">,
  ) {}

  async open(tenantId: string): Promise<WorkItem[]> {
    const { pk } = keys.workItem(tenantId, "");
    const items: WorkItem[] = [];
    const records = queryAll<Record<string, unknown>>(this.client, {
      TableName: this.tables.stateTable,
      KeyConditionExpression: "pk = :pk",
      FilterExpression: "#status = :open",
      ExpressionAttributeNames: { "#status": "status" },
      ExpressionAttributeValues: { ":pk": pk, ":open": "open" },
    });
    for await (const record of records) items.push(fromRecord(record));
    return items;
  }

  async get(tenantId: string, id: string): Promise<WorkItem | null> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.tables.stateTable,
        Key: keys.workItem(tenantId, id),
        ConsistentRead: true,
      }),
    );
    return Item ? fromRecord(Item) : null;
  }

  async replace(next: WorkItem, expectedVersion: number): Promise<boolean> {
    return this.put(next, {
      ConditionExpression: "#version = :expected",
      ExpressionAttributeNames: { "#version": "version" },
      ExpressionAttributeValues: { ":expected": expectedVersion },
    });
  }

  async create(item: WorkItem): Promise<boolean> {
    return this.put(item, { ConditionExpression: "attribute_not_exists(pk)" });
  }

  private async put(item: WorkItem, condition: Record<string, unknown>): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({ TableName: this.tables.stateTable, Item: workItemRecord(item), ...condition }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }
}

/** Placements, one item each beside the tenant's other items. */
export class DynamoPlacementStore implements PlacementStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tables: Pick<TableNames, "stateTable">,
  ) {}

  async get(tenantId: string, id: string): Promise<Placement | null> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tables.stateTable, Key: keys.placement(tenantId, id) }),
    );
    return Item ? (fromRecord(Item) as unknown as Placement) : null;
  }

  async put(placement: Placement): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tables.stateTable,
        Item: { ...keys.placement(placement.tenantId, placement.id), ...placement },
      }),
    );
  }
}
