import type { AuditEntry } from "../../domain/audit-chain.ts";
import type { LoanCase } from "../../domain/loan-case.ts";
import type { PortalLink } from "../../domain/portal.ts";
import { OPEN_STATUSES, type OpenCase } from "../../ports.ts";
import { AUDIT_TABLE, keys, STATE_TABLE } from "./schema.ts";
import { WAKE_KEY_ATTRIBUTES, wakeItemKeys } from "./wake-index.ts";

const OPEN_BY_DUE_DATE = STATE_TABLE.indexes.find((index) => index.name === "openByDueDate");
const [AUDIT_BY_TIME] = AUDIT_TABLE.indexes;
/** Copied from the borrower onto open cases only, so the open-cases index can project it without the borrower. */
export const AGING_TIME_ZONE = "agingTimeZone";
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

/** The sparse index of open cases by due date, which only open cases carry keys for. */
export function openIndex(): { name: string; partitionKey: string; sortKey: string } {
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

export function toCase(item: Record<string, unknown>): LoanCase {
  const loanCase = { ...item };
  for (const name of CASE_KEY_ATTRIBUTES) delete loanCase[name];
  return loanCase as unknown as LoanCase;
}

/** An item of the openByDueDate index; the loan id is the sort key after `dueDate#`. */
export function toOpenCase(item: Record<string, unknown>, sortKey: string): OpenCase {
  const position = String(item[sortKey]);
  return {
    loanId: position.slice(position.indexOf("#") + 1),
    status: item.status as OpenCase["status"],
    dueDate: item.dueDate as string,
    balance: item.balance as OpenCase["balance"],
    timeZone: item[AGING_TIME_ZONE] as string,
  };
}

export function toAuditEntry(item: Record<string, unknown>): AuditEntry {
  const entry: Record<string, unknown> = {};
  for (const name of AUDIT_FIELDS) entry[name] = item[name];
  return entry as unknown as AuditEntry;
}

/** DynamoDB deletes a portal link's item this long after the link stops working. */
const PORTAL_LINK_KEPT_MS = 7 * 24 * 60 * 60 * 1000;

export function portalLinkItem(tokenHash: string, link: PortalLink): Record<string, unknown> {
  return {
    ...keys.portalLink(tokenHash),
    ...link,
    expiresAt: Math.ceil((Date.parse(link.validUntil) + PORTAL_LINK_KEPT_MS) / 1000),
  };
}

export function toPortalLink(item: Record<string, unknown>): PortalLink {
  const { pk: _pk, sk: _sk, expiresAt: _expiresAt, ...link } = item;
  return link as unknown as PortalLink;
}
