import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { batchEntry } from "../contracts/requests.ts";
import type { SubscriptionRequest } from "../domain/loan-case.ts";

/**
 * Portfolio files, read the same way by the import CLI and the S3 import Lambda: streamed line by line (constant
 * memory whatever the size), every loan checked with the subscription schema before anything is sent.
 *
 * - JSONL (`.jsonl`, `.ndjson`): one `POST /v1/loans` body per line.
 * - CSV (`.csv`): a header row naming the columns below (any order; RFC 4180 quoting, `""` for a quote, quoted
 *   fields may span lines); an empty cell is an absent value.
 */
export const CSV_COLUMNS = [
  "loanId",
  "name",
  "email",
  "phone",
  "locale",
  "timeZone",
  "amount",
  "currency",
  "dueDate",
  "policyId",
] as const;
/** Columns a CSV must have; email/phone (at least one per row) and policyId (default `default`) may be left out. */
export const REQUIRED_CSV_COLUMNS = ["loanId", "name", "locale", "timeZone", "amount", "currency", "dueDate"];

export type PortfolioFormat = "jsonl" | "csv";

export type PortfolioLoanRequest = SubscriptionRequest & { policyId?: string };

/** One record of the file: a loan ready to send, or why its line is refused (never sent). */
export type PortfolioRecord =
  | { line: number; loan: PortfolioLoanRequest }
  | {
      line: number;
      loanId: string | null;
      error: { message: string; details: { path: string; message: string }[] };
    };

export function formatOf(fileName: string): PortfolioFormat {
  const lower = fileName.toLowerCase();
  if (lower.endsWith(".csv")) return "csv";
  if (lower.endsWith(".jsonl") || lower.endsWith(".ndjson")) return "jsonl";
  throw new Error(`${fileName}: expected a .jsonl, .ndjson or .csv file`);
}

/** Lines of a stream with their 1-based numbers; a UTF-8 byte order mark on the first line is dropped. */
export async function* numberedLines(input: Readable): AsyncGenerator<{ line: number; text: string }> {
  const reader = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  for await (const raw of reader) {
    line++;
    yield { line, text: line === 1 ? raw.replace(/^\uFEFF/, "") : raw };
  }
}

/** Every record of a portfolio stream, in file order. Blank lines are skipped. */
export async function* readPortfolio(
  input: Readable,
  format: PortfolioFormat,
): AsyncGenerator<PortfolioRecord> {
  const lines = numberedLines(input);
  yield* format === "csv" ? csvRecords(lines) : jsonlRecords(lines);
}

async function* jsonlRecords(
  lines: AsyncIterable<{ line: number; text: string }>,
): AsyncGenerator<PortfolioRecord> {
  for await (const { line, text } of lines) {
    if (text.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      yield { line, loanId: null, error: { message: "the line is not valid JSON", details: [] } };
      continue;
    }
    yield validated(line, value);
  }
}

async function* csvRecords(
  lines: AsyncIterable<{ line: number; text: string }>,
): AsyncGenerator<PortfolioRecord> {
  let header: string[] | undefined;
  for await (const { line, fields } of csvRows(lines)) {
    if (!header) {
      header = fields.map((f) => f.trim());
      const unknown = header.filter((name) => !(CSV_COLUMNS as readonly string[]).includes(name));
      const missing = REQUIRED_CSV_COLUMNS.filter((name) => !header?.includes(name));
      if (unknown.length > 0 || missing.length > 0 || new Set(header).size !== header.length) {
        throw new PortfolioFileError(
          `line ${line}: the CSV header must name the columns ${CSV_COLUMNS.join(",")} (required: ` +
            `${REQUIRED_CSV_COLUMNS.join(",")})${unknown.length ? `; unknown: ${unknown.join(",")}` : ""}` +
            `${missing.length ? `; missing: ${missing.join(",")}` : ""}`,
        );
      }
      continue;
    }
    if (fields.length === 1 && fields[0] === "") continue;
    if (fields.length !== header.length) {
      yield {
        line,
        loanId: null,
        error: { message: `expected ${header.length} fields, found ${fields.length}`, details: [] },
      };
      continue;
    }
    const row = new Map(header.map((name, i) => [name, fields[i] ?? ""]));
    const cell = (name: string) => {
      const value = row.get(name);
      return value === undefined || value === "" ? undefined : value;
    };
    const optional = (name: string) => {
      const value = cell(name);
      return value === undefined ? {} : { [name]: value };
    };
    yield validated(line, {
      loanId: cell("loanId"),
      borrower: {
        name: cell("name"),
        ...optional("email"),
        ...optional("phone"),
        locale: cell("locale"),
        timeZone: cell("timeZone"),
      },
      amountDue: { amount: cell("amount"), currency: cell("currency") },
      dueDate: cell("dueDate"),
      ...optional("policyId"),
    });
  }
}

function validated(line: number, value: unknown): PortfolioRecord {
  const entry = batchEntry(value, "");
  if ("request" in entry) return { line, loan: entry.request };
  return {
    line,
    loanId: entry.loanId,
    error: { message: entry.invalid.message, details: entry.invalid.details ?? [] },
  };
}

/** A quoted CSV field may span lines (an address, a note), but not without bound. */
const MAX_ROW_LINES = 20;

/** A file that cannot be read as a portfolio at all (e.g. a CSV without the expected header). */
export class PortfolioFileError extends Error {
  override name = "PortfolioFileError";
}

/**
 * RFC 4180 rows from lines: fields split on commas, `"…"` quoting with `""` for a quote; a quoted field may hold
 * commas and line breaks (the row then spans several lines and is numbered by its first). Whitespace is kept.
 */
export async function* csvRows(
  lines: AsyncIterable<{ line: number; text: string }>,
): AsyncGenerator<{ line: number; fields: string[] }> {
  let fields: string[] = [];
  let field = "";
  let quoted = false;
  let start = 0;
  for await (const { line, text } of lines) {
    if (!quoted) {
      start = line;
      fields = [];
      field = "";
    } else field += "\n";
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (quoted) {
        if (c === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i++;
          } else quoted = false;
        } else field += c;
      } else if (c === '"' && field === "") quoted = true;
      else if (c === ",") {
        fields.push(field);
        field = "";
      } else field += c;
    }
    if (quoted) {
      // An unbalanced quote would otherwise swallow the rest of the file into one field.
      if (line - start >= MAX_ROW_LINES) {
        throw new PortfolioFileError(
          `line ${start}: a quoted field is not closed within ${MAX_ROW_LINES} lines`,
        );
      }
      continue;
    }
    fields.push(field);
    yield { line: start, fields };
  }
  if (quoted) throw new PortfolioFileError(`line ${start}: a quoted field is never closed`);
}

/**
 * Groups an async stream into arrays of at most `size` items and, when `maxBytes` is given, at most that much
 * JSON (an item larger on its own still goes, alone): loans with long schedules fill a message sooner.
 */
export async function* inBatches<T>(
  items: AsyncIterable<T>,
  size: number,
  maxBytes = Number.POSITIVE_INFINITY,
): AsyncGenerator<T[]> {
  let batch: T[] = [];
  let bytes = 0;
  for await (const item of items) {
    const itemBytes = Number.isFinite(maxBytes) ? Buffer.byteLength(JSON.stringify(item)) : 0;
    if (batch.length > 0 && bytes + itemBytes > maxBytes) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(item);
    bytes += itemBytes;
    if (batch.length >= size) {
      yield batch;
      batch = [];
      bytes = 0;
    }
  }
  if (batch.length > 0) yield batch;
}
