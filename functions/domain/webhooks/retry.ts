import { toInstant } from "../time.ts";
import type { DeliveryAttempt, WebhookDelivery, WebhookEndpoint } from "./types.ts";

/** A delivery is retried for this long after its first attempt, then given up; an endpoint failing as long is disabled. */
export const RETRY_FOR_MS = 3 * 24 * 3600_000;
const FIRST_RETRY_MS = 30_000;
const LONGEST_RETRY_MS = 3600_000;
/** Attempts kept on a delivery (the count goes on). */
export const KEPT_ATTEMPTS = 20;

/**
 * The wait before attempt n+1 after n failed ones: doubling from 30 s up to an hour, with ±20% jitter so the
 * retries of many loans to one receiver that was down do not arrive in one burst.
 */
export function retryDelayMs(failedAttempts: number, random: number): number {
  const base = Math.min(FIRST_RETRY_MS * 2 ** Math.max(0, failedAttempts - 1), LONGEST_RETRY_MS);
  return Math.round(base * (0.8 + 0.4 * random));
}

export function isSuccess(attempt: DeliveryAttempt): boolean {
  return attempt.statusCode !== undefined && attempt.statusCode >= 200 && attempt.statusCode < 300;
}

/**
 * The delivery after one more attempt: delivered on a 2xx; otherwise pending with its next attempt planned, or
 * failed once the next one would come more than three days after the first attempt (of this round: a redelivery
 * starts a new one).
 */
export function afterAttempt(
  delivery: WebhookDelivery,
  attempt: DeliveryAttempt,
  now: Date,
  random: number,
): WebhookDelivery {
  // The latest attempts only: a receiver down for three days would otherwise fill the item.
  const attempts = [...delivery.attempts, attempt].slice(-KEPT_ATTEMPTS);
  const counted = { attemptCount: (delivery.attemptCount ?? delivery.attempts.length) + 1 };
  if (isSuccess(attempt))
    return { ...delivery, ...counted, attempts, status: "delivered", nextAttemptAt: null };
  const roundStart = Date.parse(delivery.roundStartedAt ?? attempt.at);
  const failedInRound = attempts.filter((a) => Date.parse(a.at) >= roundStart && !isSuccess(a)).length;
  const nextAt = now.getTime() + retryDelayMs(failedInRound, random);
  const roundStartedAt = delivery.roundStartedAt ?? attempt.at;
  if (nextAt - roundStart > RETRY_FOR_MS) {
    return { ...delivery, ...counted, attempts, status: "failed", nextAttemptAt: null, roundStartedAt };
  }
  return {
    ...delivery,
    ...counted,
    attempts,
    status: "pending",
    nextAttemptAt: toInstant(new Date(nextAt)),
    roundStartedAt,
  };
}

/** What one attempt says about the endpoint: failing since when, and whether it has failed long enough to disable. */
export function endpointAfterAttempt(
  endpoint: WebhookEndpoint,
  succeeded: boolean,
  now: Date,
): { next: WebhookEndpoint; changed: boolean; disable: boolean } {
  if (succeeded) {
    return {
      next: { ...endpoint, failingSince: null },
      changed: endpoint.failingSince !== null,
      disable: false,
    };
  }
  if (endpoint.failingSince === null) {
    return { next: { ...endpoint, failingSince: toInstant(now) }, changed: true, disable: false };
  }
  const disable = now.getTime() - Date.parse(endpoint.failingSince) >= RETRY_FOR_MS;
  return {
    next: disable
      ? { ...endpoint, status: "disabled", disabledAt: toInstant(now), disabledReason: "failing_for_3_days" }
      : endpoint,
    changed: disable,
    disable,
  };
}
