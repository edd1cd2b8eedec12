import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  type QueryCommandInput,
  TransactWriteCommand,
} from "@aws-sdk/lib-dynamodb";
import { type AuditEntry, appendToChain, EMPTY_CHAIN } from "../../domain/audit-chain.ts";
import { AlreadyRecordedError, BusinessRuleError, ConcurrentUpdateError } from "../../domain/errors.ts";
import type { CaseChange, CaseStatus, LoanCase } from "../../domain/loan-case.ts";
import {
  type CaseRepository,
  type CreateOutcome,
  type OnceKey,
  OPEN_STATUSES,
  type OpenCase,
  type Page,
} from "../../ports.ts";
import { AuditChainConflictError, cancellationCodes } from "./errors.ts";
import { queryAll } from "./query-all.ts";
import { AUDIT_TABLE, keys, STATE_TABLE } from "./schema.ts";
import type { TableNames } from "./tables.ts";
import { WAKE_KEY_ATTRIBUTES, wakeItemKeys } from "./wake-index.ts";

/** DynamoDB refuses transactions of more than 100 items: the case plus at most 99 audit entries. */
const MAX_EVENTS_PER_WRITE = 99;
const MAX_TRANSACTION_ITEMS = 100;
/**
 * Loans per TransactWriteItems in createMany. Fewer than the 100-item limit allows: a transaction's cost grows
 * faster than its size on DynamoDB Local (measured: 25 loans per call beats 50), and a smaller chunk loses less
 * when one loan in it already exists and the chunk is sent again without it.
 */
export const LOANS_PER_WRITE = 25;
/** Transactions createMany keeps in flight at once. */
const WRITES_IN_FLIGHT = 4;
/** BatchGetItem reads at most 100 keys per call. */
const MAX_BATCH_GET = 100;
/** A chunk that keeps colliding with other writers is written loan by loan after this many tries. */
const MAX_CHUNK_ATTEMPTS = 4;
const MAX_PAGE = 1000;

const [BY_TENANT, BY_STATUS] = STATE_TABLE.indexes;
const OPEN_BY_DUE_DATE = STATE_TABLE.indexes.find((index) => index.name === "openByDueDate");
const [AUDIT_BY_TIME] = AUDIT_TABLE.indexes;
/** Copied from the borrower onto open cases only, so the open-cases index can project it without the borrower. */
const AGING_TIME_ZONE = "agingTimeZone";
/** Attributes that exist only to address (or index) the item; never part of the returned LoanCase. */
const CASE_KEY_ATTRIBUTES = [
  "pk",
  "sk",
  "gsi1pk",
  "gsi1sk",
  "gsi2pk",
  "gsi2sk",
  "gsi3pk",
  "gsi3sk",
  ...WAKE_KEY_ATTRIBUTES,
  AGING_TIME_ZONE,
] as const;
const AUDIT_FIELDS = ["seq", "at", "type", "actor", "data", "prevHash", "hash"] as const;

/**
 * Cases live in the state table, their audit entries in the audit table; every write puts both in one
 * TransactWriteItems, conditional on the case's version, so a state change never lands without its entries.
 */
