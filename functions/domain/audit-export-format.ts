import { createHash } from "node:crypto";
import { canonicalJson } from "./audit-chain.ts";

/**
 * The audit export's file formats, shared by the exporter and the verifier so both agree byte for byte.
 *
 * An export is two files side by side: the entries, and their manifest in `<name>.manifest.json`.
 * JSONL: one entry per line, `{"tenantId","loanId","seq","at","type","actor","data","prevHash","hash"}` in this
 * key order, `data` as canonical JSON, no whitespace; nothing else.
 * CSV: plain RFC 4180 records and nothing else: the header `tenantId,loanId,seq,at,type,actor,data,prevHash,hash`,
 * then one row per entry (`data` as canonical JSON; a field holding `"`, `,`, CR or LF is quoted, `"` doubled),
 * one record per physical line, every row with the header's nine fields, so `sqlite3 .import --csv` and any CSV
 * reader load it as it is.
 * Every line of either file ends with `\n` (LF). The manifest file is the manifest object as JSON (fields in the
 * documented order) followed by `\n`.
 */

export type ExportFormat = "jsonl" | "csv";
export const EXPORT_FORMATS: readonly ExportFormat[] = ["jsonl", "csv"];

export const CONTENT_TYPES: Record<ExportFormat, string> = {
  jsonl: "application/x-ndjson; charset=utf-8",
  csv: "text/csv; charset=utf-8",
};

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

export const CSV_HEADER = ENTRY_FIELDS.join(",");

/** The manifest travels beside the export: `<export file name>.manifest.json`. */
export const MANIFEST_SUFFIX = ".manifest.json";
export const MANIFEST_CONTENT_TYPE = "application/json; charset=utf-8";
export const manifestNameOf = (exportName: string) => `${exportName}${MANIFEST_SUFFIX}`;

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
const CASE_FIELDS = ["loanId", "count", "firstSeq", "lastSeq", "firstPrevHash", "headHash"] as const;

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** The entry's line in the format, without its `\n`. */
export function entryLine(entry: ExportedEntry, format: ExportFormat): string {
  if (format === "csv") {
    const fields = [
      entry.tenantId,
      entry.loanId,
      String(entry.seq),
      entry.at,
      entry.type,
      entry.actor,
      canonicalJson(entry.data),
      entry.prevHash,
      entry.hash,
    ];
    if (fields.some((field) => /[\r\n]/.test(field))) {
      throw new Error(
        `entry ${entry.loanId}#${entry.seq} has a line break in a field; CSV keeps one row per line`,
      );
    }
    return fields.map(csvField).join(",");
  }
  const parts = ENTRY_FIELDS.map((name) => {
    const value = name === "data" ? canonicalJson(entry.data) : JSON.stringify(entry[name]);
    return `${JSON.stringify(name)}:${value}`;
  });
  return `{${parts.join(",")}}`;
}

/** The manifest with its fields in the documented order (loanId only when set). */
function ordered(manifest: Omit<ExportManifest, "manifestHash"> & { manifestHash?: string }) {
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
    .update(canonicalJson(ordered(rest)))
    .digest("hex");
}

/** Adds the manifest's own hash. */
export function sealManifest(manifest: Omit<ExportManifest, "manifestHash">): ExportManifest {
  return { ...manifest, manifestHash: manifestHashOf(manifest) } as ExportManifest;
}

/** The manifest file's content: the manifest as JSON, fields in the documented order, then `\n`. */
export function manifestJson(manifest: ExportManifest): string {
  return `${JSON.stringify(ordered(manifest))}\n`;
}

/** Parses one CSV record (one physical line); null when a quote is left open or stray. */
export function parseCsvRecord(line: string): string[] | null {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let value = "";
      i++;
      for (;;) {
        const quote = line.indexOf('"', i);
        if (quote < 0) return null;
        value += line.slice(i, quote);
        if (line[quote + 1] === '"') {
          value += '"';
          i = quote + 2;
          continue;
        }
        i = quote + 1;
        break;
      }
      fields.push(value);
      if (i === line.length) return fields;
      if (line[i] !== ",") return null;
      i++;
    } else {
      const comma = line.indexOf(",", i);
      const value = comma < 0 ? line.slice(i) : line.slice(i, comma);
      if (value.includes('"')) return null;
      fields.push(value);
      if (comma < 0) return fields;
      i = comma + 1;
    }
  }
}
