import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { type AuditEntry, type AuditEvent, appendToChain, EMPTY_CHAIN } from "../../domain/audit-chain.ts";
import { AlreadyRecordedError, ConcurrentUpdateError } from "../../domain/errors.ts";
import type { CaseChange, InFlightStep, LoanCase } from "../../domain/loan-case.ts";
import type { MessageCopy } from "../../domain/message-copies.ts";
import type { CaseRepository, CreateOutcome, OnceKey, OpenCase, Page } from "../../ports.ts";
import { createMany } from "./case-batch-create.ts";
import { toCase } from "./case-items.ts";
import { type ListQuery, listCases, queryOpenCases, readAuditTrail } from "./case-queries.ts";
import { appendEntries, type CaseTables, translateCancellation, writeCase } from "./case-writes.ts";
import { cancellationCodes } from "./errors.ts";
import { queryAll } from "./query-all.ts";
import { keys, MESSAGE_COPY_PREFIX } from "./schema.ts";
import type { TableNames } from "./tables.ts";

export { LOANS_PER_WRITE } from "./case-batch-create.ts";
export { auditItem, caseItem } from "./case-items.ts";

const keyOf = (once: OnceKey): string => (typeof once === "string" ? once : once.key);
const onceKeysOf = (once: OnceKey | readonly OnceKey[] | undefined): readonly OnceKey[] =>
  once === undefined ? [] : Array.isArray(once) ? once : [once as OnceKey];

/**
 * Cases live in the state table, their audit entries in the audit table; every write puts both in one
 * TransactWriteItems, conditional on the case's version, so a state change never lands without its entries.
 */
