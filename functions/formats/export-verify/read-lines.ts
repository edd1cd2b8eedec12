import { createHash } from "node:crypto";
import { ENTRY_FIELDS, type ExportedEntry, type ExportFormat } from "../../domain/audit-export.ts";
import { CSV_HEADER, parseCsvRecord } from "../audit-export-files.ts";
import type { Report } from "./problems.ts";
import { HEX64, isObject, WHOLE_SECONDS } from "./values.ts";

/** An entry line of the file, parsed into an entry's fields (not yet checked against its hash or chain). */
export interface EntryLine {
  /** 1-based line of the file. */
  line: number;
  raw: string;
  format: ExportFormat;
  entry: ExportedEntry;
}

type Parsed = { entry: ExportedEntry } | { error: string; loanId?: string; seq?: number };

/**
 * Reads the export file one line at a time: digests every byte, settles the format on the first line (the
 * manifest's when there is one, else what the line reads as), checks the CSV header, and parses each entry line
 * into an entry's fields, reporting a line that does not hold one.
 */
export class LineReader {
  /** Lines read, the CSV header and malformed lines included. */
  lines = 0;
  private readonly digest = createHash("sha256");

  constructor(
    public format: ExportFormat | null,
    private readonly report: Report,
  ) {}

  /** The entry the line holds; null for the CSV header and for a malformed line. */
  read(raw: string): EntryLine | null {
    this.lines++;
    this.digest.update(`${raw}\n`, "utf8");
    if (this.lines === 1 && this.isHeader(raw)) return null;
    const format = this.format as ExportFormat;
    const parsed = parseEntry(raw, format);
    if ("error" in parsed) {
      const { error, ...which } = parsed;
      this.report({
        line: this.lines,
        ...which,
        code: "MALFORMED_LINE",
        message: `the entry line is malformed: ${error}`,
      });
      return null;
    }
    return { line: this.lines, raw, format, entry: parsed.entry };
  }

  /** SHA-256 (hex) of every line read, each followed by `\n`: the manifest's `digest` of an intact file. */
  digestHex(): string {
    return this.digest.digest("hex");
  }

  /** Settles the format on the first line; true when that line is the CSV header rather than an entry. */
  private isHeader(raw: string): boolean {
    const seen: ExportFormat = raw.startsWith("{") ? "jsonl" : "csv";
    if (this.format !== null && seen !== this.format) {
      this.report({
        line: 1,
        code: "FORMAT_MISMATCH",
        message: `the manifest says ${this.format}, the file reads as ${seen}`,
      });
    }
    this.format ??= seen;
    if (this.format !== "csv") return false;
    if (raw !== CSV_HEADER) {
      this.report({ line: 1, code: "BAD_HEADER", message: `the CSV header is not ${CSV_HEADER}` });
    }
    return true;
  }
}

/** Why the fields are not an exported entry's, or null when they are. */
function checkEntry(value: Record<string, unknown>): string | null {
  const keys = Object.keys(value);
  const missing = ENTRY_FIELDS.filter((f) => !(f in value));
  const extra = keys.filter((k) => !(ENTRY_FIELDS as readonly string[]).includes(k));
  if (missing.length > 0 || extra.length > 0) {
    return `fields ${[...missing.map((m) => `missing ${m}`), ...extra.map((e) => `unexpected ${e}`)].join(", ")}`;
  }
  for (const name of ["tenantId", "loanId", "at", "type", "actor"] as const) {
    if (typeof value[name] !== "string") return `${name} is not a string`;
  }
  if (!WHOLE_SECONDS.test(value.at as string)) return "at is not an instant in whole seconds (…T10:00:00Z)";
  if (!Number.isSafeInteger(value.seq) || (value.seq as number) < 1) return "seq is not a positive integer";
  if (!isObject(value.data)) return "data is not an object";
  if (typeof value.prevHash !== "string" || !HEX64.test(value.prevHash))
    return "prevHash is not 64 hex digits";
  if (typeof value.hash !== "string" || !HEX64.test(value.hash)) return "hash is not 64 hex digits";
  return null;
}

/** What a broken line still says about the entry it was, to name it. */
function hint(raw: string, format: ExportFormat): { loanId?: string; seq?: number } {
  if (format === "csv") {
    const [, loanId, seq] = raw.split(",");
    return { ...(loanId ? { loanId } : {}), ...(seq && /^\d+$/.test(seq) ? { seq: Number(seq) } : {}) };
  }
  const loanId = /"loanId":"((?:[^"\\]|\\.)*)"/.exec(raw)?.[1];
  const seq = /"seq":(\d+)/.exec(raw)?.[1];
  return { ...(loanId ? { loanId } : {}), ...(seq ? { seq: Number(seq) } : {}) };
}

/** A CSV row's nine fields as an entry's values: seq a number, data parsed from its JSON. */
function csvValues(raw: string): Record<string, unknown> | string {
  const fields = parseCsvRecord(raw);
  if (!fields) return "not a valid CSV record (quoting)";
  if (fields.length !== ENTRY_FIELDS.length)
    return `${fields.length} fields, ${ENTRY_FIELDS.length} expected`;
  const record = Object.fromEntries(ENTRY_FIELDS.map((name, i) => [name, fields[i]])) as Record<
    string,
    unknown
  >;
  if (!/^[1-9]\d*$/.test(String(record.seq))) return "seq is not a positive integer";
  record.seq = Number(record.seq);
  try {
    record.data = JSON.parse(String(record.data));
  } catch {
    return "data is not JSON";
  }
  return record;
}

/** A JSONL line's object. */
function jsonValues(raw: string): Record<string, unknown> | string {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return "not valid JSON";
  }
  return isObject(value) ? value : "not a JSON object";
}

function parseEntry(raw: string, format: ExportFormat): Parsed {
  const value = format === "csv" ? csvValues(raw) : jsonValues(raw);
  const invalid = typeof value === "string" ? value : checkEntry(value);
  if (invalid) return { error: invalid, ...hint(raw, format) };
  return { entry: value as unknown as ExportedEntry };
}
