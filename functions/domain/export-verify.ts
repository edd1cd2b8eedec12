import { createHash } from "node:crypto";
import { entryHash } from "./audit-chain.ts";
import {
  CSV_HEADER,
  ENTRY_FIELDS,
  type ExportedCase,
  type ExportedEntry,
  type ExportFormat,
  type ExportManifest,
  entryLine,
  MANIFEST_FIELDS,
  manifestHashOf,
  parseCsvRecord,
} from "./audit-export-format.ts";

/**
 * Verifies an audit export (see audit-export-format.ts) from its lines and the manifest beside it, holding per case
 * a few fields and never the entries: every entry's hash is recomputed (scope tenantId + loanId); within a case
 * each entry must carry the next seq and its predecessor's hash, and the case's first exported entry the
 * manifest's firstPrevHash; lines must come in (at, loanId, seq) order, each exactly as the exporter writes it,
 * `at` in whole seconds; the manifest must match what was read: entry count, per-case seq range, first link and
 * head, the digest of the whole file, its own hash, the tenant, the range and the loan filter.
 *
 * This proves the file is intact and complete against its manifest. It does not prove who wrote it: someone
 * able to recompute every hash can forge a consistent file; compare the heads with the live trail for that.
 */

export type ExportProblemCode =
  | "EMPTY"
  | "BAD_HEADER"
  | "MALFORMED_LINE"
  | "NOT_CANONICAL"
  | "HASH_MISMATCH"
  | "OUT_OF_ORDER"
  | "SEQ_BREAK"
  | "LINK_BROKEN"
  | "MISSING_MANIFEST"
  | "MALFORMED_MANIFEST"
  | "MANIFEST_HASH_MISMATCH"
  | "FORMAT_MISMATCH"
  | "DIGEST_MISMATCH"
  | "COUNT_MISMATCH"
  | "WRONG_TENANT"
  | "OUT_OF_RANGE"
  | "WRONG_LOAN"
  | "CASE_MISSING"
  | "CASE_NOT_IN_MANIFEST"
  | "CASE_MISMATCH";

export interface ExportProblem {
  /** 1-based line of the export file the problem is found at; 0 for what only the manifest shows. */
  line: number;
  loanId?: string;
  seq?: number;
  code: ExportProblemCode;
  message: string;
}

export interface ExportVerdict {
  valid: boolean;
  format: ExportFormat | null;
  lines: number;
  entries: number;
  cases: number;
  manifest: ExportManifest | null;
  problems: ExportProblem[];
}

const HEX64 = /^[0-9a-f]{64}$/;
/** The stored form of `at`: UTC, whole seconds, `Z` (toInstant). */
const WHOLE_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

interface Seen {
  line: number;
  loanId: string;
  seq: number;
}

interface CaseState {
  count: number;
  first: Seen & { prevHash: string };
  last: Seen & { hash: string };
}

type Parsed = { entry: ExportedEntry } | { error: string; loanId?: string; seq?: number };

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

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

function parseEntry(raw: string, format: ExportFormat): Parsed {
  let value: unknown;
  if (format === "csv") {
    const fields = parseCsvRecord(raw);
    if (!fields) return { error: "not a valid CSV record (quoting)", ...hint(raw, format) };
    if (fields.length !== ENTRY_FIELDS.length) {
      return { error: `${fields.length} fields, ${ENTRY_FIELDS.length} expected`, ...hint(raw, format) };
    }
    const record = Object.fromEntries(ENTRY_FIELDS.map((name, i) => [name, fields[i]])) as Record<
      string,
      unknown
    >;
    if (!/^[1-9]\d*$/.test(String(record.seq)))
      return { error: "seq is not a positive integer", ...hint(raw, format) };
    record.seq = Number(record.seq);
    try {
      record.data = JSON.parse(String(record.data));
    } catch {
      return { error: "data is not JSON", ...hint(raw, format) };
    }
    value = record;
  } else {
    try {
      value = JSON.parse(raw);
    } catch {
      return { error: "not valid JSON", ...hint(raw, format) };
    }
    if (!isObject(value)) return { error: "not a JSON object", ...hint(raw, format) };
  }
  const invalid = checkEntry(value as Record<string, unknown>);
  if (invalid) return { error: invalid, ...hint(raw, format) };
  return { entry: value as unknown as ExportedEntry };
}

