import type { DynamoDBDocumentClient, QueryCommandInput } from "@aws-sdk/lib-dynamodb";
import type { AuditRange, AuditReader, ScopedAuditEntry } from "../../ports/audit.ts";
import { queryAll } from "./query-all.ts";
import { AUDIT_TABLE, keys } from "./schema.ts";
import type { TableNames } from "./tables.ts";

const BY_TENANT_TIME = AUDIT_TABLE.indexes.find((index) => index.name === "byTenantTime");
/** The partition key's prefix before the loan id: `T#<tenant>#LOAN#`. */
const LOAN_MARK = "#LOAN#";

/**
 * Reads a tenant's audit entries for exports, one page at a time.
 *
 * - Whole tenant: the byTenantTime index (gsi1pk = tenant, gsi1sk = `at#loanId#seq` zero-padded), with
 *   `gsi1sk BETWEEN from AND to`. `at` and the bounds share one form (whole-second ISO UTC), and `#` sorts
 *   below every character of a loan id, so that range is exactly `from <= at < to`, in (at, loanId, seq) order.
 * - One loan (`range.loanId`): that case's partition in seq order, filtered on `at`.
 *
 * The index is eventually consistent: an entry written a moment ago may be missing from a tenant-wide read.
 */
export class DynamoAuditReader implements AuditReader {
  private readonly auditTable: string;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    tables: Pick<TableNames, "auditTable">,
  ) {
    this.auditTable = tables.auditTable;
  }

  async *entries(tenantId: string, range: AuditRange): AsyncGenerator<ScopedAuditEntry> {
    const base = range.loanId === undefined ? this.byTime(tenantId, range) : this.byLoan(tenantId, range);
    for await (const item of queryAll(this.client, base)) yield toEntry(tenantId, item);
  }

  private byTime(tenantId: string, range: AuditRange): QueryCommandInput {
    if (!BY_TENANT_TIME) throw new Error("the audit table schema lacks its byTenantTime index");
    return {
      TableName: this.auditTable,
      IndexName: BY_TENANT_TIME.name,
      KeyConditionExpression: "#pk = :tenant AND #sk BETWEEN :from AND :to",
      ExpressionAttributeNames: { "#pk": BY_TENANT_TIME.partitionKey, "#sk": BY_TENANT_TIME.sortKey },
      ExpressionAttributeValues: { ":tenant": tenantId, ":from": range.from, ":to": range.to },
      ScanIndexForward: true,
    };
  }

  private byLoan(tenantId: string, range: AuditRange): QueryCommandInput {
    return {
      TableName: this.auditTable,
      KeyConditionExpression: "pk = :pk",
      FilterExpression: "#at >= :from AND #at < :to",
      ExpressionAttributeNames: { "#at": "at" },
      ExpressionAttributeValues: {
        ":pk": keys.auditPartition(tenantId, range.loanId as string),
        ":from": range.from,
        ":to": range.to,
      },
      ScanIndexForward: true,
      ConsistentRead: true,
    };
  }
}

function text(item: Record<string, unknown>, name: string): string {
  const value = item[name];
  if (typeof value !== "string") throw new Error(`audit item ${String(item.pk)} has no string ${name}`);
  return value;
}

/** The stored item as a typed entry; the loan id comes from the partition key `T#<tenant>#LOAN#<loanId>`. */
function toEntry(tenantId: string, item: Record<string, unknown>): ScopedAuditEntry {
  const pk = text(item, "pk");
  const prefix = `T#${tenantId}${LOAN_MARK}`;
  if (!pk.startsWith(prefix)) throw new Error(`audit item ${pk} is not an entry of tenant ${tenantId}`);
  const { seq, data } = item;
  if (typeof seq !== "number" || !Number.isInteger(seq)) throw new Error(`audit item ${pk} has no seq`);
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new Error(`audit item ${pk}#${seq} has no data object`);
  }
  return {
    tenantId,
    loanId: pk.slice(prefix.length),
    seq,
    at: text(item, "at"),
    type: text(item, "type"),
    actor: text(item, "actor"),
    data: data as Record<string, unknown>,
    prevHash: text(item, "prevHash"),
    hash: text(item, "hash"),
  };
}
