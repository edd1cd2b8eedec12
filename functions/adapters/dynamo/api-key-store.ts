import { createHash, randomBytes } from "node:crypto";
import { type DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from "@aws-sdk/lib-dynamodb";
import type { AuditEvent } from "../../domain/audit-chain.ts";
import { toInstant } from "../../domain/time.ts";
import { type ApiKeyStore, type Clock, type Principal, ROLES, type Role } from "../../ports.ts";
import { cancellationCodes } from "./errors.ts";
import { queryAll } from "./query-all.ts";
import { keys } from "./schema.ts";
import type { TransactItem } from "./tenant-audit.ts";

export interface ApiKeyStoreOptions {
  /** How long a resolved key is served from memory; a revocation takes at most this long to bite. */
  cacheTtlMs?: number;
  /** Real time (cache expiry, createdAt), not the business clock. */
  now?: () => number;
}

/** What `list` and `byId` show of a key: never the key, nor its hash. */
export interface ApiKeyRecord {
  keyId: string;
  tenantId: string;
  role: Role;
  agencyId?: string;
  createdAt: string;
  revoked: boolean;
  revokedAt?: string;
  /** The key this one replaced (rotate), and the key that replaced this one. */
  replaces?: string;
  replacedBy?: string;
}

/**
 * Where key changes are recorded: a tenant-level audit chain written in the same transaction (TenantAuditLog),
 * each entry stamped `at` (whole seconds).
 */
export interface KeyChangeLog {
  record(tenantId: string, events: AuditEvent[], writes: TransactItem[], at: string): Promise<unknown>;
}

/** Who changes keys and where the change is recorded; without a log the writes go alone (tests, the local stack). */
export interface KeyAdmin {
  audit?: KeyChangeLog;
  actor?: string;
  /**
   * The business clock the audit entry is stamped with, as every audit entry is: a local stack's virtual clock;
   * by default the wall clock, which is the business clock on AWS.
   */
  clock?: Clock;
}

/** A key-management request that cannot be carried out (unknown or revoked key...). */
export class KeyAdminError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KeyAdminError";
  }
}

/**
 * Besides the key item (`KEY#<hash>`, the only one `resolve` reads), two small items make keys manageable
 * without scans: a directory entry per tenant (`T#<tenant>#KEYS` / `K#<keyId>`, for list) and an id entry
 * (`KEYID#<keyId>`, for rotate and revoke by id). They hold the key's hash, never the key.
 */
const directoryKey = (tenantId: string, keyId: string) => ({ pk: `T#${tenantId}#KEYS`, sk: `K#${keyId}` });
const idKey = (keyId: string) => ({ pk: `KEYID#${keyId}`, sk: "KEYID" });

/** Who a key stands for: tenant and role, and the agency of an outside agency's agent. */
function principalOf(from: { tenantId: string; role: Role; agencyId?: unknown }): Omit<Principal, "keyId"> {
  const agency = typeof from.agencyId === "string" ? { agencyId: from.agencyId } : {};
  return { tenantId: from.tenantId, role: from.role, ...agency };
}

