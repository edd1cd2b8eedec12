import { canonicalJson } from "../domain/audit-chain.ts";
import {
  ENTRY_FIELDS,
  type ExportedEntry,
  type ExportFormat,
  type ExportManifest,
  manifestFields,
} from "../domain/audit-export.ts";

/**
 * The audit export's files (what they hold: functions/domain/audit-export.ts), shared by the exporter and the
 * verifier so both agree byte for byte.
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

export const CONTENT_TYPES: Record<ExportFormat, string> = {
  jsonl: "application/x-ndjson; charset=utf-8",
  csv: "text/csv; charset=utf-8",
};

export const CSV_HEADER = ENTRY_FIELDS.join(",");

/** The manifest travels beside the export: `<export file name>.manifest.json`. */
export const MANIFEST_SUFFIX = ".manifest.json";
export const MANIFEST_CONTENT_TYPE = "application/json; charset=utf-8";
export const manifestNameOf = (exportName: string) => `${exportName}${MANIFEST_SUFFIX}`;

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

/** The manifest file's content: the manifest as JSON, fields in the documented order, then `\n`. */
export function manifestJson(manifest: ExportManifest): string {
  return `${JSON.stringify(manifestFields(manifest))}\n`;
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