export class DynamoCaseRepository implements CaseRepository {
  private readonly tables: CaseTables;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    tables: TableNames,
  ) {
    this.tables = { stateTable: tables.stateTable, auditTable: tables.auditTable };
  }

  async onceRecord(tenantId: string, loanId: string, key: string): Promise<{ fingerprint?: string } | null> {
    const { Item: item } = await this.client.send(
      new GetCommand({
        TableName: this.tables.stateTable,
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
        TableName: this.tables.stateTable,
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
      await writeCase(this.client, this.tables, stored, chain.entries, {
        ConditionExpression: "attribute_not_exists(pk)",
      });
      return { created: true, case: stored };
    } catch (error) {
      const codes = cancellationCodes(error);
      if (codes?.[0] === "ConditionalCheckFailed") return { created: false };
      throw translateCancellation(error, codes, `loan ${loanId}`);
    }
  }

  /**
   * Creates many new cases, several loans per TransactWriteItems (each loan's case and audit entries stay in the
   * same transaction, so a case never lands without its trail). Loans that already exist come back with their
   * stored case.
   */
  createMany(changes: CaseChange[], at: string): Promise<CreateOutcome[]> {
    return createMany(this.client, this.tables, changes, at);
  }

  async update(
    current: LoanCase,
    change: CaseChange,
    at: string,
    once?: OnceKey | readonly OnceKey[],
  ): Promise<LoanCase> {
    const { tenantId, loanId } = current;
    if (change.next.tenantId !== tenantId || change.next.loanId !== loanId) {
      throw new Error(
        `a change to ${tenantId}/${loanId} must not move it to ${change.next.tenantId}/${change.next.loanId}`,
      );
    }
    const chain = appendToChain({ tenantId, loanId }, current.audit, change.events, at);
    const stored: LoanCase = { ...change.next, audit: chain.head, version: current.version + 1 };
    const onceKeys = onceKeysOf(once);
    const markers = markersOf(tenantId, loanId, onceKeys);
    try {
      await writeCase(
        this.client,
        this.tables,
        stored,
        chain.entries,
        {
          // The version moves with every change but a trail append (appendToTrail); the head moves with those too.
          ConditionExpression: "#version = :expected AND #audit.#seq = :seq",
          ExpressionAttributeNames: { "#version": "version", "#audit": "audit", "#seq": "seq" },
          ExpressionAttributeValues: { ":expected": current.version, ":seq": current.audit.seq },
        },
        markers,
        change.issuedLinks,
        change.messageCopies,
        change.workItems,
      );
      return stored;
    } catch (error) {
      throw refusal(error, current, onceKeys, markers.length);
    }
  }

  /**
   * Appends entries to the case's trail and changes nothing else (a delivery report): conditional on the trail's
   * head alone and leaving the version as it is, so a workflow task's claim at that version still holds.
   */
  async appendToTrail(
    current: LoanCase,
    events: AuditEvent[],
    at: string,
    once?: OnceKey | readonly OnceKey[],
  ): Promise<LoanCase> {
    const { tenantId, loanId } = current;
    const chain = appendToChain({ tenantId, loanId }, current.audit, events, at);
    const onceKeys = onceKeysOf(once);
    const markers = markersOf(tenantId, loanId, onceKeys);
    try {
      await appendEntries(this.client, this.tables, current, chain, at, markers);
      return { ...current, audit: chain.head, updatedAt: at };
    } catch (error) {
      throw refusal(error, current, onceKeys, markers.length);
    }
  }

  /**
   * Claims a step without reading the case first: sets `inFlight` on condition that the case is still at
   * `expectedVersion`, and answers the case as claimed — or, refused, the case as it is (null when gone).
   */
  async claim(
    ref: { tenantId: string; loanId: string },
    expectedVersion: number,
    inFlight: InFlightStep,
    at: string,
  ): Promise<{ claimed: LoanCase } | { current: LoanCase | null }> {
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tables.stateTable,
          Key: keys.loanCase(ref.tenantId, ref.loanId),
          UpdateExpression: "SET #inFlight = :inFlight, #version = :next, #updatedAt = :at",
          ConditionExpression: "#version = :expected",
          ExpressionAttributeNames: {
            "#inFlight": "inFlight",
            "#version": "version",
            "#updatedAt": "updatedAt",
          },
          ExpressionAttributeValues: {
            ":inFlight": inFlight,
            ":next": expectedVersion + 1,
            ":expected": expectedVersion,
            ":at": at,
          },
          ReturnValues: "ALL_NEW",
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      return { claimed: toCase(Attributes ?? {}) };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return { current: error.Item ? toCase(unmarshall(error.Item)) : null };
    }
  }

  list(tenantId: string, query: ListQuery): Promise<Page<LoanCase>> {
    return listCases(this.client, this.tables.stateTable, tenantId, query);
  }

  auditTrail(tenantId: string, loanId: string): Promise<AuditEntry[]> {
    return readAuditTrail(this.client, this.tables.auditTable, tenantId, loanId);
  }

  /** The kept texts of the loan's messages (see MessageCopy), one query over the case's partition. */
  async messageCopies(tenantId: string, loanId: string): Promise<MessageCopy[]> {
    const { pk } = keys.messageCopy(tenantId, loanId, "");
    const copies: MessageCopy[] = [];
    const items = queryAll<MessageCopy>(this.client, {
      TableName: this.tables.stateTable,
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
      ExpressionAttributeValues: { ":pk": pk, ":prefix": MESSAGE_COPY_PREFIX },
      ProjectionExpression: "#hash, #subject, #body",
      ExpressionAttributeNames: { "#hash": "contentSha256", "#subject": "subject", "#body": "body" },
    });
    for await (const copy of items) copies.push(copy);
    return copies;
  }

  /** Every open case of a tenant by due date, as the openByDueDate index projects it. */
  openCases(tenantId: string): AsyncGenerator<OpenCase> {
    return queryOpenCases(this.client, this.tables.stateTable, tenantId);
  }
}

function markersOf(tenantId: string, loanId: string, onceKeys: readonly OnceKey[]) {
  return onceKeys.map((key) => ({
    ...keys.onceMarker(tenantId, loanId, keyOf(key)),
    ...(typeof key === "object" ? { fingerprint: key.fingerprint } : {}),
  }));
}

/**
 * What a refused case write stands for: a once-key used before (the markers are the last items, so one failing
 * means its change was applied before, whatever else failed), the case changed meanwhile, or a transaction error.
 */
function refusal(
  error: unknown,
  current: LoanCase,
  onceKeys: readonly OnceKey[],
  markerCount: number,
): unknown {
  const codes = cancellationCodes(error);
  const used = codes
    ? onceKeys.filter((_, i) => codes[codes.length - markerCount + i] === "ConditionalCheckFailed")
    : [];
  if (used.length > 0) {
    const names = used.map(keyOf);
    return new AlreadyRecordedError(`loan ${current.loanId} already has ${names.join(", ")}`, names);
  }
  if (codes?.[0] === "ConditionalCheckFailed") {
    return new ConcurrentUpdateError(
      `loan ${current.loanId} changed since version ${current.version}; re-read it`,
    );
  }
  return translateCancellation(error, codes, `loan ${current.loanId}`);
}
