import { type DynamoDBDocumentClient, TransactWriteCommand } from "@aws-sdk/lib-dynamodb";
import type { AuditEntry, ChainHead } from "../../domain/audit-chain.ts";
import { ConcurrentUpdateError } from "../../domain/errors.ts";
import type { CaseChange, LoanCase } from "../../domain/loan-case.ts";
import { auditItem, caseItem, portalLinkItem } from "./case-items.ts";
import { AuditChainConflictError } from "./errors.ts";
import { keys } from "./schema.ts";
import type { TableNames } from "./tables.ts";
import { workItemRecord } from "./work-store.ts";

/** DynamoDB refuses transactions of more than 100 items: the case plus at most 99 audit entries. */
export const MAX_EVENTS_PER_WRITE = 99;
export const MAX_TRANSACTION_ITEMS = 100;

/** What the case's Put is conditional on: a bare expression, or one with its names and values. */
export type CaseCondition =
  | string
  | {
      ConditionExpression: string;
      ExpressionAttributeNames?: Record<string, string>;
      ExpressionAttributeValues?: Record<string, unknown>;
    };

/** The item that records a once-only change was applied: a second attempt finds it and is refused. */
export type OnceMarker = { pk: string; sk: string; fingerprint?: string };

export type CaseTables = Pick<TableNames, "stateTable" | "auditTable">;

/** The case's Put (with its condition) first, then one Put per audit entry: cancellation reasons follow this order. */
export function putItems(
  tables: CaseTables,
  stored: LoanCase,
  entries: AuditEntry[],
  condition: CaseCondition,
) {
  const caseCondition = typeof condition === "string" ? { ConditionExpression: condition } : condition;
  return [
    { Put: { TableName: tables.stateTable, Item: caseItem(stored), ...caseCondition } },
    ...entries.map((entry) => ({
      Put: {
        TableName: tables.auditTable,
        Item: auditItem(stored.tenantId, stored.loanId, entry),
        ConditionExpression: "attribute_not_exists(pk)",
      },
    })),
  ];
}

/**
 * One case and its new audit entries (then the portal links it issues, the copies of the messages it records and
 * its once-markers last) in a single TransactWriteItems.
 */
export async function writeCase(
  client: DynamoDBDocumentClient,
  tables: CaseTables,
  stored: LoanCase,
  entries: AuditEntry[],
  condition: CaseCondition,
  onceMarkers: readonly OnceMarker[] = [],
  links: CaseChange["issuedLinks"] = [],
  messageCopies: CaseChange["messageCopies"] = [],
  workItems: CaseChange["workItems"] = [],
): Promise<void> {
  const copies = [
    ...copyItems(tables, stored, messageCopies),
    // A task step's work item comes to be with the step settled on the case, or not at all.
    ...workItems.map((item) => ({
      Put: {
        TableName: tables.stateTable,
        Item: workItemRecord(item),
        ConditionExpression: "attribute_not_exists(pk)",
      },
    })),
  ];
  if (entries.length > MAX_EVENTS_PER_WRITE - onceMarkers.length - links.length - copies.length) {
    throw new RangeError(
      `a case change may carry at most ${MAX_EVENTS_PER_WRITE} audit events and once-markers`,
    );
  }
  const markers = onceMarkers.map((marker) => ({
    Put: {
      TableName: tables.stateTable,
      Item: { ...marker, at: stored.updatedAt },
      ConditionExpression: "attribute_not_exists(pk)",
    },
  }));
  await client.send(
    new TransactWriteCommand({
      TransactItems: [
        ...putItems(tables, stored, entries, condition),
        ...links.map(({ tokenHash, link }) => ({
          Put: {
            TableName: tables.stateTable,
            Item: portalLinkItem(tokenHash, link),
            ConditionExpression: "attribute_not_exists(pk)",
          },
        })),
        ...copies,
        ...markers,
      ],
    }),
  );
}

/**
 * One Put per distinct text (a transaction may not touch an item twice). Unconditional: a copy is addressed by its
 * own hash, so writing it again writes the same item.
 */
function copyItems(tables: CaseTables, stored: LoanCase, copies: NonNullable<CaseChange["messageCopies"]>) {
  const distinct = new Map(copies.map((copy) => [copy.contentSha256, copy]));
  return [...distinct.values()].map((copy) => ({
    Put: {
      TableName: tables.stateTable,
      Item: {
        ...keys.messageCopy(stored.tenantId, stored.loanId, copy.contentSha256),
        ...copy,
        at: stored.updatedAt,
      },
    },
  }));
}

/**
 * Appends a case's new trail entries in one TransactWriteItems: the case's head and `updatedAt` updated on
 * condition that the head is still the one the entries follow, the entries, then the once-markers.
 */
export async function appendEntries(
  client: DynamoDBDocumentClient,
  tables: CaseTables,
  current: LoanCase,
  chain: { entries: AuditEntry[]; head: ChainHead },
  at: string,
  onceMarkers: readonly OnceMarker[] = [],
): Promise<void> {
  if (chain.entries.length > MAX_EVENTS_PER_WRITE - onceMarkers.length) {
    throw new RangeError(`a trail append may carry at most ${MAX_EVENTS_PER_WRITE} entries and once-markers`);
  }
  const update = {
    Update: {
      TableName: tables.stateTable,
      Key: keys.loanCase(current.tenantId, current.loanId),
      UpdateExpression: "SET #audit = :head, #updatedAt = :at",
      ConditionExpression: "#audit.#seq = :seq",
      ExpressionAttributeNames: { "#audit": "audit", "#seq": "seq", "#updatedAt": "updatedAt" },
      ExpressionAttributeValues: { ":head": chain.head, ":seq": current.audit.seq, ":at": at },
    },
  };
  const entries = chain.entries.map((entry) => ({
    Put: {
      TableName: tables.auditTable,
      Item: auditItem(current.tenantId, current.loanId, entry),
      ConditionExpression: "attribute_not_exists(pk)",
    },
  }));
  const markers = onceMarkers.map((marker) => ({
    Put: {
      TableName: tables.stateTable,
      Item: { ...marker, at },
      ConditionExpression: "attribute_not_exists(pk)",
    },
  }));
  await client.send(new TransactWriteCommand({ TransactItems: [update, ...entries, ...markers] }));
}

/** The error a cancelled case write stands for, read from its cancellation reasons (case first, then entries). */
export function translateCancellation(
  error: unknown,
  codes: (string | undefined)[] | null,
  what: string,
): unknown {
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

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
