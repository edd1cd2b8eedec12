import type { ExportFormat, ExportManifest } from "../../domain/audit-export.ts";
import { EntryChecker } from "./check-entries.ts";
import type { ExportProblem, Report } from "./problems.ts";
import { LineReader } from "./read-lines.ts";
import { readManifest } from "./read-manifest.ts";
import { reconcileManifest } from "./reconcile-manifest.ts";

/**
 * Verifies an audit export (see functions/formats/audit-export-files.ts) from its lines and the manifest beside
 * it, holding per case a few fields and never the entries: every entry's hash is recomputed (scope tenantId +
 * loanId); within a case each entry must carry the next seq and its predecessor's hash, and the case's first
 * exported entry the manifest's firstPrevHash; lines must come in (at, loanId, seq) order, each exactly as the
 * exporter writes it, `at` in whole seconds; the manifest must match what was read: entry count, per-case seq
 * range, first link and head, the digest of the whole file, its own hash, the tenant, the range and the loan
 * filter.
 *
 * This proves the file is intact and complete against its manifest. It does not prove who wrote it: someone
 * able to recompute every hash can forge a consistent file; compare the heads with the live trail for that.
 */

export interface ExportVerdict {
  valid: boolean;
  format: ExportFormat | null;
  lines: number;
  entries: number;
  cases: number;
  manifest: ExportManifest | null;
  /** Every problem, in the order found: the manifest's own, then line by line, then the reconciliation. */
  problems: ExportProblem[];
}

export async function verifyExport(
  lines: AsyncIterable<string> | Iterable<string>,
  manifestText: string | null,
): Promise<ExportVerdict> {
  const problems: ExportProblem[] = [];
  const report: Report = (problem) => {
    problems.push(problem);
  };
  const manifest = readManifest(manifestText, report);
  const reader = new LineReader(manifest?.format ?? null, report);
  const checker = new EntryChecker(report);
  for await (const raw of lines) {
    const line = reader.read(raw);
    if (line) checker.check(line);
  }
  if (reader.lines === 0 && (reader.format === "csv" || manifest === null)) {
    report({ line: 0, code: "EMPTY", message: "the export is empty" });
  }
  if (manifest) reconcileManifest(manifest, reader.digestHex(), checker, report);
  return {
    valid: problems.length === 0,
    format: reader.format,
    lines: reader.lines,
    entries: checker.entries,
    cases: checker.cases.size,
    manifest,
    problems,
  };
}
