import type { AuditEntry } from "../domain/audit-chain.ts";
import type {
  AnnouncedState,
  DeliveryAttempt,
  DeliveryLine,
  WebhookDelivery,
  WebhookEndpoint,
} from "../domain/webhooks/types.ts";

/** Ports of lender webhooks: endpoints, what was announced per loan, deliveries, and the edges they go out by. */

export interface WebhookStore {
  /** Stores a new endpoint with a tenant audit entry (`webhook_created`), in one transaction. */
  createEndpoint(endpoint: WebhookEndpoint, actor: string): Promise<void>;
  getEndpoint(tenantId: string, endpointId: string): Promise<WebhookEndpoint | null>;
  /** Every endpoint of the tenant, deleted ones excluded, oldest first. */
  listEndpoints(tenantId: string): Promise<WebhookEndpoint[]>;
  /**
   * Writes a changed endpoint, conditional on `previous.version`, with a tenant audit entry of `auditType`
   * (`webhook_secret_rotated`, `webhook_disabled`…) when given. Throws ConcurrentUpdateError when it moved.
   */
  updateEndpoint(
    previous: WebhookEndpoint,
    next: WebhookEndpoint,
    audit?: { type: string; actor: string; data: Record<string, unknown> },
  ): Promise<WebhookEndpoint>;
  /** Removes the endpoint (its pending deliveries are dropped when next read) with a `webhook_deleted` entry. */
  deleteEndpoint(endpoint: WebhookEndpoint, actor: string): Promise<void>;

  /** How far the loan's trail has been announced (null: never). */
  announced(tenantId: string, loanId: string): Promise<AnnouncedState | null>;
  /** The loan's audit entries after `afterSeq`, in order, at most `limit`. */
  entriesAfter(tenantId: string, loanId: string, afterSeq: number, limit: number): Promise<AuditEntry[]>;
  /**
   * Moves the loan's announced state from `previous` to `next` and stores `deliveries`, in one transaction
   * conditional on `previous` (false: someone else announced these entries first; nothing was written).
   * At most ANNOUNCE_BATCH deliveries per call.
   */
  recordAnnounced(
    tenantId: string,
    loanId: string,
    previous: AnnouncedState | null,
    next: AnnouncedState,
    deliveries: WebhookDelivery[],
  ): Promise<boolean>;

  /** The deliveries of one line still to be settled (pending), in sequence order. */
  pendingDeliveries(line: DeliveryLine, limit: number): Promise<WebhookDelivery[]>;
  getDelivery(tenantId: string, endpointId: string, deliveryId: string): Promise<WebhookDelivery | null>;
  /** An endpoint's deliveries, newest loans last (by loan, then sequence), a page at a time. */
  listDeliveries(
    tenantId: string,
    endpointId: string,
    query: { loanId?: string; limit: number; cursor?: string },
  ): Promise<{ items: WebhookDelivery[]; nextCursor: string | null }>;
  /** Writes the delivery's new state conditional on `previous.version` (false: it moved meanwhile). */
  updateDelivery(previous: WebhookDelivery, next: WebhookDelivery): Promise<boolean>;
  /** Removes a deleted endpoint's deliveries: none of them will be sent. */
  dropDeliveries(tenantId: string, endpointId: string): Promise<number>;
}

/** Most deliveries one recordAnnounced call writes (a DynamoDB transaction holds 100 items). */
export const ANNOUNCE_BATCH = 90;

/** What the receiver answered to one POST, or why there was no answer. */
export interface TransportResult {
  statusCode?: number;
  error?: "timeout" | "network" | "blocked_address";
  /** At most 1 KB of the answer. */
  body?: string;
  durationMs: number;
}

/**
 * Posts one event to an endpoint: no redirects followed, an answer within 10 s, only public addresses (checked on
 * the address the name resolves to) unless the deployment allows loopback (the embedded stack).
 */
export interface WebhookTransport {
  post(url: string, body: string, headers: Record<string, string>): Promise<TransportResult>;
}

/** Seals endpoint secrets at rest (KMS on AWS); the context binds a sealed secret to its tenant and endpoint. */
export interface SecretBox {
  seal(plain: string, context: Record<string, string>): Promise<string>;
  open(sealed: string, context: Record<string, string>): Promise<string>;
}

/** Wakes the sender for a line now, or not before an instant (SQS with a delay on AWS; the virtual clock locally). */
export interface DeliveryQueue {
  enqueue(lines: DeliveryLine[], notBefore?: string): Promise<void>;
}

export type { DeliveryAttempt };
