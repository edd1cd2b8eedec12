import type { AuditEvent } from "../domain/audit-chain.ts";
import { AlreadyRecordedError, ConcurrentUpdateError } from "../domain/errors.ts";
import type { Channel } from "../domain/policy.ts";
import { toInstant } from "../domain/time.ts";
import type { CaseRepository, Clock } from "../ports.ts";
import { logger } from "../powertools.ts";

/** Who records a provider's delivery result in the audit trail. */
export const DELIVERY_ACTOR = "system:delivery";

export type DeliveryStatus = "delivered" | "bounced" | "complained" | "rejected" | "failed";

/** What a provider reported about one message it accepted (its id is the `message_sent` entry's). */
export interface DeliveryReport {
  tenantId: string;
  loanId: string;
  providerMessageId: string;
  channel: Channel;
  status: DeliveryStatus;
  /** When the provider says it happened (ISO instant). */
  occurredAt: string;
  /** Provider detail without personal data (bounce type, reject reason…). */
  detail?: Record<string, string | number | boolean>;
}

export interface DeliveryDeps {
  cases: CaseRepository;
  clock: Clock;
}

export type DeliveryOutcome = "recorded" | "duplicate" | "unknown_case";

const MAX_ATTEMPTS = 5;
/** Reports merged into one write: each is an audit entry and a once-marker, beside the case (100 items at most). */
export const REPORTS_PER_WRITE = 40;

const onceKeyOf = (report: DeliveryReport) => `delivery#${report.providerMessageId}#${report.status}`;

/**
 * Appends a `message_delivery` entry to the case's audit trail; the case itself is unchanged but for
 * `updatedAt`. Idempotent: a report whose providerMessageId and status were recorded before (a redelivered
 * notification) records nothing — the write carries that pair as its once-key, so no trail read is needed.
 * A case that does not exist is logged and ignored.
 */
export async function recordDelivery(deps: DeliveryDeps, report: DeliveryReport): Promise<DeliveryOutcome> {
  const [outcome] = await recordDeliveries(deps, [report]);
  return outcome ?? "duplicate";
}

/**
 * Records reports as recordDelivery does each, with one read of the case and one write for up to
 * REPORTS_PER_WRITE reports of the same loan (their entries in the order given, each under its own once-key):
 * a case's reports that arrive together — the messages of one step — cost what one report costs. A report
 * whose key was used before (or earlier in the list) is a duplicate; the others are written again without it.
 */
export async function recordDeliveries(
  deps: DeliveryDeps,
  reports: readonly DeliveryReport[],
): Promise<DeliveryOutcome[]> {
  const loanOf = (report: DeliveryReport) => `${report.tenantId}\u0000${report.loanId}`;
  const byLoan = new Map<string, Map<string, DeliveryReport>>();
  for (const report of reports) {
    const loan = byLoan.get(loanOf(report)) ?? new Map<string, DeliveryReport>();
    if (!loan.has(onceKeyOf(report))) loan.set(onceKeyOf(report), report);
    byLoan.set(loanOf(report), loan);
  }
  const outcomes = new Map<string, Map<string, DeliveryOutcome>>();
  for (const [loan, firsts] of byLoan) {
    const recorded = new Map<string, DeliveryOutcome>();
    const list = [...firsts.values()];
    for (let start = 0; start < list.length; start += REPORTS_PER_WRITE) {
      await recordTogether(deps, list.slice(start, start + REPORTS_PER_WRITE), recorded);
    }
    outcomes.set(loan, recorded);
  }
  const seen = new Set<DeliveryReport>();
  return reports.map((report) => {
    const first = byLoan.get(loanOf(report))?.get(onceKeyOf(report));
    if (first !== report || seen.has(report)) return "duplicate";
    seen.add(report);
    return outcomes.get(loanOf(report))?.get(onceKeyOf(report)) ?? "duplicate";
  });
}

/** Reports of one loan in one write; `outcomes` gets each one's, by once-key. */
async function recordTogether(
  deps: DeliveryDeps,
  reports: DeliveryReport[],
  outcomes: Map<string, DeliveryOutcome>,
): Promise<void> {
  let pending = reports;
  for (let attempt = 1; pending.length > 0; attempt++) {
    const [{ tenantId, loanId }] = pending as [DeliveryReport];
    const current = await deps.cases.get(tenantId, loanId);
    if (!current) {
      const providerMessageIds = pending.map((report) => report.providerMessageId);
      logger.warn("delivery report for an unknown case ignored", { tenantId, loanId, providerMessageIds });
      for (const report of pending) outcomes.set(onceKeyOf(report), "unknown_case");
      return;
    }
    const at = toInstant(deps.clock.now());
    try {
      const events = pending.map(deliveryEvent);
      // Only the trail grows: the case keeps its version, so a workflow task's claim at that version still holds.
      if (deps.cases.appendToTrail)
        await deps.cases.appendToTrail(current, events, at, pending.map(onceKeyOf));
      else
        await deps.cases.update(
          current,
          { next: { ...current, updatedAt: at }, events },
          at,
          pending.map(onceKeyOf),
        );
      for (const report of pending) outcomes.set(onceKeyOf(report), "recorded");
      return;
    } catch (error) {
      if (error instanceof AlreadyRecordedError) {
        // Redelivered: those are on the record already; the rest go again, on a fresh read.
        const used = usedKeys(error, pending);
        for (const key of used) outcomes.set(key, "duplicate");
        const rest = pending.filter((report) => !used.includes(onceKeyOf(report)));
        if (rest.length === pending.length) throw error;
        pending = rest;
        continue;
      }
      // Someone else wrote meanwhile (a step, an event, a duplicate report): re-read and check again.
      if (!(error instanceof ConcurrentUpdateError) || attempt >= MAX_ATTEMPTS) throw error;
    }
  }
}

/** The keys a refused write found used; a repository that names none refused the one key it was given. */
function usedKeys(error: AlreadyRecordedError, pending: DeliveryReport[]): string[] {
  if (error.keys.length > 0) return error.keys;
  return pending.length === 1 ? pending.map(onceKeyOf) : [];
}

function deliveryEvent(report: DeliveryReport): AuditEvent {
  const { providerMessageId, channel, status, occurredAt, detail } = report;
  return {
    type: "message_delivery",
    actor: DELIVERY_ACTOR,
    data: { providerMessageId, channel, status, occurredAt, ...(detail ? { detail } : {}) },
  };
}