export class DynamoCaseRepository implements CaseRepository {
  private readonly stateTable: string;
  private readonly auditTable: string;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    tables: TableNames,
  ) {
    this.stateTable = tables.stateTable;
    this.auditTable = tables.auditTable;
  }

  async onceRecord(tenantId: string, loanId: string, key: string): Promise<{ fingerprint?: string } | null> {
    const { Item: item } = await this.client.send(
      new GetCommand({
        TableName: this.stateTable,
        Key: keys.onceMarker(tenantId, loanId, key),
        ConsistentRead: true,
      }),
    );
    if (!item) return null;
    return typeof item.fingerprint === "string" ? { fingerprint: item.fingerprint } : {};
  }

  async get(tenantId: string, loanId: string): Promise<LoanCase | null> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.stateTable,
        Key: keys.loanCase(tenantId, loanId),
        ConsistentRead: true,
      }),
    );
    return Item ? toCase(Item) : null;
  }

  async create(
    change: CaseChange,
    at: string,
  ): Promise<{ created: true; case: LoanCase } | { created: false }> {
    const { tenantId, loanId } = change.next;
    const chain = appendToChain({ tenantId, loanId }, EMPTY_CHAIN, change.events, at);
    const stored: LoanCase = { ...change.next, audit: chain.head, version: change.next.version + 1 };
    try {
      await this.write(stored, chain.entries, { ConditionExpression: "attribute_not_exists(pk)" });
      return { created: true, case: stored };
    } catch (error) {
      const codes = cancellationCodes(error);
      if (codes?.[0] === "ConditionalCheckFailed") return { created: false };
      throw this.translate(error, codes, `loan ${loanId}`);
    }
  }

  /**
   * Creates many new cases, several loans per TransactWriteItems (each loan's case and audit entries stay in the
   * same transaction, so a case never lands without its trail). A chunk cancelled because some of its loans
   * already exist is sent again without them; their stored cases are read back in one BatchGetItem.
   */
  async createMany(changes: CaseChange[], at: string): Promise<CreateOutcome[]> {
    const outcomes: CreateOutcome[] = new Array(changes.length);
    const prepared = changes.map((change, index) => {
      const { tenantId, loanId } = change.next;
      const chain = appendToChain({ tenantId, loanId }, EMPTY_CHAIN, change.events, at);
      const stored: LoanCase = { ...change.next, audit: chain.head, version: change.next.version + 1 };
      return { index, stored, entries: chain.entries };
    });
    const existing: typeof prepared = [];
    const chunks = [...chunksOf(prepared)];
    let nextChunk = 0;
    const writeChunks = async () => {
      for (let chunk = chunks[nextChunk++]; chunk; chunk = chunks[nextChunk++]) await writeChunk(chunk);
    };
    const writeChunk = async (chunk: typeof prepared) => {
      let pending = chunk;
      for (let attempt = 1; pending.length > 0; attempt++) {
        if (attempt > MAX_CHUNK_ATTEMPTS) {
          // Still colliding with concurrent writers: one transaction per loan, each decided on its own.
          for (const loan of pending) {
            outcomes[loan.index] = await this.createOne(loan.stored, loan.entries).catch(
              (error: unknown) => ({
                failed: error,
              }),
            );
            if (outcomes[loan.index]?.created === false) existing.push(loan);
          }
          break;
        }
        try {
          await this.client.send(
            new TransactWriteCommand({
              TransactItems: pending.flatMap((loan) =>
                this.putItems(loan.stored, loan.entries, "attribute_not_exists(pk)"),
              ),
            }),
          );
          for (const loan of pending) outcomes[loan.index] = { created: true, case: loan.stored };
          break;
        } catch (error) {
          const codes = cancellationCodes(error);
          if (!codes) {
            for (const loan of pending) outcomes[loan.index] = { failed: error };
            break;
          }
          // Reasons come in item order: walk them loan by loan (its case first, then its audit entries).
          const retry: typeof pending = [];
          let position = 0;
          for (const loan of pending) {
            const own = codes.slice(position, position + 1 + loan.entries.length);
            position += 1 + loan.entries.length;
            if (own[0] === "ConditionalCheckFailed") existing.push(loan);
            else if (own.slice(1).includes("ConditionalCheckFailed")) {
              outcomes[loan.index] = {
                failed: this.translate(error, own, `loan ${loan.stored.loanId}`),
              };
            } else retry.push(loan);
          }
          if (codes.includes("TransactionConflict") || codes.includes("ThrottlingError")) {
            await sleep(20 * 2 ** attempt * Math.random());
          }
          pending = retry;
        }
      }
    };
    // A few transactions in flight: DynamoDB (Local too) serves them in parallel, one at a time leaves it idle.
    await Promise.all(Array.from({ length: Math.min(WRITES_IN_FLIGHT, chunks.length) }, writeChunks));
    if (existing.length > 0) {
      const stored = await this.getMany(
        existing.map((loan) => ({ tenantId: loan.stored.tenantId, loanId: loan.stored.loanId })),
      );
      for (const loan of existing) {
        const found = stored.get(`${loan.stored.tenantId}\u0000${loan.stored.loanId}`) ?? null;
        outcomes[loan.index] = { created: false, existing: found };
      }
    }
    return outcomes;
  }

  /** One loan's case and entries in its own transaction (createMany's fallback). */
  private async createOne(stored: LoanCase, entries: AuditEntry[]): Promise<CreateOutcome> {
    try {
      await this.write(stored, entries, { ConditionExpression: "attribute_not_exists(pk)" });
      return { created: true, case: stored };
    } catch (error) {
      const codes = cancellationCodes(error);
      if (codes?.[0] === "ConditionalCheckFailed") return { created: false, existing: null };
      throw this.translate(error, codes, `loan ${stored.loanId}`);
    }
  }

  /** Strongly consistent reads of many cases, 100 keys per BatchGetItem, following unprocessed keys. */
  private async getMany(refs: { tenantId: string; loanId: string }[]): Promise<Map<string, LoanCase>> {
    const found = new Map<string, LoanCase>();
    for (let start = 0; start < refs.length; start += MAX_BATCH_GET) {
      let requested: Record<string, unknown>[] = refs
        .slice(start, start + MAX_BATCH_GET)
        .map((ref) => keys.loanCase(ref.tenantId, ref.loanId));
      for (let attempt = 1; requested.length > 0; attempt++) {
        const answer = await this.client.send(
          new BatchGetCommand({
            RequestItems: { [this.stateTable]: { Keys: requested, ConsistentRead: true } },
          }),
        );
        for (const item of answer.Responses?.[this.stateTable] ?? []) {
          const loanCase = toCase(item);
          found.set(`${loanCase.tenantId}\u0000${loanCase.loanId}`, loanCase);
        }
        requested = answer.UnprocessedKeys?.[this.stateTable]?.Keys ?? [];
        if (requested.length > 0) await sleep(20 * 2 ** Math.min(attempt, 6) * Math.random());
      }
    }
    return found;
  }

  async update(current: LoanCase, change: CaseChange, at: string, once?: OnceKey): Promise<LoanCase> {
    const onceKey = typeof once === "string" ? once : once?.key;
    const { tenantId, loanId } = current;
    if (change.next.tenantId !== tenantId || change.next.loanId !== loanId) {
      throw new Error(
        `a change to ${tenantId}/${loanId} must not move it to ${change.next.tenantId}/${change.next.loanId}`,
      );
    }
    const chain = appendToChain({ tenantId, loanId }, current.audit, change.events, at);
    const stored: LoanCase = { ...change.next, audit: chain.head, version: current.version + 1 };
    const marker = onceKey
      ? {
          ...keys.onceMarker(tenantId, loanId, onceKey),
          ...(typeof once === "object" ? { fingerprint: once.fingerprint } : {}),
        }
      : undefined;
    try {
      await this.write(
        stored,
        chain.entries,
        {
          ConditionExpression: "#version = :expected",
          ExpressionAttributeNames: { "#version": "version" },
          ExpressionAttributeValues: { ":expected": current.version },
        },
        marker,
      );
      return stored;
    } catch (error) {
      const codes = cancellationCodes(error);
      // The marker is the last item: it failing means this change was applied before, whatever else failed.
      if (marker && codes?.at(-1) === "ConditionalCheckFailed") {
        throw new AlreadyRecordedError(`loan ${loanId} already has ${onceKey}`);
      }
      if (codes?.[0] === "ConditionalCheckFailed") {
        throw new ConcurrentUpdateError(
          `loan ${loanId} changed since version ${current.version}; re-read it`,
        );
      }
      throw this.translate(error, codes, `loan ${loanId}`);
    }
  }

  async list(
    tenantId: string,
    query: { status?: CaseStatus; attention?: boolean; limit: number; cursor?: string },
  ): Promise<Page<LoanCase>> {
    const { limit } = query;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
      throw new BusinessRuleError("INVALID_LIMIT", `limit must be an integer from 1 to ${MAX_PAGE}`, [
        { path: "limit", message: `must be an integer from 1 to ${MAX_PAGE}` },
      ]);
    }
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const index = query.status === undefined ? BY_TENANT : BY_STATUS;
    if (!index) throw new Error("the state table schema lacks its list indexes");
    const partition = query.status === undefined ? tenantId : `${tenantId}#${query.status}`;

    // One item more than asked for tells whether another page exists, so the last page has no cursor.
    const input: QueryCommandInput = {
      TableName: this.stateTable,
      IndexName: index.name,
      KeyConditionExpression: "#pk = :pk",
      ExpressionAttributeNames: {
        "#pk": index.partitionKey,
        ...(query.attention === undefined ? {} : { "#attention": "attention" }),
      },
      ExpressionAttributeValues: {
        ":pk": partition,
        ...(query.attention === undefined ? {} : { ":map": "M" }),
      },
      // A flagged case holds an attention map; a cleared one holds null or nothing.
      ...(query.attention === undefined
        ? {}
        : {
            FilterExpression: query.attention
              ? "attribute_type(#attention, :map)"
              : "NOT attribute_type(#attention, :map)",
          }),
      ScanIndexForward: true,
      ...(after
        ? {
            ExclusiveStartKey: indexKey(
              index,
              partition,
              keys.loanCase(tenantId, after.loanId),
              `${after.createdAt}#${after.loanId}`,
            ),
          }
        : {}),
    };
    const items: Record<string, unknown>[] = [];
    for await (const item of queryAll(this.client, input, { limit: limit + 1 })) items.push(item);

    const cases = items.slice(0, limit).map(toCase);
    const last = cases.at(-1);
    return {
      items: cases,
      nextCursor:
        items.length > limit && last
          ? encodeCursor({ createdAt: last.createdAt, loanId: last.loanId })
          : null,
    };
  }

  async auditTrail(tenantId: string, loanId: string): Promise<AuditEntry[]> {
    const entries: AuditEntry[] = [];
    const items = queryAll(this.client, {
      TableName: this.auditTable,
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": keys.auditPartition(tenantId, loanId) },
      ScanIndexForward: true,
      ConsistentRead: true,
    });
    for await (const item of items) entries.push(toAuditEntry(item));
    return entries;
  }

  /**
   * Queries the sparse openByDueDate index (only open cases carry its keys), following every page. Each item
   * holds only the index's projection: status, due date, balance and the borrower's time zone.
   */
  async *openCases(tenantId: string): AsyncGenerator<OpenCase> {
    const index = openIndex();
    const items = queryAll(this.client, {
      TableName: this.stateTable,
      IndexName: index.name,
      KeyConditionExpression: "#pk = :pk",
      ProjectionExpression: "#sk, #status, #dueDate, #balance, #zone",
      ExpressionAttributeNames: {
        "#pk": index.partitionKey,
        "#sk": index.sortKey,
        "#status": "status",
        "#dueDate": "dueDate",
        "#balance": "balance",
        "#zone": AGING_TIME_ZONE,
      },
      ExpressionAttributeValues: { ":pk": tenantId },
      ScanIndexForward: true,
    });
    for await (const item of items) yield toOpenCase(item, index.sortKey);
  }

  /** The case put (with its condition) first, then one put per audit entry: cancellation reasons follow this order. */
  private async write(
    stored: LoanCase,
    entries: AuditEntry[],
    condition: {
      ConditionExpression: string;
      ExpressionAttributeNames?: Record<string, string>;
      ExpressionAttributeValues?: Record<string, unknown>;
    },
    onceMarker?: { pk: string; sk: string; fingerprint?: string },
  ): Promise<void> {
    if (entries.length > MAX_EVENTS_PER_WRITE - (onceMarker ? 1 : 0)) {
      throw new RangeError(`a case change may carry at most ${MAX_EVENTS_PER_WRITE} audit events`);
    }
    const marker = onceMarker
      ? [
          {
            Put: {
              TableName: this.stateTable,
              Item: { ...onceMarker, at: stored.updatedAt },
              ConditionExpression: "attribute_not_exists(pk)",
            },
          },
        ]
      : [];
    await this.client.send(
      new TransactWriteCommand({ TransactItems: [...this.putItems(stored, entries, condition), ...marker] }),
    );
  }

  private putItems(
    stored: LoanCase,
    entries: AuditEntry[],
    condition:
      | string
      | {
          ConditionExpression: string;
          ExpressionAttributeNames?: Record<string, string>;
          ExpressionAttributeValues?: Record<string, unknown>;
        },
  ) {
    const caseCondition = typeof condition === "string" ? { ConditionExpression: condition } : condition;
    return [
      { Put: { TableName: this.stateTable, Item: caseItem(stored), ...caseCondition } },
      ...entries.map((entry) => ({
        Put: {
          TableName: this.auditTable,
          Item: auditItem(stored.tenantId, stored.loanId, entry),
          ConditionExpression: "attribute_not_exists(pk)",
        },
      })),
    ];
  }

  private translate(error: unknown, codes: (string | undefined)[] | null, what: string): unknown {
    if (!codes) return error;
    // Two transactions touched the same items at once: the loser re-reads and retries like any lost race.
    if (codes.includes("TransactionConflict")) {
      return new ConcurrentUpdateError(`${what} was being written by another request; re-read it`);
    }
    if (codes.slice(1).includes("ConditionalCheckFailed")) {
      return new AuditChainConflictError(
        `${what}: an audit entry with the next sequence number already exists; the trail was written outside the repository`,
        { cause: error },
      );
    }
    return error;
  }
}