/** A new API key: 32 random bytes, base64url, with a recognisable prefix. */
export function generateApiKey(): string {
  return `dk_${randomBytes(32).toString("base64url")}`;
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
    tables: { stateTable: string; auditTable?: string },
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
    const principal: Principal = { ...principalOf({ ...Item, tenantId, role: role as Role }), keyId };
    this.cache.set(hash, { principal, until: this.now() + this.cacheTtlMs });
    return principal;
  }

  /**
   * Stores a key (as its hash) for a tenant and role, replacing whatever the same key held before. Kept for
   * callers that bring their own key (the local stack's demo keys); `create` generates one and audits it.
   */
  async put(presentedKey: string, principal: Omit<Principal, "keyId">): Promise<Principal> {
    const hash = apiKeyHash(presentedKey);
    const stored: Principal = { ...principalOf(principal), keyId: keyIdOf(hash) };
    const previous = await this.keyItem(hash);
    const writes = this.issueWrites(hash, stored, new Date(this.now()).toISOString(), {}, false);
    if (previous && previous.tenantId !== stored.tenantId && typeof previous.tenantId === "string") {
      writes.push({
        Delete: { TableName: this.stateTable, Key: directoryKey(previous.tenantId, stored.keyId) },
      });
    }
    await this.client.send(new TransactWriteCommand({ TransactItems: writes }));
    this.cache.delete(hash);
    return stored;
  }

  /** Revokes a key; other containers stop honouring it when their cache entry expires. False if unknown. */
  async revoke(presentedKey: string): Promise<boolean> {
    const hash = apiKeyHash(presentedKey);
    this.cache.delete(hash);
    const item = await this.keyItem(hash);
    if (!item) return false;
    if (item.revoked === true) return true;
    const hasDirectory = await this.directoryItem(String(item.tenantId), keyIdOf(hash));
    await this.send(this.revokeWrites(hash, String(item.tenantId), keyIdOf(hash), hasDirectory !== null, {}));
    return true;
  }

  /** Every key of a tenant, oldest first: ids, roles, dates and revocations, never a key. */
  async list(tenantId: string): Promise<ApiKeyRecord[]> {
    const records: ApiKeyRecord[] = [];
    const items = queryAll(this.client, {
      TableName: this.stateTable,
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :k)",
      ExpressionAttributeValues: { ":pk": directoryKey(tenantId, "").pk, ":k": "K#" },
      ConsistentRead: true,
    });
    for await (const item of items) records.push(toRecord(item));
    return records.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.keyId.localeCompare(b.keyId));
  }

  /** One key by its public id; null when unknown. */
  async byId(keyId: string): Promise<ApiKeyRecord | null> {
    const entry = await this.directoryEntryById(keyId);
    return entry ? toRecord(entry) : null;
  }

  /** Generates a key for the tenant and role, stores its hash and records `api_key_created`. Returns the key once. */
  async create(
    principal: Omit<Principal, "keyId">,
    admin: KeyAdmin = {},
  ): Promise<{ key: string; record: ApiKeyRecord }> {
    if (!ROLES.includes(principal.role)) throw new KeyAdminError(`unknown role ${principal.role}`);
    const key = generateApiKey();
    const hash = apiKeyHash(key);
    const keyId = keyIdOf(hash);
    const createdAt = new Date(this.now()).toISOString();
    const stored: Principal = { ...principalOf(principal), keyId };
    await this.commit(
      principal.tenantId,
      [{ type: "api_key_created", actor: actorOf(admin), data: { keyId, role: principal.role } }],
      this.issueWrites(hash, stored, createdAt, {}, true),
      admin,
    );
    return {
      key,
      record: { keyId, tenantId: principal.tenantId, role: principal.role, createdAt, revoked: false },
    };
  }

  /** Replaces a live key by a new one of the same tenant and role, revoking the old one in the same write. */
  async rotate(
    keyId: string,
    admin: KeyAdmin = {},
  ): Promise<{ key: string; record: ApiKeyRecord; replaced: ApiKeyRecord }> {
    const entry = await this.directoryEntryById(keyId);
    if (!entry) throw new KeyAdminError(`no key ${keyId}`);
    const old = toRecord(entry);
    if (old.revoked) throw new KeyAdminError(`key ${keyId} is revoked; create a new one instead`);
    const key = generateApiKey();
    const hash = apiKeyHash(key);
    const newId = keyIdOf(hash);
    const at = new Date(this.now()).toISOString();
    const stored: Principal = { ...principalOf(old), keyId: newId };
    const actor = actorOf(admin);
    await this.commit(
      old.tenantId,
      [
        { type: "api_key_created", actor, data: { keyId: newId, role: old.role, replaces: keyId } },
        { type: "api_key_revoked", actor, data: { keyId, role: old.role, replacedBy: newId } },
      ],
      [
        ...this.issueWrites(hash, stored, at, { replaces: keyId }, true),
        ...this.revokeWrites(String(entry.keyHash), old.tenantId, keyId, true, { replacedBy: newId }),
      ],
      admin,
    );
    this.cache.delete(String(entry.keyHash));
    return {
      key,
      record: {
        keyId: newId,
        tenantId: old.tenantId,
        role: old.role,
        createdAt: at,
        revoked: false,
        replaces: keyId,
      },
      replaced: { ...old, revoked: true, revokedAt: at, replacedBy: newId },
    };
  }

  /** Revokes a key by its id and records `api_key_revoked`; a key already revoked is left as it is. Null if unknown. */
  async revokeById(keyId: string, admin: KeyAdmin = {}): Promise<ApiKeyRecord | null> {
    const entry = await this.directoryEntryById(keyId);
    if (!entry) return null;
    const record = toRecord(entry);
    if (record.revoked) return record;
    const at = new Date(this.now()).toISOString();
    await this.commit(
      record.tenantId,
      [{ type: "api_key_revoked", actor: actorOf(admin), data: { keyId, role: record.role } }],
      this.revokeWrites(String(entry.keyHash), record.tenantId, keyId, true, {}),
      admin,
    );
    this.cache.delete(String(entry.keyHash));
    return { ...record, revoked: true, revokedAt: at };
  }

  /** The key item, the tenant's directory entry and the id entry of a new key. */
  private issueWrites(
    hash: string,
    principal: Principal,
    createdAt: string,
    extra: { replaces?: string },
    mustBeNew: boolean,
  ): TransactItem[] {
    const fresh = mustBeNew ? { ConditionExpression: "attribute_not_exists(pk)" } : {};
    return [
      {
        Put: {
          TableName: this.stateTable,
          Item: { ...keys.apiKey(hash), ...principal, createdAt },
          ...fresh,
        },
      },
      {
        Put: {
          TableName: this.stateTable,
          Item: {
            ...directoryKey(principal.tenantId, principal.keyId),
            ...principal,
            keyHash: hash,
            createdAt,
            revoked: false,
            ...extra,
          },
          ...fresh,
        },
      },
      {
        Put: {
          TableName: this.stateTable,
          Item: { ...idKey(principal.keyId), tenantId: principal.tenantId, keyHash: hash },
          ...fresh,
        },
      },
    ];
  }

  private revokeWrites(
    hash: string,
    tenantId: string,
    keyId: string,
    withDirectory: boolean,
    extra: { replacedBy?: string },
  ): TransactItem[] {
    const at = new Date(this.now()).toISOString();
    const live = "attribute_exists(pk) AND (attribute_not_exists(revoked) OR revoked = :false)";
    const writes: TransactItem[] = [
      {
        Update: {
          TableName: this.stateTable,
          Key: keys.apiKey(hash),
          UpdateExpression: "SET revoked = :true, revokedAt = :at",
          ConditionExpression: live,
          ExpressionAttributeValues: { ":true": true, ":false": false, ":at": at },
        },
      },
    ];
    if (withDirectory) {
      writes.push({
        Update: {
          TableName: this.stateTable,
          Key: directoryKey(tenantId, keyId),
          UpdateExpression: `SET revoked = :true, revokedAt = :at${extra.replacedBy ? ", replacedBy = :by" : ""}`,
          ConditionExpression: live,
          ExpressionAttributeValues: {
            ":true": true,
            ":false": false,
            ":at": at,
            ...(extra.replacedBy ? { ":by": extra.replacedBy } : {}),
          },
        },
      });
    }
    return writes;
  }

  private async commit(tenantId: string, events: AuditEvent[], writes: TransactItem[], admin: KeyAdmin) {
    if (admin.audit) {
      await admin.audit.record(tenantId, events, writes, toInstant(admin.clock?.now() ?? new Date()));
    } else await this.send(writes);
  }

  private async send(writes: TransactItem[]): Promise<void> {
    try {
      await this.client.send(new TransactWriteCommand({ TransactItems: writes }));
    } catch (error) {
      if (cancellationCodes(error)?.includes("ConditionalCheckFailed")) {
        throw new KeyAdminError("the key changed meanwhile (or a key id collided); try again");
      }
      throw error;
    }
  }

  private async keyItem(hash: string): Promise<Record<string, unknown> | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.stateTable, Key: keys.apiKey(hash), ConsistentRead: true }),
    );
    return Item;
  }

  private async directoryItem(tenantId: string, keyId: string): Promise<Record<string, unknown> | null> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.stateTable,
        Key: directoryKey(tenantId, keyId),
        ConsistentRead: true,
      }),
    );
    return Item ?? null;
  }

  private async directoryEntryById(keyId: string): Promise<Record<string, unknown> | null> {
    if (!/^[0-9a-f]{12}$/.test(keyId)) return null;
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.stateTable, Key: idKey(keyId), ConsistentRead: true }),
    );
    if (!Item || typeof Item.tenantId !== "string") return null;
    return this.directoryItem(Item.tenantId, keyId);
  }
}

function actorOf(admin: KeyAdmin): string {
  return admin.actor ?? "key-admin";
}

function toRecord(item: Record<string, unknown>): ApiKeyRecord {
  return {
    keyId: String(item.keyId),
    tenantId: String(item.tenantId),
    role: item.role as Role,
    ...(typeof item.agencyId === "string" ? { agencyId: item.agencyId } : {}),
    createdAt: String(item.createdAt),
    revoked: item.revoked === true,
    ...(typeof item.revokedAt === "string" ? { revokedAt: item.revokedAt } : {}),
    ...(typeof item.replaces === "string" ? { replaces: item.replaces } : {}),
    ...(typeof item.replacedBy === "string" ? { replacedBy: item.replacedBy } : {}),
  };
}

/** A short public id for a key, safe for logs: a prefix of its hash, not of the key. */
function keyIdOf(hash: string): string {
  return hash.slice(0, 12);
}
