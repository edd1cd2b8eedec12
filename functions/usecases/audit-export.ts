import { createHash } from "node:crypto";
import {
  type ExportedCase,
  type ExportFormat,
  type ExportManifest,
  sealManifest,
} from "../domain/audit-export.ts";
import { BusinessRuleError } from "../domain/errors.ts";
import { toInstant } from "../domain/time.ts";
import { CSV_HEADER, entryLine } from "../formats/audit-export-files.ts";
import type { AuditReader, ScopedAuditEntry } from "../ports/audit.ts";
import type { Clock, Principal } from "../ports.ts";

export interface AuditExportDeps {
  reader: AuditReader;
  clock: Clock;
}

export interface AuditExportRequest {
  /** ISO 8601 instants; the range is half-open, from <= at < to. */
  from: string;
  to: string;
  loanId?: string;
  format: ExportFormat;
}

/** The export's lines (no terminators); its manifest, which travels beside the file, once every line has been read. */
export interface AuditExport extends AsyncIterable<string> {
  /** The manifest; throws until the last line has been produced. */
  manifest(): ExportManifest;
}

/**
 * Range bounds in the stored form of `at` (whole seconds, UTC, `Z`). Entries carry whole seconds, so a bound
 * with a fraction rounds up: `at >= 10:00:00.5` and `at < 10:00:00.5` mean `at >= 10:00:01` and `at < 10:00:01`.
 */
export function storedBound(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new RangeError(`not an instant: ${iso}`);
  return toInstant(new Date(Math.ceil(ms / 1000) * 1000));
}

/** Thrown (and the export abandoned, nothing published) when an entry would carry a recipient in clear. */
export function unmaskedContactError(entry: ScopedAuditEntry, path: string): BusinessRuleError {
  return new BusinessRuleError(
    "EXPORT_UNMASKED_CONTACT",
    `audit entry ${entry.loanId} seq ${entry.seq} holds an unmasked contact at data.${path}; the export was stopped and nothing was published`,
  );
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
/** E.164, the only form the API accepts a phone number in. */
const PHONE = /^\+\d{6,15}$/;
/** What maskEmail and maskPhone produce: the local part, or the middle digits, starred out. */
const MASKED_EMAIL = /^(.\*{3}@[^\s@]+|\*{3})$/;
const MASKED_PHONE = /^(.{0,4}\*+.{4}|\*+)$/;

/**
 * Where the entry's data holds contact details in clear: a message's `to` that is not in masked form, or any
 * string anywhere that reads as a full email address or phone number.
 */
export function unmaskedContact(entry: ScopedAuditEntry): string | null {
  const { data } = entry;
  const channel = data.channel;
  if (typeof data.to === "string" && (channel === "email" || channel === "sms")) {
    if (!(channel === "email" ? MASKED_EMAIL : MASKED_PHONE).test(data.to)) return "to";
  }
  const walk = (value: unknown, path: string): string | null => {
    if (typeof value === "string") {
      return (EMAIL.test(value) && !value.includes("*")) || PHONE.test(value) ? path : null;
    }
    if (Array.isArray(value)) {
      for (const [index, item] of value.entries()) {
        const found = walk(item, `${path}[${index}]`);
        if (found) return found;
      }
      return null;
    }
    if (typeof value === "object" && value !== null) {
      for (const [key, item] of Object.entries(value)) {
        const found = walk(item, path ? `${path}.${key}` : key);
        if (found) return found;
      }
    }
    return null;
  };
  return walk(data, "");
}

/**
 * Every audit entry of the caller's tenant with from <= at < to (of one loan when `loanId` is set), in
 * (at, loanId, seq) order, as lines of `format` (see functions/formats/audit-export-files.ts); the manifest,
 * for the file beside, once the last line is out. Tenant-level entries (policy and key changes) come under
 * TENANT_SCOPE. Entries stream through one at a time: memory grows with the number of cases (the manifest's
 * per-case summary), never with the number of entries. An entry holding a contact in clear stops the export
 * (EXPORT_UNMASKED_CONTACT) rather than let it out.
 */
export function exportAudit(
  deps: AuditExportDeps,
  principal: Principal,
  request: AuditExportRequest,
): AuditExport {
  const { tenantId } = principal;
  const { format } = request;
  const from = storedBound(request.from);
  const to = storedBound(request.to);
  let manifest: ExportManifest | undefined;

  async function* lines(): AsyncGenerator<string> {
    const digest = createHash("sha256");
    const cases = new Map<string, ExportedCase>();
    let entryCount = 0;
    const emit = (line: string) => {
      digest.update(`${line}\n`, "utf8");
      return line;
    };
    if (format === "csv") yield emit(CSV_HEADER);
    const range = { from, to, ...(request.loanId === undefined ? {} : { loanId: request.loanId }) };
    for await (const entry of deps.reader.entries(tenantId, range)) {
      if (entry.tenantId !== tenantId) throw new Error(`the reader returned an entry of another tenant`);
      const clear = unmaskedContact(entry);
      if (clear) throw unmaskedContactError(entry, clear);
      const summary = cases.get(entry.loanId);
      if (summary) {
        summary.count++;
        summary.lastSeq = entry.seq;
        summary.headHash = entry.hash;
      } else {
        cases.set(entry.loanId, {
          loanId: entry.loanId,
          count: 1,
          firstSeq: entry.seq,
          lastSeq: entry.seq,
          firstPrevHash: entry.prevHash,
          headHash: entry.hash,
        });
      }
      entryCount++;
      yield emit(entryLine(entry, format));
    }
    manifest = sealManifest({
      version: 1,
      tenantId,
      from,
      to,
      ...(request.loanId === undefined ? {} : { loanId: request.loanId }),
      generatedAt: toInstant(deps.clock.now()),
      format,
      entryCount,
      cases: [...cases.values()].sort((a, b) => (a.loanId < b.loanId ? -1 : a.loanId > b.loanId ? 1 : 0)),
      digest: digest.digest("hex"),
    });
  }

  const iterable = lines();
  return {
    [Symbol.asyncIterator]: () => iterable,
    manifest() {
      if (!manifest) throw new Error("the export has not been read to its end");
      return manifest;
    },
  };
}