/**
 * The stored item: the case plus its index keys. Only an open case carries the openByDueDate keys (and the
 * time zone that index projects); every write is a full Put, so a case that closes loses them and leaves the index.
 */
export function caseItem(loanCase: LoanCase): Record<string, unknown> {
  const position = `${loanCase.createdAt}#${loanCase.loanId}`;
  const index = openIndex();
  return {
    ...loanCase,
    ...keys.loanCase(loanCase.tenantId, loanCase.loanId),
    gsi1pk: loanCase.tenantId,
    gsi1sk: position,
    gsi2pk: `${loanCase.tenantId}#${loanCase.status}`,
    gsi2sk: position,
    ...(OPEN_STATUSES.includes(loanCase.status)
      ? {
          [index.partitionKey]: loanCase.tenantId,
          [index.sortKey]: `${loanCase.dueDate}#${loanCase.loanId}`,
          [AGING_TIME_ZONE]: loanCase.borrower.timeZone,
        }
      : {}),
    ...wakeItemKeys(loanCase),
  };
}

function openIndex(): { name: string; partitionKey: string; sortKey: string } {
  if (!OPEN_BY_DUE_DATE) throw new Error("the state table schema lacks its openByDueDate index");
  return OPEN_BY_DUE_DATE;
}

export function auditItem(tenantId: string, loanId: string, entry: AuditEntry): Record<string, unknown> {
  if (!AUDIT_BY_TIME) throw new Error("the audit table schema lacks its time index");
  return {
    pk: keys.auditPartition(tenantId, loanId),
    seq: entry.seq,
    at: entry.at,
    type: entry.type,
    actor: entry.actor,
    data: entry.data,
    prevHash: entry.prevHash,
    hash: entry.hash,
    [AUDIT_BY_TIME.partitionKey]: tenantId,
    [AUDIT_BY_TIME.sortKey]: `${entry.at}#${loanId}#${String(entry.seq).padStart(10, "0")}`,
  };
}

