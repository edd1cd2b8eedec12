import { createHash } from "node:crypto";
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { type ApiKeyStore, type Principal, ROLES, type Role } from "../../ports.ts";
import { isConditionalCheckFailed } from "./errors.ts";
import { keys } from "./schema.ts";

export interface ApiKeyStoreOptions {
  /** How long a resolved key is served from memory; a revocation takes at most this long to bite. */
  cacheTtlMs?: number;
  /** Real time (cache expiry, createdAt), not the business clock. */
  now?: () => number;
}

/** The SHA-256 of a presented key: the only form a key is ever stored or looked up in. */
export function apiKeyHash(presentedKey: string): string {
  return createHash("sha256").update(presentedKey, "utf8").digest("hex");
}

/**
 * API keys stored as their SHA-256 only (a high-entropy key needs no slow hash). Resolved principals are
 * cached per container for a minute so the hot path makes no DynamoDB call; misses are never cached, so a
 * newly issued key works at once and a flood of bad keys cannot fill the cache.
 */
export class DynamoApiKeyStore implements ApiKeyStore {
  private readonly stateTable: string;
  private readonly cacheTtlMs: number;
  private readonly now: () => number;
  private readonly cache = new Map<string, { principal: Principal; until: number }>();

  constructor(
    private readonly client: DynamoDBDocumentClient,
    tables: { stateTable: string },
    options: ApiKeyStoreOptions = {},
  ) {
    this.stateTable = tables.stateTable;
    this.cacheTtlMs = options.cacheTtlMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  async resolve(presentedKey: string): Promise<Principal | null> {
    const hash = apiKeyHash(presentedKey);
    const cached = this.cache.get(hash);
    if (cached && cached.until > this.now()) return cached.principal;
    this.cache.delete(hash);

    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.stateTable, Key: keys.apiKey(hash), ConsistentRead: true }),
    );
    if (!Item || Item.revoked === true) return null;
    const { tenantId, role, keyId } = Item;
    if (typeof tenantId !== "string" || typeof keyId !== "string" || !ROLES.includes(role as Role))
      return null;
    const principal: Principal = { tenantId, role: role as Role, keyId };
    this.cache.set(hash, { principal, until: this.now() + this.cacheTtlMs });
    return principal;
  }

  async put(presentedKey: string, principal: Omit<Principal, "keyId">): Promise<Principal> {
    const hash = apiKeyHash(presentedKey);
    const stored: Principal = { tenantId: principal.tenantId, role: principal.role, keyId: keyIdOf(hash) };
    await this.client.send(
      new PutCommand({
        TableName: this.stateTable,
        Item: { ...keys.apiKey(hash), ...stored, createdAt: new Date(this.now()).toISOString() },
      }),
    );
    this.cache.delete(hash);
    return stored;
  }

  /** Revokes a key; other containers stop honouring it when their cache entry expires. False if unknown. */
  async revoke(presentedKey: string): Promise<boolean> {
    const hash = apiKeyHash(presentedKey);
    this.cache.delete(hash);
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.stateTable,
          Key: keys.apiKey(hash),
          UpdateExpression: "SET revoked = :true, revokedAt = :at",
          ConditionExpression: "attribute_exists(pk)",
          ExpressionAttributeValues: { ":true": true, ":at": new Date(this.now()).toISOString() },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }
}

/** A short public id for a key, safe for logs: a prefix of its hash, not of the key. */
function keyIdOf(hash: string): string {
  return hash.slice(0, 12);
}
