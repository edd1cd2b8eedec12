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

/**
 * Appends a `message_delivery` entry to the case's audit trail; the case itself is unchanged but for
 * `updatedAt`. Idempotent: a report whose providerMessageId and status were recorded before (a redelivered
 * notification) records nothing — the write carries that pair as its once-key, so no trail read is needed.
 * A case that does not exist is logged and ignored.
 */
export async function recordDelivery(deps: DeliveryDeps, report: DeliveryReport): Promise<DeliveryOutcome> {
  const { tenantId, loanId, providerMessageId, channel, status, occurredAt, detail } = report;
  for (let attempt = 1; ; attempt++) {
    const current = await deps.cases.get(tenantId, loanId);
    if (!current) {
      logger.warn("delivery report for an unknown case ignored", { tenantId, loanId, providerMessageId });
      return "unknown_case";
    }
    const at = toInstant(deps.clock.now());
    try {
      await deps.cases.update(
        current,
        {
          next: { ...current, updatedAt: at },
          events: [
            {
              type: "message_delivery",
              actor: DELIVERY_ACTOR,
              data: { providerMessageId, channel, status, occurredAt, ...(detail ? { detail } : {}) },
            },
          ],
        },
        at,
        `delivery#${providerMessageId}#${status}`,
      );
      return "recorded";
    } catch (error) {
      if (error instanceof AlreadyRecordedError) return "duplicate";
      // Someone else wrote meanwhile (a step, an event, a duplicate report): re-read and check again.
      if (!(error instanceof ConcurrentUpdateError) || attempt >= MAX_ATTEMPTS) throw error;
    }
  }
}
