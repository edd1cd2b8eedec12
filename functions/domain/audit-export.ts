import { createHash } from "node:crypto";
import { canonicalJson } from "./audit-chain.ts";

/**
 * What an audit export contains: the tenant's chained audit entries of a time range (of one loan, when asked), in
 * (at, loanId, seq) order, and the manifest that travels beside them: the range, the entry count, each case's
 * first link and head, the digest of the export file and the manifest's own hash.
 *
 * How entries are written as lines, how the files are named and served, lives in
 * functions/formats/audit-export-files.ts.
 */

export type ExportFormat = "jsonl" | "csv";
export const EXPORT_FORMATS: readonly ExportFormat[] = ["jsonl", "csv"];

export interface ExportedEntry {
  tenantId: string;
  loanId: string;
  seq: number;
  at: string;
  type: string;
  actor: string;
  data: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

/** An exported entry's fields, in the order every format writes them. */
export const ENTRY_FIELDS = [
  "tenantId",
  "loanId",
  "seq",
  "at",
  "type",
  "actor",
  "data",
  "prevHash",
  "hash",
] as const;

/** One case's chain within the export. */
export interface ExportedCase {
  loanId: string;
  /** Entries of the case in the export. */
  count: number;
  firstSeq: number;
  lastSeq: number;
  /** The prevHash of the case's first exported entry (64 zeros when the export starts at seq 1). */
  firstPrevHash: string;
  /** The hash of the case's last exported entry. */
  headHash: string;
}

export interface ExportManifest {
  version: 1;
  tenantId: string;
  /** The range, half-open: from <= at < to. */
  from: string;
  to: string;
  loanId?: string;
  generatedAt: string;
  format: ExportFormat;
  entryCount: number;
  /** Every case with an entry in the export, by loan id. */
  cases: ExportedCase[];
  /**
   * SHA-256 (hex) of every byte of the export file: each line (JSONL: the entry lines; CSV: the header and the
   * entry rows) in UTF-8 followed by `\n`, in file order.
   */
  digest: string;
  /** SHA-256 (hex) of the canonical JSON of this manifest without `manifestHash`. */
  manifestHash: string;
}

/** The manifest's fields, in the documented order. */
export const MANIFEST_FIELDS = [
  "version",
  "tenantId",
  "from",
  "to",
  "loanId",
  "generatedAt",
  "format",
  "entryCount",
  "cases",
  "digest",
  "manifestHash",
] as const;

/** A manifest case's fields, in the documented order. */
export const CASE_FIELDS = ["loanId", "count", "firstSeq", "lastSeq", "firstPrevHash", "headHash"] as const;

/** The manifest's documented fields and nothing else, in the documented order (loanId only when set). */
export function manifestFields(
  manifest: Omit<ExportManifest, "manifestHash"> & { manifestHash?: string },
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of MANIFEST_FIELDS) {
    if (name === "cases") {
      out.cases = manifest.cases.map((c) => Object.fromEntries(CASE_FIELDS.map((f) => [f, c[f]])));
    } else if (manifest[name] !== undefined) out[name] = manifest[name];
  }
  return out;
}

export function manifestHashOf(manifest: Omit<ExportManifest, "manifestHash">): string {
  const { manifestHash: _ignored, ...rest } = manifest as ExportManifest;
  return createHash("sha256")
    .update(canonicalJson(manifestFields(rest)))
    .digest("hex");
}

/** Adds the manifest's own hash. */
export function sealManifest(manifest: Omit<ExportManifest, "manifestHash">): ExportManifest {
  return { ...manifest, manifestHash: manifestHashOf(manifest) } as ExportManifest;
}
