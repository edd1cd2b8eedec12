import type { ExportedCase, ExportManifest } from "../../domain/audit-export.ts";
import type { CaseState, EntriesRead } from "./check-entries.ts";
import { named, type Report } from "./problems.ts";

/**
 * Holds what the file turned out to hold against what its manifest says: the digest of the whole file, the entry
 * count, the tenant, the range and the loan filter, and per case the seq range, count, first link and head.
 */
export function reconcileManifest(
  manifest: ExportManifest,
  digest: string,
  read: EntriesRead,
  report: Report,
): void {
  reconcileTotals(manifest, digest, read, report);
  const listed = listedCases(manifest, report);
  for (const [loanId, state] of read.cases) {
    if (manifest.loanId !== undefined && loanId !== manifest.loanId) {
      report({
        ...named(state.first),
        code: "WRONG_LOAN",
        message: `an entry of ${loanId} in an export of ${manifest.loanId}`,
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
  for (const c of listed.values()) reconcileCase(c, read.cases.get(c.loanId), report);
}

/** The whole file against the manifest: digest, entry count, tenant and range. */
function reconcileTotals(manifest: ExportManifest, digest: string, read: EntriesRead, report: Report): void {
  if (digest !== manifest.digest) {
    report({
      line: 0,
      code: "DIGEST_MISMATCH",
      message: "the digest of the file does not match the manifest's",
    });
  }
  if (read.entries !== manifest.entryCount) {
    report({
      line: 0,
      code: "COUNT_MISMATCH",
      message: `${read.entries} entries read, the manifest says ${manifest.entryCount}`,
    });
  }
  for (const [tenantId, first] of read.tenants) {
    if (tenantId !== manifest.tenantId) {
      report({
        ...named(first),
        code: "WRONG_TENANT",
        message: `an entry of tenant ${tenantId} in an export of ${manifest.tenantId}`,
      });
    }
  }
  const { earliest, latest } = read;
  if (earliest && earliest.at < manifest.from) {
    report({
      ...named(earliest),
      code: "OUT_OF_RANGE",
      message: `at ${earliest.at} is before the range's start ${manifest.from}`,
    });
  }
  if (latest && latest.at >= manifest.to) {
    report({
      ...named(latest),
      code: "OUT_OF_RANGE",
      message: `at ${latest.at} is not before the range's end ${manifest.to}`,
    });
  }
}

/** The manifest's cases by loan id; a case listed twice is reported. */
function listedCases(manifest: ExportManifest, report: Report): Map<string, ExportedCase> {
  const listed = new Map<string, ExportedCase>();
  for (const c of manifest.cases) {
    if (listed.has(c.loanId)) {
      report({
        line: 0,
        loanId: c.loanId,
        code: "CASE_MISMATCH",
        message: "the manifest lists the case twice",
      });
    }
    listed.set(c.loanId, c);
  }
  return listed;
}

/** One case the manifest lists against what the file holds of it: first seq and link, last seq and head, count. */
function reconcileCase(c: ExportedCase, state: CaseState | undefined, report: Report): void {
  if (!state) {
    report({
      line: 0,
      loanId: c.loanId,
      seq: c.firstSeq,
      code: "CASE_MISSING",
      message: `the manifest lists seq ${c.firstSeq}..${c.lastSeq} of ${c.loanId}; none is in the file`,
    });
    return;
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
      line: 0,
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
      line: 0,
      loanId: c.loanId,
      code: "CASE_MISMATCH",
      message: `${state.count} entries of the case read, the manifest says ${c.count}`,
    });
  }
}
