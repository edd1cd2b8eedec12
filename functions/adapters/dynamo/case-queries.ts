import type { DynamoDBDocumentClient, QueryCommandInput } from "@aws-sdk/lib-dynamodb";
import type { AuditEntry } from "../../domain/audit-chain.ts";
import { BusinessRuleError } from "../../domain/errors.ts";
import type { CaseStatus, LoanCase } from "../../domain/loan-case.ts";
import type { OpenCasePages } from "../../ports/policy-jobs.ts";
import type { OpenCase, Page } from "../../ports.ts";
import { caseRefKey, getCases } from "./case-batch-get.ts";
import { AGING_TIME_ZONE, openIndex, toAuditEntry, toOpenCase } from "./case-items.ts";
import { queryAll } from "./query-all.ts";
import { keys, STATE_TABLE } from "./schema.ts";

const MAX_PAGE = 1000;
const [BY_TENANT, BY_STATUS] = STATE_TABLE.indexes;

export interface ListQuery {
  status?: CaseStatus;
  attention?: boolean;
  limit: number;
  cursor?: string;
}

/** One page of a tenant's cases in creation order, optionally of one status and/or (not) needing attention. */
export async function listCases(
  client: DynamoDBDocumentClient,
  stateTable: string,
  tenantId: string,
  query: ListQuery,
): Promise<Page<LoanCase>> {
  const { limit } = query;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw new BusinessRuleError("INVALID_LIMIT", `limit must be an integer from 1 to ${MAX_PAGE}`, [
      { path: "limit", message: `must be an integer from 1 to ${MAX_PAGE}` },
    ]);
  }
  const input = listInput(stateTable, tenantId, query);
  // The list indexes hold keys (and the attention flag) only, so a step's write of a case never rewrites them;
  // the page's cases are then read whole. One item more than asked for tells whether another page exists.
  const index = query.status === undefined ? BY_TENANT : BY_STATUS;
  const positions: string[] = [];
  for await (const item of queryAll(client, input, { limit: limit + 1 })) {
    positions.push(String(item[index?.sortKey ?? ""]));
  }
  const page = positions.slice(0, limit).map(positionOf);
  const found = await getCases(
    client,
    stateTable,
    page.map(({ loanId }) => ({ tenantId, loanId })),
  );
  const cases = page.flatMap(({ loanId }) => found.get(caseRefKey({ tenantId, loanId })) ?? []);
  const last = page.at(-1);
  return {
    items: cases,
    nextCursor: positions.length > limit && last ? encodeCursor(last) : null,
  };
}

/** A list index's sort key, `createdAt#loanId`, as a position. */
function positionOf(sortKey: string): CursorPosition {
  const cut = sortKey.indexOf("#");
  return { createdAt: sortKey.slice(0, cut), loanId: sortKey.slice(cut + 1) };
}

/** The query of a list page: the byTenant or byStatus index, the attention filter, and where the page starts. */
function listInput(stateTable: string, tenantId: string, query: ListQuery): QueryCommandInput {
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  const index = query.status === undefined ? BY_TENANT : BY_STATUS;
  if (!index) throw new Error("the state table schema lacks its list indexes");
  const partition = query.status === undefined ? tenantId : `${tenantId}#${query.status}`;
  return {
    TableName: stateTable,
    IndexName: index.name,
    KeyConditionExpression: "#pk = :pk",
    ProjectionExpression: "#sk",
    ExpressionAttributeNames: {
      "#pk": index.partitionKey,
      "#sk": index.sortKey,
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
}

/** A case's whole audit trail in sequence order, read consistently from its partition of the audit table. */
export async function readAuditTrail(
  client: DynamoDBDocumentClient,
  auditTable: string,
  tenantId: string,
  loanId: string,
): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  const items = queryAll(client, {
    TableName: auditTable,
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
export async function* queryOpenCases(
  client: DynamoDBDocumentClient,
  stateTable: string,
  tenantId: string,
): AsyncGenerator<OpenCase> {
  const index = openIndex();
  const items = queryAll(client, {
    TableName: stateTable,
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

/**
 * The tenant's open cases a page at a time, from the sparse openByDueDate index (keys only). A position is the
 * index's sort key (`dueDate#loanId`): the next page starts after it, wherever the case has gone since.
 */
export function openCasePages(client: DynamoDBDocumentClient, stateTable: string): OpenCasePages {
  const index = openIndex();
  return {
    async page(tenantId, after, limit) {
      const start = after
        ? indexKey(index, tenantId, keys.loanCase(tenantId, after.slice(after.indexOf("#") + 1)), after)
        : undefined;
      const positions: string[] = [];
      const items = queryAll(
        client,
        {
          TableName: stateTable,
          IndexName: index.name,
          KeyConditionExpression: "#pk = :pk",
          ProjectionExpression: "#sk",
          ExpressionAttributeNames: { "#pk": index.partitionKey, "#sk": index.sortKey },
          ExpressionAttributeValues: { ":pk": tenantId },
          ScanIndexForward: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        },
        // One more than the page tells whether another page follows.
        { limit: limit + 1 },
      );
      for await (const item of items) positions.push(String(item[index.sortKey]));
      return {
        items: positions.slice(0, limit).map((position) => ({
          loanId: position.slice(position.indexOf("#") + 1),
          position,
        })),
        more: positions.length > limit,
      };
    },
  };
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
