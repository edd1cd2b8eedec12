import { BusinessRuleError, InputOutOfRangeError, NotFoundError } from "../../domain/errors.ts";
import { toInstant } from "../../domain/time.ts";
import { checkEndpointUrl } from "../../domain/webhooks/endpoint-url.ts";
import { newEndpointId, parseDeliveryId } from "../../domain/webhooks/ids.ts";
import { newWebhookSecret } from "../../domain/webhooks/signature.ts";
import type { WebhookDelivery, WebhookEndpoint } from "../../domain/webhooks/types.ts";
import type { DeliveryQueue, SecretBox, WebhookStore } from "../../ports/webhooks.ts";
import type { Clock, Principal } from "../../ports.ts";
import { actorOf } from "../lender.ts";

export interface WebhookAdminDeps {
  webhooks: WebhookStore;
  secrets: SecretBox;
  queue: DeliveryQueue;
  clock: Clock;
  /** The embedded stack delivers to http://127.0.0.1 too; AWS never does. */
  allowLoopback: boolean;
}

/** Endpoints a tenant may have: each event is one delivery per endpoint, and one announcement writes them together. */
export const MAX_ENDPOINTS = 16;
/** How long a replaced secret still signs. */
const OLD_SECRET_VALID_MS = 24 * 3600_000;

/** What the API shows of an endpoint: never a secret. */
export function endpointView(endpoint: WebhookEndpoint) {
  const { id, url, events, description, status, createdAt, failingSince, disabledAt, disabledReason } =
    endpoint;
  return {
    id,
    url,
    events,
    ...(description !== undefined ? { description } : {}),
    status,
    createdAt,
    failingSince,
    ...(disabledAt ? { disabledAt, disabledReason } : {}),
  };
}

export function deliveryView(delivery: WebhookDelivery) {
  const { id, loanId, sequence, event, status, attempts, attemptCount, nextAttemptAt, createdAt } = delivery;
  return {
    id,
    eventId: event.id,
    type: event.type,
    loanId,
    sequence,
    status,
    attemptCount: attemptCount ?? attempts.length,
    attempts,
    nextAttemptAt,
    createdAt,
  };
}

export async function createWebhook(
  deps: WebhookAdminDeps,
  principal: Principal,
  request: { url: string; events: string[]; description?: string },
) {
  const checked = checkEndpointUrl(request.url, { allowLoopback: deps.allowLoopback });
  if (!checked.ok) {
    // A URL that may not receive webhooks is a bad request, like any other invalid field.
    throw new InputOutOfRangeError(`the url cannot receive webhooks: ${checked.reason}`, [
      { path: "url", message: checked.reason },
    ]);
  }
  const existing = await deps.webhooks.listEndpoints(principal.tenantId);
  if (existing.length >= MAX_ENDPOINTS) {
    throw new BusinessRuleError("WEBHOOK_LIMIT", `a tenant has at most ${MAX_ENDPOINTS} webhook endpoints`);
  }
  const id = newEndpointId();
  const secret = newWebhookSecret();
  const createdAt = toInstant(deps.clock.now());
  const endpoint: WebhookEndpoint = {
    tenantId: principal.tenantId,
    id,
    url: request.url,
    events: request.events,
    ...(request.description !== undefined ? { description: request.description } : {}),
    status: "enabled",
    createdAt,
    secrets: [
      {
        sealed: await deps.secrets.seal(secret, sealContext({ tenantId: principal.tenantId, id })),
        createdAt,
      },
    ],
    failingSince: null,
    version: 0,
  };
  await deps.webhooks.createEndpoint(endpoint, actorOf(principal));
  return { ...endpointView(endpoint), secret };
}

const sealContext = (endpoint: { tenantId: string; id: string }) => ({
  tenantId: endpoint.tenantId,
  webhookId: endpoint.id,
});

