import type { AuditEntry, AuditEvent } from "../domain/audit-chain.ts";
import { CaseStateConflictError, ConcurrentUpdateError, NotFoundError } from "../domain/errors.ts";
import {
  buildHandoffPackage,
  type HandoffPackage,
  type HandoffReason,
  policyRefs,
} from "../domain/handoff-package.ts";
import type { LoanCase } from "../domain/loan-case.ts";
import type { Money } from "../domain/money.ts";
import type { Policy } from "../domain/policy.ts";
import { toInstant } from "../domain/time.ts";
import { renderHandoffHtml } from "../formats/handoff-html.ts";
import type { HandoffLocation, HandoffRecord, HandoffStatus, Handoffs } from "../ports/handoff.ts";
import type { CaseRepository, Clock, PolicyRepository, Principal } from "../ports.ts";
import { logger } from "../powertools.ts";

/** What publishing and reading hand-offs needs; StepDeps and LenderDeps both provide it. */
export interface HandoffDeps {
  cases: CaseRepository;
  policies: PolicyRepository;
  clock: Clock;
  handoffs: Handoffs;
}

/** Who publishes a package in the audit trail, whether the workflow or a lender's event sent the case to legal. */
export const HANDOFF_ACTOR = "system:handoff";

/** What the `handoff_published` audit entry records: ids, hash and figures, never borrower PII. */
interface PublishedData {
  packageHash: string;
  reason: HandoffReason;
  handedOffAt: string;
  balance: Money;
  daysPastDue: number;
  location: HandoffLocation;
}

const MAX_ATTEMPTS = 5;

/**
 * Appends one audit event to a case unless the trail already has a matching entry: exactly once, whoever
 * races. The write is conditional on the case version, and the trail is read after the case, so a match
 * written by anyone before our read is seen and a later one makes our write fail and re-read.
 * The case itself is unchanged (not even updatedAt): this records a fact about the case, not a change of it.
 * `read`: the case and then its trail as the caller just read them, for the first attempt.
 */
async function appendOnce(
  deps: HandoffDeps,
  tenantId: string,
  loanId: string,
  event: AuditEvent,
  matches: (entry: AuditEntry) => boolean,
  read?: { loanCase: LoanCase; audit: AuditEntry[] },
): Promise<AuditEntry> {
  for (let attempt = 1; ; attempt++) {
    const first = attempt === 1 ? read : undefined;
    const current = first ? first.loanCase : await deps.cases.get(tenantId, loanId);
    if (!current) throw new NotFoundError(`loan ${loanId} not found`);
    const trail = first ? first.audit : await deps.cases.auditTrail(tenantId, loanId);
    const found = trail.findLast(matches);
    if (found) return found;
    const at = toInstant(deps.clock.now());
    try {
      const stored = await deps.cases.update(current, { next: current, events: [event] }, at);
      return { ...event, seq: stored.audit.seq, at, prevHash: current.audit.hash, hash: stored.audit.hash };
    } catch (error) {
      if (!(error instanceof ConcurrentUpdateError) || attempt >= MAX_ATTEMPTS) throw error;
    }
  }
}

async function policiesOf(deps: HandoffDeps, tenantId: string, refs: { id: string; version: number }[]) {
  const found = await Promise.all(refs.map((ref) => deps.policies.get(tenantId, ref.id, ref.version)));
  return found.filter((policy): policy is Policy => policy !== null);
}

function recordOf(tenantId: string, loanId: string, entry: AuditEntry): HandoffRecord {
  const data = entry.data as unknown as PublishedData;
  return {
    tenantId,
    loanId,
    status: "pending",
    reason: data.reason,
    handedOffAt: data.handedOffAt,
    publishedAt: entry.at,
    balance: data.balance,
    daysPastDue: data.daysPastDue,
    packageHash: data.packageHash,
    location: data.location,
    acknowledgedAt: null,
    acknowledgedBy: null,
  };
}

/**
 * Builds, publishes and records the hand-off package of a case in legal. Idempotent: the store is checked
 * first, and a package already published and audited (a retry after a crash before the record was stored)
 * is recorded from its audit entry rather than published again. A crash between publishing and the audit
 * entry publishes once more on the retry (the notification is at least once; the files are overwritten).
 */