function checkManifest(value: unknown): string | null {
  if (!isObject(value)) return "the manifest is not an object";
  const allowed: readonly string[] = MANIFEST_FIELDS;
  const extra = Object.keys(value).filter((k) => !allowed.includes(k));
  if (extra.length > 0) return `unexpected manifest fields: ${extra.join(", ")}`;
  if (value.version !== 1) return "version is not 1";
  for (const name of ["tenantId", "from", "to", "generatedAt"]) {
    if (typeof value[name] !== "string") return `${name} is not a string`;
  }
  if (value.loanId !== undefined && typeof value.loanId !== "string") return "loanId is not a string";
  if (value.format !== "jsonl" && value.format !== "csv") return "format is not jsonl or csv";
  if (!Number.isSafeInteger(value.entryCount) || (value.entryCount as number) < 0) {
    return "entryCount is not a count";
  }
  for (const name of ["digest", "manifestHash"]) {
    if (typeof value[name] !== "string" || !HEX64.test(value[name] as string)) {
      return `${name} is not 64 hex digits`;
    }
  }
  if (!Array.isArray(value.cases)) return "cases is not a list";
  for (const [i, c] of value.cases.entries()) {
    if (!isObject(c)) return `cases[${i}] is not an object`;
    const keys = ["loanId", "count", "firstSeq", "lastSeq", "firstPrevHash", "headHash"];
    if (Object.keys(c).length !== keys.length || !keys.every((k) => k in c))
      return `cases[${i}] has other fields`;
    if (typeof c.loanId !== "string") return `cases[${i}].loanId is not a string`;
    for (const k of ["count", "firstSeq", "lastSeq"]) {
      if (!Number.isSafeInteger(c[k]) || (c[k] as number) < 1)
        return `cases[${i}].${k} is not a positive integer`;
    }
    for (const k of ["firstPrevHash", "headHash"]) {
      if (typeof c[k] !== "string" || !HEX64.test(c[k] as string))
        return `cases[${i}].${k} is not 64 hex digits`;
    }
  }
  return null;
}

const sortKey = (e: { at: string; loanId: string; seq: number }) =>
  `${e.at}#${e.loanId}#${String(e.seq).padStart(10, "0")}`;
const named = (seen: Seen) => ({ line: seen.line, loanId: seen.loanId, seq: seen.seq });

