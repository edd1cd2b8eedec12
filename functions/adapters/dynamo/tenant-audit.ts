import {
  type DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from "@aws-sdk/lib-dynamodb";
import {
  type AuditEntry,
  type AuditEvent,
  appendToChain,
  type ChainHead,
  EMPTY_CHAIN,
  TENANT_SCOPE,
  verifyChain,
} from "../../domain/audit-chain.ts";
import { toInstant } from "../../domain/time.ts";
import { auditItem } from "./case-items.ts";
import { cancellationCodes } from "./errors.ts";
import { queryAll } from "./query-all.ts";
import { keys } from "./schema.ts";
import type { TableNames } from "./tables.ts";

/** The loan id a tenant-level chain is scoped to (key changes and other tenant administration). */
export { TENANT_SCOPE };

/** One item of a DynamoDB transaction, as lib-dynamodb takes it. */
export type TransactItem = NonNullable<TransactWriteCommandInput["TransactItems"]>[number];

/**
 * The head of a tenant's chain lives in the state table; its entries in the audit table like a case's. The head is
 * named after the scope, so the chain under TENANT_SCOPE starts at seq 1 in its own partition; a chain kept under
 * the earlier scope `~tenant` (head `HEAD`) stays as it was, closed.
 */
const chainHeadKey = (tenantId: string) => ({ pk: `T#${tenantId}#CHAIN`, sk: `HEAD#${TENANT_SCOPE}` });

const AUDIT_FIELDS = ["seq", "at", "type", "actor", "data", "prevHash", "hash"] as const;
/** Concurrent key changes of one tenant are rare (an operator at a CLI); each lost race retries on the new head. */
const MAX_ATTEMPTS = 20;

/** A write riding along with the audit entries failed its own condition: nothing was written. */
export class TenantWriteConflictError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TenantWriteConflictError";
  }
}

/**
 * A hash-chained audit trail per tenant (scope loanId TENANT_SCOPE, `tenant:admin`), stored like a case's: entries
 * in the audit table under `T#tenant#LOAN#tenant:admin`, the head in the state table (`T#tenant#CHAIN` /
 * `HEAD#tenant:admin`).
 * Every append is one transaction, conditional on the head it extends, that also carries the caller's own writes,
 * so a change never lands without its entry nor an entry without its change. Entries are stamped with the
 * business instant the caller gives (whole seconds, as a case's), so they fall in the same export windows.
 */
export class TenantAuditLog {
  private readonly stateTable: string;
  private readonly auditTable: string;
  private readonly now: () => Date;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    tables: TableNames,
    options: { now?: () => Date } = {},
  ) {
    this.stateTable = tables.stateTable;
    this.auditTable = tables.auditTable;
    this.now = options.now ?? (() => new Date());
  }

  async head(tenantId: string): Promise<ChainHead> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.stateTable, Key: chainHeadKey(tenantId), ConsistentRead: true }),
    );
    return Item ? { seq: Number(Item.seq), hash: String(Item.hash) } : EMPTY_CHAIN;
  }

  /**
   * Appends `events` to the tenant's chain, stamped `at` (the business clock's instant, whole seconds: toInstant;
   * default: this log's clock), and applies `writes` in the same transaction. A concurrent append (the head
   * moved) is retried on the new head; a write whose own condition fails throws TenantWriteConflictError and
   * nothing is written.
   */
  async record(
    tenantId: string,
    events: AuditEvent[],
    writes: TransactItem[] = [],
    at: string = toInstant(this.now()),
  ): Promise<AuditEntry[]> {
    if (events.length === 0) throw new Error("a tenant audit record needs at least one event");
    if (writes.length + events.length + 1 > 100) throw new RangeError("too many items for one transaction");
    if (toInstant(new Date(at)) !== at) throw new RangeError(`not an instant in whole seconds: ${at}`);
    for (let attempt = 1; ; attempt++) {
      const head = await this.head(tenantId);
      const chain = appendToChain({ tenantId, loanId: TENANT_SCOPE }, head, events, at);
      const headPut: TransactItem = {
        Put: {
          TableName: this.stateTable,
          Item: {
            ...chainHeadKey(tenantId),
            tenantId,
            seq: chain.head.seq,
            hash: chain.head.hash,
            updatedAt: at,
          },
          ...(head.seq === 0
            ? { ConditionExpression: "attribute_not_exists(pk)" }
            : {
                ConditionExpression: "#seq = :seq AND #hash = :hash",
                ExpressionAttributeNames: { "#seq": "seq", "#hash": "hash" },
                ExpressionAttributeValues: { ":seq": head.seq, ":hash": head.hash },
              }),
        },
      };
      const entryPuts: TransactItem[] = chain.entries.map((entry) => ({
        Put: {
          TableName: this.auditTable,
          Item: auditItem(tenantId, TENANT_SCOPE, entry),
          ConditionExpression: "attribute_not_exists(pk)",
        },
      }));
      try {
        await this.client.send(
          new TransactWriteCommand({ TransactItems: [...writes, headPut, ...entryPuts] }),
        );
        return chain.entries;
      } catch (error) {
        const codes = cancellationCodes(error);
        if (!codes) throw error;
        const own = codes.slice(0, writes.length);
        if (own.includes("ConditionalCheckFailed")) {
          throw new TenantWriteConflictError(`a change to tenant ${tenantId} conflicted; re-read and retry`, {
            cause: error,
          });
        }
        const raced =
          codes.slice(writes.length).some((c) => c === "ConditionalCheckFailed") ||
          codes.includes("TransactionConflict");
        if (!raced || attempt >= MAX_ATTEMPTS) throw error;
        await new Promise((done) => setTimeout(done, Math.random() * 20 * attempt));
      }
    }
  }

  /** The tenant's chain, in order. */
  async entries(tenantId: string): Promise<AuditEntry[]> {
    const entries: AuditEntry[] = [];
    const items = queryAll(this.client, {
      TableName: this.auditTable,
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": keys.auditPartition(tenantId, TENANT_SCOPE) },
      ScanIndexForward: true,
      ConsistentRead: true,
    });
    for await (const item of items) {
      const entry: Record<string, unknown> = {};
      for (const name of AUDIT_FIELDS) entry[name] = item[name];
      entries.push(entry as unknown as AuditEntry);
    }
    return entries;
  }

  /** Verifies the chain from genesis and that it ends at the stored head (nothing dropped at the end). */
  async verify(tenantId: string): Promise<{ valid: boolean; entries: number; reason?: string }> {
    const [entries, head] = await Promise.all([this.entries(tenantId), this.head(tenantId)]);
    const verdict = verifyChain({ tenantId, loanId: TENANT_SCOPE }, entries);
    if (!verdict.valid)
      return { valid: false, entries: entries.length, reason: `seq ${verdict.seq}: ${verdict.reason}` };
    if (verdict.head.seq !== head.seq || verdict.head.hash !== head.hash) {
      return {
        valid: false,
        entries: entries.length,
        reason: `the trail ends at ${verdict.head.seq}, the head is ${head.seq}`,
      };
    }
    return { valid: true, entries: entries.length };
  }
}