/**
 * Consecutive loans whose items fit one transaction (at most LOANS_PER_WRITE loans, 100 items). A loan with more
 * audit entries than one transaction takes is refused as create() refuses it.
 */
function* chunksOf<T extends { entries: AuditEntry[] }>(loans: T[]): Generator<T[]> {
  let chunk: T[] = [];
  let items = 0;
  for (const loan of loans) {
    const size = 1 + loan.entries.length;
    if (loan.entries.length > MAX_EVENTS_PER_WRITE) {
      throw new RangeError(`a case change may carry at most ${MAX_EVENTS_PER_WRITE} audit events`);
    }
    if (chunk.length > 0 && (chunk.length >= LOANS_PER_WRITE || items + size > MAX_TRANSACTION_ITEMS)) {
      yield chunk;
      chunk = [];
      items = 0;
    }
    chunk.push(loan);
    items += size;
  }
  if (chunk.length > 0) yield chunk;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function toCase(item: Record<string, unknown>): LoanCase {
  const loanCase = { ...item };
  for (const name of CASE_KEY_ATTRIBUTES) delete loanCase[name];
  return loanCase as unknown as LoanCase;
}

/** An item of the openByDueDate index; the loan id is the sort key after `dueDate#`. */
function toOpenCase(item: Record<string, unknown>, sortKey: string): OpenCase {
  const position = String(item[sortKey]);
  return {
    loanId: position.slice(position.indexOf("#") + 1),
    status: item.status as OpenCase["status"],
    dueDate: item.dueDate as string,
    balance: item.balance as OpenCase["balance"],
    timeZone: item[AGING_TIME_ZONE] as string,
  };
}

function toAuditEntry(item: Record<string, unknown>): AuditEntry {
  const entry: Record<string, unknown> = {};
  for (const name of AUDIT_FIELDS) entry[name] = item[name];
  return entry as unknown as AuditEntry;
}

/** The ExclusiveStartKey of an index query: the table's key plus the index's key. */
function indexKey(
  index: { partitionKey: string; sortKey: string },
  partition: string,
  tableKey: { pk: string; sk: string },
  position: string,
): Record<string, unknown> {
  return { ...tableKey, [index.partitionKey]: partition, [index.sortKey]: position };
}

/**
 * A cursor names the last case returned (its createdAt and loan id), never table keys: it cannot point into
 * another tenant's data (the tenant comes from the caller), and it works across the byTenant and byStatus indexes.
 */
interface CursorPosition {
  createdAt: string;
  loanId: string;
}

function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify({ v: 1, c: position.createdAt, l: position.loanId })).toString(
    "base64url",
  );
}

function decodeCursor(cursor: string): CursorPosition {
  const invalid = () =>
    new BusinessRuleError("INVALID_CURSOR", "the cursor is not one this API returned", [
      { path: "cursor", message: "pass back nextCursor unchanged" },
    ]);
  if (!/^[A-Za-z0-9_-]{1,2048}$/.test(cursor)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw invalid();
  }
  if (typeof parsed !== "object" || parsed === null) throw invalid();
  const { v, c, l } = parsed as Record<string, unknown>;
  if (v !== 1 || typeof c !== "string" || typeof l !== "string" || !c || !l) throw invalid();
  if (Number.isNaN(Date.parse(c))) throw invalid();
  return { createdAt: c, loanId: l };
}
