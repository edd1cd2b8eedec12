import { ConcurrentUpdateError } from "../../domain/errors.ts";
import { toInstant } from "../../domain/time.ts";
import { afterAttempt, endpointAfterAttempt, isSuccess } from "../../domain/webhooks/retry.ts";
import { signatureHeader } from "../../domain/webhooks/signature.ts";
import type {
  DeliveryAttempt,
  DeliveryLine,
  WebhookDelivery,
  WebhookEndpoint,
} from "../../domain/webhooks/types.ts";
import type { DeliveryQueue, SecretBox, WebhookStore, WebhookTransport } from "../../ports/webhooks.ts";
import type { Clock } from "../../ports.ts";
import { logger } from "../../powertools.ts";

export interface DeliverDeps {
  webhooks: WebhookStore;
  queue: DeliveryQueue;
  transport: WebhookTransport;
  secrets: SecretBox;
  /** The business clock: when attempts happen and retries fall due. */
  clock: Clock;
  /**
   * The wall clock of the sending machine, for the signature's `t`: receivers compare it with their own clock. On
   * AWS it is the business clock; the embedded stack's business clock may run days ahead of it.
   */
  wallClockMs: () => number;
  random?: () => number;
}

export const WEBHOOK_ACTOR = "system:webhooks";
/** Deliveries of one line read at a time. */
const LINE_PAGE = 10;
/** Leave a line for the next invocation when less than this is left of the function's time (one attempt: 10 s). */
const ATTEMPT_BUDGET_MS = 15_000;

export type LineOutcome = "idle" | "waiting" | "continued" | "endpoint_gone" | "endpoint_disabled" | "raced";

/**
 * Sends a line's pending deliveries (one endpoint, one loan) strictly in sequence order: the next is attempted only
 * once the one before it was delivered or given up. A failed attempt plans its retry and stops the line until
 * then (the queue wakes it). `remainingMs` is how long the invocation still has.
 */
export async function deliverLine(
  deps: DeliverDeps,
  line: DeliveryLine,
  remainingMs: () => number = () => Number.POSITIVE_INFINITY,
): Promise<LineOutcome> {
  let endpoint = await deps.webhooks.getEndpoint(line.tenantId, line.endpointId);
  if (!endpoint) return "endpoint_gone";
  if (endpoint.status !== "enabled") return "endpoint_disabled";
  const secrets = await signingSecrets(deps, endpoint);
  for (;;) {
    const pending = await deps.webhooks.pendingDeliveries(line, LINE_PAGE);
    if (pending.length === 0) return "idle";
    for (const delivery of pending) {
      const now = deps.clock.now();
      if (delivery.nextAttemptAt && Date.parse(delivery.nextAttemptAt) > now.getTime()) {
        await deps.queue.enqueue([line], delivery.nextAttemptAt);
        return "waiting";
      }
      if (remainingMs() < ATTEMPT_BUDGET_MS) {
        await deps.queue.enqueue([line]);
        return "continued";
      }
      const attempt = await attemptDelivery(deps, endpoint, secrets, delivery);
      const next = afterAttempt(delivery, attempt, now, (deps.random ?? Math.random)());
      // Someone else is working this line (a duplicate queue message): let them carry on.
      if (!(await deps.webhooks.updateDelivery(delivery, next))) return "raced";
      endpoint = await recordHealth(deps, endpoint, isSuccess(attempt), now);
      if (endpoint.status !== "enabled") return "endpoint_disabled";
      if (next.status === "pending" && next.nextAttemptAt) {
        await deps.queue.enqueue([line], next.nextAttemptAt);
        return "waiting";
      }
    }
  }
}

async function attemptDelivery(
  deps: DeliverDeps,
  endpoint: WebhookEndpoint,
  secrets: string[],
  delivery: WebhookDelivery,
): Promise<DeliveryAttempt> {
  const body = JSON.stringify(delivery.event);
  const signedAt = Math.floor(deps.wallClockMs() / 1000);
  const result = await deps.transport.post(endpoint.url, body, {
    "content-type": "application/json",
    "user-agent": "loan-dunning-webhooks/1",
    "dunning-signature": signatureHeader(secrets, signedAt, body),
    "dunning-event-id": delivery.event.id,
    "dunning-delivery-id": delivery.id,
  });
  const at = toInstant(deps.clock.now());
  const error =
    result.error ??
    (result.statusCode !== undefined && (result.statusCode < 200 || result.statusCode > 299)
      ? "http_status"
      : undefined);
  return {
    at,
    durationMs: Math.round(result.durationMs),
    ...(result.statusCode !== undefined ? { statusCode: result.statusCode } : {}),
    ...(error ? { error } : {}),
    ...(result.body ? { responseBody: result.body } : {}),
  };
}

/** The secrets that sign now: the newest, and a replaced one until its 24 hours are over. */
async function signingSecrets(deps: DeliverDeps, endpoint: WebhookEndpoint): Promise<string[]> {
  const now = deps.clock.now().getTime();
  const valid = endpoint.secrets.filter((s) => !s.expiresAt || Date.parse(s.expiresAt) > now);
  const context = { tenantId: endpoint.tenantId, webhookId: endpoint.id };
  return Promise.all(valid.map((s) => deps.secrets.open(s.sealed, context)));
}

/** Keeps the endpoint's failing-since mark; three days of nothing but failures disable it (audited). */
async function recordHealth(
  deps: DeliverDeps,
  endpoint: WebhookEndpoint,
  succeeded: boolean,
  now: Date,
): Promise<WebhookEndpoint> {
  const { next, changed, disable } = endpointAfterAttempt(endpoint, succeeded, now);
  if (!changed) return endpoint;
  try {
    return await deps.webhooks.updateEndpoint(
      endpoint,
      next,
      disable
        ? {
            type: "webhook_disabled",
            actor: WEBHOOK_ACTOR,
            data: { id: endpoint.id, reason: "failing_for_3_days", failingSince: endpoint.failingSince },
          }
        : undefined,
    );
  } catch (error) {
    if (!(error instanceof ConcurrentUpdateError)) throw error;
    // Another line of the same endpoint recorded its health first; its view is as good as ours.
    const current = await deps.webhooks.getEndpoint(endpoint.tenantId, endpoint.id);
    logger.debug("endpoint health raced", { webhookId: endpoint.id });
    return current ?? { ...endpoint, status: "disabled" };
  }
}