export async function publishHandoff(
  deps: HandoffDeps,
  tenantId: string,
  loanId: string,
  justMoved?: LoanCase,
): Promise<HandoffRecord> {
  // A case the caller has just moved into legal (`justMoved`, as written) is neither looked up in the store nor
  // read again: a record stored before makes the store's conditional put answer with it instead.
  const existing = justMoved ? null : await deps.handoffs.store.get(tenantId, loanId);
  if (existing) return existing;
  const loanCase = justMoved ?? (await deps.cases.get(tenantId, loanId));
  if (!loanCase) throw new NotFoundError(`loan ${loanId} not found`);
  if (loanCase.status !== "legal") {
    throw new CaseStateConflictError(`loan ${loanId} is ${loanCase.status}, not handed to legal`);
  }
  const audit = await deps.cases.auditTrail(tenantId, loanId);
  const isPublished = (entry: AuditEntry) => entry.type === "handoff_published";
  let entry = audit.findLast(isPublished);
  if (!entry) {
    const now = deps.clock.now();
    const policies = await policiesOf(deps, tenantId, policyRefs(loanCase, audit));
    const pkg = buildHandoffPackage({ loanCase, policies, audit, now });
    const location = await deps.handoffs.publisher.publish(pkg, renderHandoffHtml(pkg));
    const data: PublishedData = {
      packageHash: pkg.packageHash,
      reason: pkg.reason,
      handedOffAt: pkg.handedOffAt,
      balance: pkg.balance.total,
      daysPastDue: pkg.loan.daysPastDue,
      location,
    };
    entry = await appendOnce(
      deps,
      tenantId,
      loanId,
      { type: "handoff_published", actor: HANDOFF_ACTOR, data: { ...data } },
      isPublished,
      { loanCase, audit },
    );
  }
  return deps.handoffs.store.put(recordOf(tenantId, loanId, entry));
}

/** The Handoff resource of the API: the record without storage details beyond the location's ids. */
export function handoffView(record: HandoffRecord) {
  return {
    loanId: record.loanId,
    status: record.status,
    reason: record.reason,
    handedOffAt: record.handedOffAt,
    publishedAt: record.publishedAt,
    balance: record.balance,
    daysPastDue: record.daysPastDue,
    packageHash: record.packageHash,
    acknowledgedAt: record.acknowledgedAt,
    acknowledgedBy: record.acknowledgedBy,
  };
}

export async function listHandoffs(deps: HandoffDeps, principal: Principal, status: HandoffStatus) {
  const records = await deps.handoffs.store.list(principal.tenantId, status);
  records.sort((a, b) => Date.parse(a.handedOffAt) - Date.parse(b.handedOffAt));
  return { items: records.map(handoffView) };
}

export async function getHandoffPackage(
  deps: HandoffDeps,
  principal: Principal,
  loanId: string,
): Promise<HandoffPackage> {
  const record = await deps.handoffs.store.get(principal.tenantId, loanId);
  const pkg = record && (await deps.handoffs.publisher.read(principal.tenantId, loanId));
  if (!record || !pkg) throw new NotFoundError(`no hand-off package for loan ${loanId}`);
  assertRecordedPackage(record, pkg);
  return pkg;
}

/** Only the package whose hash the case's trail recorded is ever served or acknowledged. */
function assertRecordedPackage(record: { packageHash: string }, pkg: HandoffPackage): void {
  if (pkg.packageHash === record.packageHash) return;
  logger.error("hand-off package does not match the recorded hash", { loanId: pkg.loanId });
  throw new CaseStateConflictError(
    "the stored hand-off package is not the one the case's trail recorded; it is not served",
    [{ path: "loanId", message: `the trail recorded package ${record.packageHash}` }],
    "HANDOFF_PACKAGE_MISMATCH",
  );
}

/**
 * Legal acknowledges a hand-off. The record moves pending → acknowledged with a conditional write; a second
 * acknowledgement is idempotent (200 with the first one's time and actor). Either way the case's trail gets
 * exactly one `handoff_acknowledged` entry, by the legal key that acknowledged first.
 */
export async function acknowledgeHandoff(deps: HandoffDeps, principal: Principal, loanId: string) {
  const by = `${principal.role}:${principal.keyId}`;
  // Legal acknowledges the package the trail recorded, never another one.
  await getHandoffPackage(deps, principal, loanId);
  const result = await deps.handoffs.store.acknowledge(
    principal.tenantId,
    loanId,
    by,
    toInstant(deps.clock.now()),
  );
  if (!result) throw new NotFoundError(`no hand-off for loan ${loanId}`);
  const { record } = result;
  await appendOnce(
    deps,
    principal.tenantId,
    loanId,
    {
      type: "handoff_acknowledged",
      actor: record.acknowledgedBy ?? by,
      data: { packageHash: record.packageHash, acknowledgedAt: record.acknowledgedAt },
    },
    (entry) => entry.type === "handoff_acknowledged",
  );
  return handoffView(record);
}
