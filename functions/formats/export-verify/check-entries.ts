import { entryHash } from "../../domain/audit-chain.ts";
import type { ExportedEntry } from "../../domain/audit-export.ts";
import { entryLine } from "../audit-export-files.ts";
import { named, type Report, type Seen } from "./problems.ts";
import type { EntryLine } from "./read-lines.ts";

/** What is kept of one case as its entries go by: their count, the first and the last, never the entries. */
export interface CaseState {
  count: number;
  first: Seen & { prevHash: string };
  last: Seen & { hash: string };
}

/** What the entries read add up to, for reconciling the manifest. */
export interface EntriesRead {
  entries: number;
  /** Each case, by loan id, in the order its first entry came. */
  cases: Map<string, CaseState>;
  /** Each tenant, at its first entry. */
  tenants: Map<string, Seen>;
  earliest: (Seen & { at: string }) | null;
  latest: (Seen & { at: string }) | null;
}

const sortKey = (e: { at: string; loanId: string; seq: number }) =>
  `${e.at}#${e.loanId}#${String(e.seq).padStart(10, "0")}`;

/**
 * Checks each entry as it is read: the line exactly as the exporter writes the entry, its hash recomputed
 * (scope tenantId + loanId), (at, loanId, seq) order across the file, and within its case the next seq and the
 * predecessor's hash as prevHash.
 */
export class EntryChecker implements EntriesRead {
  entries = 0;
  readonly cases = new Map<string, CaseState>();
  readonly tenants = new Map<string, Seen>();
  earliest: (Seen & { at: string }) | null = null;
  latest: (Seen & { at: string }) | null = null;
  private previous: (Seen & { key: string }) | null = null;

  constructor(private readonly report: Report) {}

  check({ line, raw, format, entry }: EntryLine): void {
    this.entries++;
    const here: Seen = { line, loanId: entry.loanId, seq: entry.seq };
    let canonical: string | null;
    try {
      canonical = entryLine(entry, format);
    } catch {
      canonical = null;
    }
    if (canonical !== raw) {
      this.report({
        ...named(here),
        code: "NOT_CANONICAL",
        message: "the line is not as the exporter writes this entry",
      });
    }
    const { tenantId, loanId, hash, ...unsealed } = entry;
    if (entryHash({ tenantId, loanId }, unsealed) !== hash) {
      this.report({
        ...named(here),
        code: "HASH_MISMATCH",
        message: "the entry's hash does not match its content",
      });
    }
    this.checkOrder(entry, here);
    this.checkLink(entry, here);
    if (!this.tenants.has(tenantId)) this.tenants.set(tenantId, here);
    if (!this.earliest || entry.at < this.earliest.at) this.earliest = { ...here, at: entry.at };
    if (!this.latest || entry.at >= this.latest.at) this.latest = { ...here, at: entry.at };
  }

  /** Every entry after the one before it in (at, loanId, seq) order. */
  private checkOrder(entry: ExportedEntry, here: Seen): void {
    const key = sortKey(entry);
    const previous = this.previous;
    if (previous && key <= previous.key) {
      this.report({
        ...named(here),
        code: "OUT_OF_ORDER",
        message: `out of (at, loanId, seq) order: it does not come after line ${previous.line} (${previous.loanId} seq ${previous.seq})`,
      });
    }
    this.previous = { ...here, key };
  }

  /** Within its case, the entry carries the next seq and its predecessor's hash. */
  private checkLink(entry: ExportedEntry, here: Seen): void {
    const state = this.cases.get(entry.loanId);
    if (!state) {
      this.cases.set(entry.loanId, {
        count: 1,
        first: { ...here, prevHash: entry.prevHash },
        last: { ...here, hash: entry.hash },
      });
      return;
    }
    const expected = state.last.seq + 1;
    if (entry.seq !== expected) {
      const gap = entry.seq > expected ? `; seq ${expected}..${entry.seq - 1} missing` : "";
      this.report({
        ...named(here),
        code: "SEQ_BREAK",
        message: `seq ${entry.seq} follows seq ${state.last.seq} (line ${state.last.line}), ${expected} expected${gap}`,
      });
    } else if (entry.prevHash !== state.last.hash) {
      this.report({
        ...named(here),
        code: "LINK_BROKEN",
        message: `prevHash is not the hash of seq ${state.last.seq} (line ${state.last.line})`,
      });
    }
    state.count++;
    state.last = { ...here, hash: entry.hash };
  }
}
