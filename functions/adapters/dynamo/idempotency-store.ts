/*
 * Why this store, and not Powertools' makeIdempotent with its DynamoDBPersistenceLayer.
 *
 * The API's Idempotency-Key is a client's promise about one tenant's POST; this store (with withIdempotency in
 * api/app.ts) keeps that promise in ways makeIdempotent does not:
 *
 * - Records live in the tenant's own partition of the state table (`T#<tenant>#IDEM#<sha256 of the key>`), beside
 *   the tenant's other data and under the table's TTL. DynamoDBPersistenceLayer wants a table of its own keyed
 *   `id`, or, on a pk/sk table like this one, puts every record under one static partition key
 *   (`idempotency#<function name>`): every tenant's POSTs in one hot partition.
 * - The key is the client's header, scoped by the tenant the API key resolved to; the body is checked separately,
 *   so the same key with another body is a 422 IDEMPOTENCY_KEY_REUSED, not a new request. makeIdempotent derives
 *   its key from the payload it is given (a JMESPath into the event); the authenticated tenant is not in the
 *   event, so it would need a wrapped inner function called with { tenant, key } and payload validation on the
 *   body's fingerprint.
 * - What is kept is decided per answer: final answers, refusals included (a refused request replays as refused),
 *   are kept; "not now" answers (429, 5xx, 409 CONCURRENT_UPDATE or IDEMPOTENCY_IN_PROGRESS) and unexpected errors
 *   free the key so the same request can be retried. makeIdempotent keeps whatever the wrapped function returns
 *   and frees the key only when it throws, so transient responses would have to be thrown and caught again.
 *
 * Replays marked `idempotent-replayed` (responseHook), the in-progress lock and expiry it has too; those alone
 * would not justify a store of our own. Replacing this one would mean a new table or a hot partition, plus a
 * wrapper re-making the decisions above, and @aws-lambda-powertools/idempotency as a new dependency.
 */
import { createHash } from "node:crypto";
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import type { IdempotencyRecord, IdempotencyStore } from "../../ports.ts";
import { isConditionalCheckFailed } from "./errors.ts";
import { keys } from "./schema.ts";

export interface IdempotencyStoreOptions {
  /** How long an in-progress request holds its key before another request may take it over. */
  lockMs?: number;
  /** How long a record is kept (DynamoDB TTL; also honoured here, as TTL deletion lags). */
  retentionMs?: number;
  /** Real time: locks and expiry are about I/O, not the business clock. */
  now?: () => number;
}

/**
 * Idempotency records in the state table, keyed by tenant and the SHA-256 of the client's key. A record is
 * taken with a conditional put; a stale in-progress lock (its holder crashed) or an expired record may be
 * taken over.
 */
export class DynamoIdempotencyStore implements IdempotencyStore {
  private readonly stateTable: string;
  private readonly lockMs: number;
  private readonly retentionMs: number;
  private readonly now: () => number;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    tables: { stateTable: string },
    options: IdempotencyStoreOptions = {},
  ) {
    this.stateTable = tables.stateTable;
    this.lockMs = options.lockMs ?? 60_000;
    this.retentionMs = options.retentionMs ?? 24 * 60 * 60 * 1000;
    this.now = options.now ?? Date.now;
  }

  async begin(
    tenantId: string,
    key: string,
    fingerprint: string,
  ): Promise<{ acquired: true } | { acquired: false; record: IdempotencyRecord }> {
    const itemKey = this.key(tenantId, key);
    // A record can vanish between a failed put and the read (released, expired); then try once more.
    for (let attempt = 1; ; attempt++) {
      const now = this.now();
      try {
        await this.client.send(
          new PutCommand({
            TableName: this.stateTable,
            Item: {
              ...itemKey,
              fingerprint,
              state: "in_progress",
              lockedUntil: now + this.lockMs,
              expiresAt: this.expiresAt(now),
            },
            ConditionExpression:
              "attribute_not_exists(pk) OR expiresAt < :nowSeconds OR (#state = :inProgress AND lockedUntil < :now)",
            ExpressionAttributeNames: { "#state": "state" },
            ExpressionAttributeValues: {
              ":now": now,
              ":nowSeconds": Math.floor(now / 1000),
              ":inProgress": "in_progress",
            },
          }),
        );
        return { acquired: true };
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
      }
      const record = await this.read(itemKey);
      if (record) return { acquired: false, record };
      if (attempt >= 3) throw new Error("idempotency record kept changing while it was being taken");
    }
  }

  async complete(
    tenantId: string,
    key: string,
    response: { statusCode: number; body: string },
  ): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.stateTable,
          Key: this.key(tenantId, key),
          UpdateExpression: "SET #state = :completed, #response = :response, expiresAt = :expiresAt",
          ConditionExpression: "attribute_exists(pk)",
          ExpressionAttributeNames: { "#state": "state", "#response": "response" },
          ExpressionAttributeValues: {
            ":completed": "completed",
            ":response": { statusCode: response.statusCode, body: response.body },
            ":expiresAt": this.expiresAt(this.now()),
          },
        }),
      );
    } catch (error) {
      // The record was released or expired meanwhile: there is nothing left to complete.
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  async release(tenantId: string, key: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.stateTable,
          Key: this.key(tenantId, key),
          ConditionExpression: "#state = :inProgress",
          ExpressionAttributeNames: { "#state": "state" },
          ExpressionAttributeValues: { ":inProgress": "in_progress" },
        }),
      );
    } catch (error) {
      // Gone or completed: a completed record is kept, so a retry replays it.
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  private key(tenantId: string, key: string) {
    return keys.idempotency(tenantId, createHash("sha256").update(key, "utf8").digest("hex"));
  }

  private expiresAt(now: number): number {
    return Math.floor((now + this.retentionMs) / 1000);
  }

  private async read(itemKey: { pk: string; sk: string }): Promise<IdempotencyRecord | null> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.stateTable, Key: itemKey, ConsistentRead: true }),
    );
    if (!Item) return null;
    if (typeof Item.expiresAt === "number" && Item.expiresAt < Math.floor(this.now() / 1000)) return null;
    return {
      fingerprint: String(Item.fingerprint),
      state: Item.state === "completed" ? "completed" : "in_progress",
      lockedUntil: typeof Item.lockedUntil === "number" ? Item.lockedUntil : 0,
      ...(Item.response ? { response: Item.response as { statusCode: number; body: string } } : {}),
    };
  }
}
