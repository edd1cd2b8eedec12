import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
} from "@aws-sdk/lib-dynamodb";
import type { AuditEntry } from "../../domain/audit-chain.ts";
import { ConcurrentUpdateError } from "../../domain/errors.ts";
import { toInstant } from "../../domain/time.ts";
import { parseDeliveryId } from "../../domain/webhooks/ids.ts";
import type {
  AnnouncedState,
  DeliveryLine,
  WebhookDelivery,
  WebhookEndpoint,
} from "../../domain/webhooks/types.ts";
import type { WebhookStore } from "../../ports/webhooks.ts";
import type { Clock } from "../../ports.ts";
import { toAuditEntry } from "./case-items.ts";
import { cancellationCodes, isConditionalCheckFailed } from "./errors.ts";
import { queryAll } from "./query-all.ts";
import { keys } from "./schema.ts";
import type { TableNames } from "./tables.ts";
import { type TenantAuditLog, TenantWriteConflictError, type TransactItem } from "./tenant-audit.ts";

/**
 * Webhook items in the state table, every key led by the tenant:
 * - endpoints: `T#<tenant>#WEBHOOKS` / `EP#<id>`;
 * - how far a loan's trail was announced: beside the case, `T#<tenant>#LOAN#<loan>` / `ANNOUNCED`;
 * - deliveries: one partition per endpoint, `T#<tenant>#WH#<endpoint>` / `D#<loan>#<sequence>`, so a loan's line
 *   is a range of it (in sequence order) and the endpoint's list is the whole partition.
 */
const endpointKey = (tenantId: string, id: string) => ({ pk: `T#${tenantId}#WEBHOOKS`, sk: `EP#${id}` });
const announcedKey = (tenantId: string, loanId: string) => ({
  pk: keys.loanCase(tenantId, loanId).pk,
  sk: "ANNOUNCED",
});
const deliveryPartition = (tenantId: string, endpointId: string) => `T#${tenantId}#WH#${endpointId}`;
const linePrefix = (loanId: string) => `D#${loanId}#`;
const deliverySk = (loanId: string, sequence: number) =>
  `${linePrefix(loanId)}${String(sequence).padStart(10, "0")}`;

const ADDRESS = ["pk", "sk"] as const;

function strip<T>(item: Record<string, unknown>): T {
  const copy = { ...item };
  for (const name of ADDRESS) delete copy[name];
  return copy as T;
}

