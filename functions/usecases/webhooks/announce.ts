import type { AuditEntry } from "../../domain/audit-chain.ts";
import { TENANT_SCOPE } from "../../domain/audit-chain.ts";
import { deliveryIdOf } from "../../domain/webhooks/ids.ts";
import { announceEntries, matchesFilter } from "../../domain/webhooks/lender-events.ts";
import {
  type AnnouncedState,
  type DeliveryLine,
  type LenderEvent,
  NOTHING_ANNOUNCED,
  type WebhookDelivery,
  type WebhookEndpoint,
} from "../../domain/webhooks/types.ts";
import { ANNOUNCE_BATCH, type DeliveryQueue, type WebhookStore } from "../../ports/webhooks.ts";

export interface AnnounceDeps {
  webhooks: WebhookStore;
  queue: DeliveryQueue;
}

/** Entries read from a loan's trail at a time. */
const ENTRIES_PER_READ = 200;
/** Tries against a concurrent announcer of the same loan (a stream retry, a duplicate record). */
const MAX_ATTEMPTS = 5;

/**
 * Announces what is new in each loan's trail to the tenant's enabled endpoints: the trail is folded into lender
 * events from where the last announcement stopped, and each event an endpoint listens to becomes a pending
 * delivery on that endpoint's line for the loan. The cursor and the deliveries are written together, so an entry
 * is announced once however often a stream record arrives. Returns the deliveries created.
 */
export async function announceLoans(
  deps: AnnounceDeps,
  loans: { tenantId: string; loanId: string }[],
): Promise<number> {
  const listeners = new Map<string, Promise<WebhookEndpoint[]>>();
  let created = 0;
  for (const { tenantId, loanId } of loans) {
    if (loanId === TENANT_SCOPE) continue;
    if (!listeners.has(tenantId)) {
      listeners.set(
        tenantId,
        deps.webhooks.listEndpoints(tenantId).then((all) => all.filter((e) => e.status === "enabled")),
      );
    }
    const endpoints = (await listeners.get(tenantId)) ?? [];
    // Without an endpoint nothing is kept: the fold starts from the first entry whenever one appears.
    if (endpoints.length > 0) created += await announceLoan(deps, tenantId, loanId, endpoints);
  }
  return created;
}

async function announceLoan(
  deps: AnnounceDeps,
  tenantId: string,
  loanId: string,
  endpoints: WebhookEndpoint[],
): Promise<number> {
  let created = 0;
  for (let attempt = 1; ; attempt++) {
    const previous = await deps.webhooks.announced(tenantId, loanId);
    const outcome = await announceFrom(deps, { tenantId, loanId }, previous, endpoints);
    created += outcome.created;
    if (outcome.done) return created;
    if (attempt >= MAX_ATTEMPTS) {
      throw new Error(`loan ${loanId}: another announcer kept moving the cursor; left to the next record`);
    }
  }
}

/** Folds and records the trail after `previous`; done: false when another announcer moved the cursor first. */
async function announceFrom(
  deps: AnnounceDeps,
  scope: { tenantId: string; loanId: string },
  previous: AnnouncedState | null,
  endpoints: WebhookEndpoint[],
): Promise<{ done: boolean; created: number }> {
  let stored = previous;
  let state = previous ?? NOTHING_ANNOUNCED;
  let created = 0;
  for (;;) {
    const entries = await deps.webhooks.entriesAfter(
      scope.tenantId,
      scope.loanId,
      state.auditSeq,
      ENTRIES_PER_READ,
    );
    if (entries.length === 0) return { done: true, created };
    for (const batch of batchesOf(scope, state, entries, endpoints)) {
      const ok = await deps.webhooks.recordAnnounced(
        scope.tenantId,
        scope.loanId,
        stored,
        batch.state,
        batch.deliveries,
      );
      if (!ok) return { done: false, created };
      stored = batch.state;
      state = batch.state;
      created += batch.deliveries.length;
      await deps.queue.enqueue(linesOf(batch.deliveries));
    }
    if (entries.length < ENTRIES_PER_READ) return { done: true, created };
  }
}

/** The fold cut into writes of at most ANNOUNCE_BATCH deliveries, each ending on a whole entry. */
function batchesOf(
  scope: { tenantId: string; loanId: string },
  from: AnnouncedState,
  entries: AuditEntry[],
  endpoints: WebhookEndpoint[],
): { state: AnnouncedState; deliveries: WebhookDelivery[] }[] {
  const batches: { state: AnnouncedState; deliveries: WebhookDelivery[] }[] = [];
  let state = from;
  let deliveries: WebhookDelivery[] = [];
  for (const entry of entries) {
    const folded = announceEntries(scope, state, [entry]);
    const next = folded.events.flatMap((event) => deliveriesOf(event, entry, endpoints));
    if (deliveries.length > 0 && deliveries.length + next.length > ANNOUNCE_BATCH) {
      batches.push({ state, deliveries });
      deliveries = [];
    }
    deliveries.push(...next);
    state = folded.state;
  }
  batches.push({ state, deliveries });
  return batches;
}

function deliveriesOf(
  event: LenderEvent,
  entry: AuditEntry,
  endpoints: WebhookEndpoint[],
): WebhookDelivery[] {
  return (
    endpoints
      // An endpoint hears what happened after it was registered, not the loan's history before it.
      .filter((endpoint) => entry.at >= endpoint.createdAt && matchesFilter(endpoint.events, event.type))
      .map((endpoint) => ({
        tenantId: event.tenantId,
        endpointId: endpoint.id,
        loanId: event.loanId,
        sequence: event.sequence,
        id: deliveryIdOf(event.loanId, event.sequence),
        event,
        status: "pending",
        attempts: [],
        attemptCount: 0,
        nextAttemptAt: event.createdAt,
        createdAt: event.createdAt,
        version: 0,
      }))
  );
}

function linesOf(deliveries: WebhookDelivery[]): DeliveryLine[] {
  const lines = new Map<string, DeliveryLine>();
  for (const { tenantId, endpointId, loanId } of deliveries) {
    lines.set(`${endpointId}\u0000${loanId}`, { tenantId, endpointId, loanId });
  }
  return [...lines.values()];
}