export async function verifyExport(
  lines: AsyncIterable<string> | Iterable<string>,
  manifestText: string | null,
): Promise<ExportVerdict> {
  const problems: ExportProblem[] = [];
  const report = (problem: ExportProblem) => problems.push(problem);
  const digest = createHash("sha256");
  const cases = new Map<string, CaseState>();
  const tenants = new Map<string, Seen>();
  let lineNo = 0;
  let entries = 0;
  let previous: (Seen & { key: string }) | null = null;
  let earliest: (Seen & { at: string }) | null = null;
  let latest: (Seen & { at: string }) | null = null;

  // The manifest, from the file beside the export.
  let value: ExportManifest | null = null;
  if (manifestText === null) {
    report({ line: 0, code: "MISSING_MANIFEST", message: "there is no manifest beside the export" });
  } else {
    let parsed: unknown;
    let invalid: string | null;
    try {
      parsed = JSON.parse(manifestText);
      invalid = checkManifest(parsed);
    } catch {
      invalid = "not JSON";
    }
    if (invalid) {
      report({ line: 0, code: "MALFORMED_MANIFEST", message: `the manifest is malformed: ${invalid}` });
    } else {
      value = parsed as ExportManifest;
      if (manifestHashOf(value) !== value.manifestHash) {
        report({
          line: 0,
          code: "MANIFEST_HASH_MISMATCH",
          message: "the manifest's own hash does not match it: it was altered",
        });
      }
    }
  }
  let format: ExportFormat | null = value?.format ?? null;

  for await (const raw of lines) {
    lineNo++;
    digest.update(`${raw}\n`, "utf8");
    if (lineNo === 1) {
      const seen: ExportFormat = raw.startsWith("{") ? "jsonl" : "csv";
      if (format !== null && seen !== format) {
        report({
          line: 1,
          code: "FORMAT_MISMATCH",
          message: `the manifest says ${format}, the file reads as ${seen}`,
        });
      }
      format ??= seen;
      if (format === "csv") {
        if (raw !== CSV_HEADER) {
          report({ line: 1, code: "BAD_HEADER", message: `the CSV header is not ${CSV_HEADER}` });
        }
        continue;
      }
    }
    const fmt = format as ExportFormat;

    // An entry line.
    const parsed = parseEntry(raw, fmt);
    if ("error" in parsed) {
      const { error, ...which } = parsed;
      report({
        line: lineNo,
        ...which,
        code: "MALFORMED_LINE",
        message: `the entry line is malformed: ${error}`,
      });
      continue;
    }
    const { entry } = parsed;
    entries++;
    const here: Seen = { line: lineNo, loanId: entry.loanId, seq: entry.seq };
    let canonical: string | null;
    try {
      canonical = entryLine(entry, fmt);
    } catch {
      canonical = null;
    }
    if (canonical !== raw) {
      report({
        ...named(here),
        code: "NOT_CANONICAL",
        message: "the line is not as the exporter writes this entry",
      });
    }
    const { tenantId, loanId, hash, ...unsealed } = entry;
    if (entryHash({ tenantId, loanId }, unsealed) !== hash) {
      report({
        ...named(here),
        code: "HASH_MISMATCH",
        message: "the entry's hash does not match its content",
      });
    }

    const key = sortKey(entry);
    if (previous && key <= previous.key) {
      report({
        ...named(here),
        code: "OUT_OF_ORDER",
        message: `out of (at, loanId, seq) order: it does not come after line ${previous.line} (${previous.loanId} seq ${previous.seq})`,
      });
    }
    previous = { ...here, key };

    const state = cases.get(loanId);
    if (!state) {
      cases.set(loanId, {
        count: 1,
        first: { ...here, prevHash: entry.prevHash },
        last: { ...here, hash },
      });
    } else {
      const expected = state.last.seq + 1;
      if (entry.seq !== expected) {
        const gap = entry.seq > expected ? `; seq ${expected}..${entry.seq - 1} missing` : "";
        report({
          ...named(here),
          code: "SEQ_BREAK",
          message: `seq ${entry.seq} follows seq ${state.last.seq} (line ${state.last.line}), ${expected} expected${gap}`,
        });
      } else if (entry.prevHash !== state.last.hash) {
        report({
          ...named(here),
          code: "LINK_BROKEN",
          message: `prevHash is not the hash of seq ${state.last.seq} (line ${state.last.line})`,
        });
      }
      state.count++;
      state.last = { ...here, hash };
    }
    if (!tenants.has(tenantId)) tenants.set(tenantId, here);
    if (!earliest || entry.at < earliest.at) earliest = { ...here, at: entry.at };
    if (!latest || entry.at >= latest.at) latest = { ...here, at: entry.at };
  }

  if (lineNo === 0 && (format === "csv" || value === null)) {
    report({ line: 0, code: "EMPTY", message: "the export is empty" });
  }

  if (value) {
    const at = 0;
    if (digest.digest("hex") !== value.digest) {
      report({
        line: at,
        code: "DIGEST_MISMATCH",
        message: "the digest of the file does not match the manifest's",
      });
    }
    if (entries !== value.entryCount) {
      report({
        line: at,
        code: "COUNT_MISMATCH",
        message: `${entries} entries read, the manifest says ${value.entryCount}`,
      });
    }
    for (const [tenantId, first] of tenants) {
      if (tenantId !== value.tenantId) {
        report({
          ...named(first),
          code: "WRONG_TENANT",
          message: `an entry of tenant ${tenantId} in an export of ${value.tenantId}`,
        });
      }
    }
    if (earliest && earliest.at < value.from) {
      report({
        ...named(earliest),
        code: "OUT_OF_RANGE",
        message: `at ${earliest.at} is before the range's start ${value.from}`,
      });
    }
    if (latest && latest.at >= value.to) {
      report({
        ...named(latest),
        code: "OUT_OF_RANGE",
        message: `at ${latest.at} is not before the range's end ${value.to}`,
      });
    }
    const listed = new Map<string, ExportedCase>();
    for (const c of value.cases) {
      if (listed.has(c.loanId)) {
        report({
          line: at,
          loanId: c.loanId,
          code: "CASE_MISMATCH",
          message: "the manifest lists the case twice",
        });
      }
      listed.set(c.loanId, c);
    }
    for (const [loanId, state] of cases) {
      if (value.loanId !== undefined && loanId !== value.loanId) {
        report({
          ...named(state.first),
          code: "WRONG_LOAN",
          message: `an entry of ${loanId} in an export of ${value.loanId}`,
        });
      }
      if (!listed.has(loanId)) {
        report({
          ...named(state.first),
          code: "CASE_NOT_IN_MANIFEST",
          message: `the manifest does not list ${loanId}`,
        });
      }
    }
    for (const c of listed.values()) {
      const state = cases.get(c.loanId);
      if (!state) {
        report({
          line: at,
          loanId: c.loanId,
          seq: c.firstSeq,
          code: "CASE_MISSING",
          message: `the manifest lists seq ${c.firstSeq}..${c.lastSeq} of ${c.loanId}; none is in the file`,
        });
        continue;
      }
      if (state.first.seq !== c.firstSeq) {
        report({
          ...named(state.first),
          code: "CASE_MISMATCH",
          message: `the case's first entry is seq ${state.first.seq}, the manifest says ${c.firstSeq}`,
        });
      } else if (state.first.prevHash !== c.firstPrevHash) {
        report({
          ...named(state.first),
          code: "LINK_BROKEN",
          message: "the case's first entry does not carry the manifest's firstPrevHash",
        });
      }
      if (state.last.seq < c.lastSeq) {
        report({
          line: at,
          loanId: c.loanId,
          seq: state.last.seq + 1,
          code: "CASE_MISMATCH",
          message: `seq ${state.last.seq + 1}..${c.lastSeq} missing: the file ends the case at seq ${state.last.seq} (line ${state.last.line}), the manifest at ${c.lastSeq}`,
        });
      } else if (state.last.seq > c.lastSeq) {
        report({
          ...named(state.last),
          code: "CASE_MISMATCH",
          message: `the case runs to seq ${state.last.seq}, the manifest ends it at ${c.lastSeq}`,
        });
      } else if (state.last.hash !== c.headHash) {
        report({
          ...named(state.last),
          code: "CASE_MISMATCH",
          message: "the case's last hash is not the manifest's headHash",
        });
      }
      if (state.count !== c.count) {
        report({
          line: at,
          loanId: c.loanId,
          code: "CASE_MISMATCH",
          message: `${state.count} entries of the case read, the manifest says ${c.count}`,
        });
      }
    }
  }

  return {
    valid: problems.length === 0,
    format,
    lines: lineNo,
    entries,
    cases: cases.size,
    manifest: value,
    problems,
  };
}

/**
 * One line per problem: `line 12: loan L-1: seq 4: HASH_MISMATCH: …`, or `manifest: …` for what only the
 * manifest shows.
 */
export function describeProblem(problem: ExportProblem): string {
  const which = [
    problem.line === 0 ? "manifest" : `line ${problem.line}`,
    ...(problem.loanId !== undefined ? [`loan ${problem.loanId}`] : []),
    ...(problem.seq !== undefined ? [`seq ${problem.seq}`] : []),
  ].join(": ");
  return `${which}: ${problem.code}: ${problem.message}`;
}
