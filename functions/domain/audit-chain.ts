import { createHash } from "node:crypto";
import { canonicalJson } from "./canonical-json.ts";

export { canonicalJson };

/** What a change records; the repository places it in the case's chain. */
export interface AuditEvent {
  type: string;
  actor: string;
  data: Record<string, unknown>;
}

export interface AuditEntry extends AuditEvent {
  seq: number;
  at: string;
  prevHash: string;
  hash: string;
}

export interface ChainHead {
  seq: number;
  hash: string;
}

export const GENESIS_HASH = "0".repeat(64);

/**
 * The loan id of a tenant's own chain (policy changes, API key changes), beside its loans' chains. It is a loan
 * id by the API's pattern, so an export lists it like any case and `loanId=tenant:admin` exports it alone; no
 * loan may be subscribed under it.
 */
export const TENANT_SCOPE = "tenant:admin";
export const EMPTY_CHAIN: ChainHead = { seq: 0, hash: GENESIS_HASH };

export interface ChainScope {
  tenantId: string;
  loanId: string;
}

/** SHA-256 over the canonical JSON of the entry and its scope, so any field change shows. */
export function entryHash(scope: ChainScope, entry: Omit<AuditEntry, "hash">): string {
  const canonical = canonicalJson({ ...scope, ...entry });
  return createHash("sha256").update(canonical).digest("hex");
}

/** Appends events after `head`, each carrying its predecessor's hash. */
export function appendToChain(
  scope: ChainScope,
  head: ChainHead,
  events: AuditEvent[],
  at: string,
): { entries: AuditEntry[]; head: ChainHead } {
  const entries: AuditEntry[] = [];
  let current = head;
  for (const event of events) {
    const unsealed = { seq: current.seq + 1, at, type: event.type, actor: event.actor, data: event.data };
    const entry = { ...unsealed, prevHash: current.hash, hash: "" };
    entry.hash = entryHash(scope, { ...unsealed, prevHash: current.hash });
    entries.push(entry);
    current = { seq: entry.seq, hash: entry.hash };
  }
  return { entries, head: current };
}

export type ChainVerdict = { valid: true; head: ChainHead } | { valid: false; seq: number; reason: string };

/** Checks sequence, linkage and every hash from the genesis entry on. */
export function verifyChain(scope: ChainScope, entries: AuditEntry[]): ChainVerdict {
  let head = EMPTY_CHAIN;
  for (const entry of entries) {
    if (entry.seq !== head.seq + 1)
      return { valid: false, seq: entry.seq, reason: `expected seq ${head.seq + 1}` };
    if (entry.prevHash !== head.hash)
      return { valid: false, seq: entry.seq, reason: "prevHash does not link" };
    const { hash, ...unsealed } = entry;
    if (entryHash(scope, unsealed) !== hash)
      return { valid: false, seq: entry.seq, reason: "hash does not match" };
    head = { seq: entry.seq, hash };
  }
  return { valid: true, head };
}
