import {
  CASE_FIELDS,
  type ExportManifest,
  MANIFEST_FIELDS,
  manifestHashOf,
} from "../../domain/audit-export.ts";
import type { Report } from "./problems.ts";
import { HEX64, isObject } from "./values.ts";

/** Why the value is not a manifest (the documented fields, each of its type), or null when it is one. */
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
    const invalid = checkCase(c);
    if (invalid) return `cases[${i}]${invalid}`;
  }
  return null;
}

/** Why a manifest case is not one, after its `cases[i]`; null when it is one. */
function checkCase(c: unknown): string | null {
  if (!isObject(c)) return " is not an object";
  const keys: readonly string[] = CASE_FIELDS;
  if (Object.keys(c).length !== keys.length || !keys.every((k) => k in c)) return " has other fields";
  if (typeof c.loanId !== "string") return ".loanId is not a string";
  for (const k of ["count", "firstSeq", "lastSeq"]) {
    if (!Number.isSafeInteger(c[k]) || (c[k] as number) < 1) return `.${k} is not a positive integer`;
  }
  for (const k of ["firstPrevHash", "headHash"]) {
    if (typeof c[k] !== "string" || !HEX64.test(c[k] as string)) return `.${k} is not 64 hex digits`;
  }
  return null;
}

/**
 * The manifest from the text of the file beside the export, when there is one and it is well formed; its own
 * hash is checked, and a manifest that fails it is still returned, so the file can be read against it.
 */
export function readManifest(manifestText: string | null, report: Report): ExportManifest | null {
  if (manifestText === null) {
    report({ line: 0, code: "MISSING_MANIFEST", message: "there is no manifest beside the export" });
    return null;
  }
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
    return null;
  }
  const manifest = parsed as ExportManifest;
  if (manifestHashOf(manifest) !== manifest.manifestHash) {
    report({
      line: 0,
      code: "MANIFEST_HASH_MISMATCH",
      message: "the manifest's own hash does not match it: it was altered",
    });
  }
  return manifest;
}
