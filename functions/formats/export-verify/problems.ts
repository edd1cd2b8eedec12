/** What verifying an audit export can find wrong, and how each finding reads on one line. */

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

/** Takes each problem as it is found; the verdict lists them in that order. */
export type Report = (problem: ExportProblem) => void;

/** An entry of the file: the line it is on and which entry it is. */
export interface Seen {
  line: number;
  loanId: string;
  seq: number;
}

/** A problem's location at an entry seen in the file. */
export const named = (seen: Seen) => ({ line: seen.line, loanId: seen.loanId, seq: seen.seq });

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