export class DynamoWebhookStore implements WebhookStore {
  private readonly stateTable: string;
  private readonly auditTable: string;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    tables: TableNames,
    private readonly audit: TenantAuditLog,
    private readonly clock: Clock,
  ) {
    this.stateTable = tables.stateTable;
    this.auditTable = tables.auditTable;
  }

  private endpointPut(endpoint: WebhookEndpoint, condition: Record<string, unknown>): TransactItem {
    return {
      Put: {
        TableName: this.stateTable,
        Item: { ...endpointKey(endpoint.tenantId, endpoint.id), ...endpoint },
        ...condition,
      },
    };
  }

  private versionCondition(version: number) {
    return {
      ConditionExpression: "#version = :version",
      ExpressionAttributeNames: { "#version": "version" },
      ExpressionAttributeValues: { ":version": version },
    };
  }

  /** A change to an endpoint and its tenant audit entry land together or not at all. */
  private async recordEndpointChange(
    tenantId: string,
    event: { type: string; actor: string; data: Record<string, unknown> },
    write: TransactItem,
  ): Promise<void> {
    try {
      await this.audit.record(tenantId, [event], [write], toInstant(this.clock.now()));
    } catch (error) {
      if (error instanceof TenantWriteConflictError) {
        throw new ConcurrentUpdateError("the webhook endpoint changed meanwhile; read it again");
      }
      throw error;
    }
  }

  async createEndpoint(endpoint: WebhookEndpoint, actor: string): Promise<void> {
    await this.recordEndpointChange(
      endpoint.tenantId,
      { type: "webhook_created", actor, data: endpointFacts(endpoint) },
      this.endpointPut(endpoint, { ConditionExpression: "attribute_not_exists(pk)" }),
    );
  }

  async getEndpoint(tenantId: string, endpointId: string): Promise<WebhookEndpoint | null> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.stateTable,
        Key: endpointKey(tenantId, endpointId),
        ConsistentRead: true,
      }),
    );
    return Item ? strip<WebhookEndpoint>(Item) : null;
  }

  async listEndpoints(tenantId: string): Promise<WebhookEndpoint[]> {
    const endpoints: WebhookEndpoint[] = [];
    const items = queryAll(this.client, {
      TableName: this.stateTable,
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :ep)",
      ExpressionAttributeValues: { ":pk": endpointKey(tenantId, "").pk, ":ep": "EP#" },
      ConsistentRead: true,
    });
    for await (const item of items) endpoints.push(strip<WebhookEndpoint>(item));
    return endpoints.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  async updateEndpoint(
    previous: WebhookEndpoint,
    next: WebhookEndpoint,
    audit?: { type: string; actor: string; data: Record<string, unknown> },
  ): Promise<WebhookEndpoint> {
    const stored = { ...next, version: previous.version + 1 };
    const put = this.endpointPut(stored, this.versionCondition(previous.version));
    if (audit) {
      await this.recordEndpointChange(previous.tenantId, audit, put);
      return stored;
    }
    try {
      await this.client.send(new PutCommand(put.Put as never));
    } catch (error) {
      if (isConditionalCheckFailed(error)) {
        throw new ConcurrentUpdateError("the webhook endpoint changed meanwhile; read it again");
      }
      throw error;
    }
    return stored;
  }

  async deleteEndpoint(endpoint: WebhookEndpoint, actor: string): Promise<void> {
    await this.recordEndpointChange(
      endpoint.tenantId,
      { type: "webhook_deleted", actor, data: { id: endpoint.id, url: endpoint.url } },
      {
        Delete: {
          TableName: this.stateTable,
          Key: endpointKey(endpoint.tenantId, endpoint.id),
          ...this.versionCondition(endpoint.version),
        },
      },
    );
  }

  async announced(tenantId: string, loanId: string): Promise<AnnouncedState | null> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.stateTable,
        Key: announcedKey(tenantId, loanId),
        ConsistentRead: true,
      }),
    );
    return Item ? strip<AnnouncedState>(Item) : null;
  }

  async entriesAfter(
    tenantId: string,
    loanId: string,
    afterSeq: number,
    limit: number,
  ): Promise<AuditEntry[]> {
    const entries: AuditEntry[] = [];
    const items = queryAll(
      this.client,
      {
        TableName: this.auditTable,
        KeyConditionExpression: "pk = :pk AND seq > :after",
        ExpressionAttributeValues: { ":pk": keys.auditPartition(tenantId, loanId), ":after": afterSeq },
        ConsistentRead: true,
      },
      { limit },
    );
    for await (const item of items) entries.push(toAuditEntry(item));
    return entries;
  }

  async recordAnnounced(
    tenantId: string,
    loanId: string,
    previous: AnnouncedState | null,
    next: AnnouncedState,
    deliveries: WebhookDelivery[],
  ): Promise<boolean> {
    const cursor: TransactItem = {
      Put: {
        TableName: this.stateTable,
        Item: { ...announcedKey(tenantId, loanId), ...next },
        ...(previous
          ? {
              ConditionExpression: "auditSeq = :seq",
              ExpressionAttributeValues: { ":seq": previous.auditSeq },
            }
          : { ConditionExpression: "attribute_not_exists(pk)" }),
      },
    };
    const puts: TransactItem[] = deliveries.map((delivery) => ({
      Put: {
        TableName: this.stateTable,
        Item: { ...this.deliveryKey(delivery), ...delivery },
        ConditionExpression: "attribute_not_exists(pk)",
      },
    }));
    try {
      await this.client.send(new TransactWriteCommand({ TransactItems: [cursor, ...puts] }));
      return true;
    } catch (error) {
      const codes = cancellationCodes(error);
      if (codes?.includes("ConditionalCheckFailed") || codes?.includes("TransactionConflict")) return false;
      throw error;
    }
  }

  private deliveryKey(delivery: Pick<WebhookDelivery, "tenantId" | "endpointId" | "loanId" | "sequence">) {
    return {
      pk: deliveryPartition(delivery.tenantId, delivery.endpointId),
      sk: deliverySk(delivery.loanId, delivery.sequence),
    };
  }

  async pendingDeliveries(line: DeliveryLine, limit: number): Promise<WebhookDelivery[]> {
    const found: WebhookDelivery[] = [];
    const items = queryAll(
      this.client,
      {
        TableName: this.stateTable,
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :line)",
        FilterExpression: "#status = :pending",
        ExpressionAttributeNames: { "#status": "status" },
        ExpressionAttributeValues: {
          ":pk": deliveryPartition(line.tenantId, line.endpointId),
          ":line": linePrefix(line.loanId),
          ":pending": "pending",
        },
        ConsistentRead: true,
      },
      { limit },
    );
    for await (const item of items) found.push(strip<WebhookDelivery>(item));
    return found;
  }

  async getDelivery(
    tenantId: string,
    endpointId: string,
    deliveryId: string,
  ): Promise<WebhookDelivery | null> {
    const located = parseDeliveryId(deliveryId);
    if (!located) return null;
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.stateTable,
        Key: this.deliveryKey({ tenantId, endpointId, ...located }),
        ConsistentRead: true,
      }),
    );
    return Item ? strip<WebhookDelivery>(Item) : null;
  }

  async listDeliveries(
    tenantId: string,
    endpointId: string,
    query: { loanId?: string; limit: number; cursor?: string },
  ): Promise<{ items: WebhookDelivery[]; nextCursor: string | null }> {
    const after = query.cursor ? parseDeliveryId(query.cursor) : null;
    const items: WebhookDelivery[] = [];
    const found = queryAll(
      this.client,
      {
        TableName: this.stateTable,
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues: {
          ":pk": deliveryPartition(tenantId, endpointId),
          ":prefix": query.loanId ? linePrefix(query.loanId) : "D#",
        },
        ...(after ? { ExclusiveStartKey: this.deliveryKey({ tenantId, endpointId, ...after }) } : {}),
      },
      { limit: query.limit + 1 },
    );
    for await (const item of found) items.push(strip<WebhookDelivery>(item));
    const page = items.slice(0, query.limit);
    const last = page.at(-1);
    return { items: page, nextCursor: items.length > query.limit && last ? last.id : null };
  }

  async updateDelivery(previous: WebhookDelivery, next: WebhookDelivery): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.stateTable,
          Item: { ...this.deliveryKey(previous), ...next, version: previous.version + 1 },
          ...this.versionCondition(previous.version),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /** Removes what is left of a deleted endpoint's deliveries (they will never be sent). */
  async dropDeliveries(tenantId: string, endpointId: string): Promise<number> {
    let dropped = 0;
    const items = queryAll(this.client, {
      TableName: this.stateTable,
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": deliveryPartition(tenantId, endpointId) },
      ProjectionExpression: "pk, sk",
    });
    for await (const item of items) {
      await this.client.send(
        new DeleteCommand({ TableName: this.stateTable, Key: { pk: item.pk, sk: item.sk } }),
      );
      dropped++;
    }
    return dropped;
  }
}

/** What the tenant trail records of an endpoint: where it points and what it hears, never its secret. */
function endpointFacts(endpoint: WebhookEndpoint): Record<string, unknown> {
  return {
    id: endpoint.id,
    url: endpoint.url,
    events: endpoint.events,
    ...(endpoint.description !== undefined ? { description: endpoint.description } : {}),
  };
}