export async function findWebhook(
  deps: Pick<WebhookAdminDeps, "webhooks">,
  principal: Principal,
  id: string,
) {
  const endpoint = await deps.webhooks.getEndpoint(principal.tenantId, id);
  if (!endpoint) throw new NotFoundError(`webhook ${id} not found`);
  return endpoint;
}

export async function listWebhooks(deps: Pick<WebhookAdminDeps, "webhooks">, principal: Principal) {
  return { items: (await deps.webhooks.listEndpoints(principal.tenantId)).map(endpointView) };
}

export async function deleteWebhook(deps: WebhookAdminDeps, principal: Principal, id: string): Promise<void> {
  const endpoint = await findWebhook(deps, principal, id);
  await deps.webhooks.deleteEndpoint(endpoint, actorOf(principal));
  // Nothing more goes to it; what was still queued is dropped with it.
  await deps.webhooks.dropDeliveries(principal.tenantId, id);
}

/** A new secret signs from now on; the previous one keeps signing for 24 hours beside it, older ones stop. */
export async function rotateWebhookSecret(deps: WebhookAdminDeps, principal: Principal, id: string) {
  const endpoint = await findWebhook(deps, principal, id);
  const now = deps.clock.now();
  const secret = newWebhookSecret();
  const [current] = endpoint.secrets;
  const next: WebhookEndpoint = {
    ...endpoint,
    secrets: [
      { sealed: await deps.secrets.seal(secret, sealContext(endpoint)), createdAt: toInstant(now) },
      ...(current
        ? [{ ...current, expiresAt: toInstant(new Date(now.getTime() + OLD_SECRET_VALID_MS)) }]
        : []),
    ],
  };
  const stored = await deps.webhooks.updateEndpoint(endpoint, next, {
    type: "webhook_secret_rotated",
    actor: actorOf(principal),
    data: { id, previousValidUntil: next.secrets[1]?.expiresAt ?? null },
  });
  return { ...endpointView(stored), secret };
}

export async function listWebhookDeliveries(
  deps: Pick<WebhookAdminDeps, "webhooks">,
  principal: Principal,
  id: string,
  query: { loanId?: string; limit: number; cursor?: string },
) {
  if (query.cursor !== undefined && !parseDeliveryId(query.cursor)) {
    throw new InputOutOfRangeError("the cursor is not one this list gave", [
      { path: "cursor", message: "pass the nextCursor of the previous page" },
    ]);
  }
  await findWebhook(deps, principal, id);
  const page = await deps.webhooks.listDeliveries(principal.tenantId, id, query);
  return { items: page.items.map(deliveryView), nextCursor: page.nextCursor };
}

/**
 * Sends a delivery again: a delivered or given-up one goes out once more (same event id), with a fresh three days
 * of retries; a pending one is attempted now. It keeps its place in the loan's order.
 */
export async function redeliver(
  deps: WebhookAdminDeps,
  principal: Principal,
  id: string,
  deliveryId: string,
) {
  const endpoint = await findWebhook(deps, principal, id);
  if (endpoint.status !== "enabled") {
    throw new BusinessRuleError("WEBHOOK_DISABLED", `webhook ${id} is disabled: nothing is delivered to it`);
  }
  const delivery = await deps.webhooks.getDelivery(principal.tenantId, id, deliveryId);
  if (!delivery) throw new NotFoundError(`delivery ${deliveryId} not found`);
  const now = toInstant(deps.clock.now());
  const again: WebhookDelivery = { ...delivery, status: "pending", nextAttemptAt: now };
  delete again.roundStartedAt;
  if (!(await deps.webhooks.updateDelivery(delivery, again))) {
    throw new BusinessRuleError(
      "DELIVERY_BUSY",
      "the delivery is being attempted right now; try again shortly",
    );
  }
  const { tenantId, loanId } = delivery;
  await deps.queue.enqueue([{ tenantId, endpointId: id, loanId }]);
  return deliveryView({ ...again, version: delivery.version + 1 });
}
