import type { AuditEntry } from "../domain/audit-chain.ts";

/** Ports of the compliance export: reading a tenant's audit trail by time. */

/** An audit entry with the chain it belongs to (its hash covers tenantId and loanId too). */
export interface ScopedAuditEntry extends AuditEntry {
  tenantId: string;
  loanId: string;
}

/**
 * A half-open time range [from, to) over the entries' `at`. Both bounds are instants in the stored form
 * (ISO 8601 UTC, whole seconds, `Z`: see toInstant), so they compare as strings.
 */
export interface AuditRange {
  from: string;
  to: string;
  /** Only this loan's entries (its own partition, in seq order). */
  loanId?: string;
}

export interface AuditReader {
  /**
   * Every entry of the tenant in the range, in (at, loanId, seq) order, read page by page: the caller holds
   * one page at a time, never the whole range.
   */
  entries(tenantId: string, range: AuditRange): AsyncIterable<ScopedAuditEntry>;
}
