import type { CaseStage, CaseStatus } from "../loan-case.ts";

/**
 * What a lender's endpoint may subscribe to. Each is derived from the audit trail (see lender-events.ts): the
 * loan's own entries, plus the changes of status and stage the trail shows.
 */
export const LENDER_EVENT_TYPES = [
  "loan.subscribed",
  "loan.stage_changed",
  "loan.status_changed",
  "loan.policy_changed",
  "loan.due_date_extended",
  "loan.restructured",
  "loan.cured",
  "loan.handed_off",
  "loan.handoff_withheld",
  "loan.paid",
  "loan.settled",
  "loan.closed",
  "loan.contact_ended",
  "message.sent",
  "message.delivered",
  "message.failed",
  "message.channel_fallback",
  "message.channel_suppressed",
  "step.deferred",
  "step.skipped",
  "step.failed",
  "payment.received",
  "payment.reversed",
  "promise.made",
  "promise.kept",
  "promise.broken",
  "settlement.agreed",
  "settlement.completed",
  "settlement.broken",
  "dispute.opened",
  "dispute.resolved",
  "borrower.opted_out",
  "borrower.opted_in",
  "handoff.published",
  "handoff.acknowledged",
  "workflow.failed",
  "workflow.restarted",
  "plan.requested",
  "borrower.portal_locked",
] as const;
export type LenderEventType = (typeof LENDER_EVENT_TYPES)[number];

/** One event as a lender's endpoint receives it (the JSON body of a delivery). */
export interface LenderEvent {
  /** `evt_…`, the same on every delivery and redelivery: receivers de-duplicate by it. */
  id: string;
  type: LenderEventType;
  /** When it happened: the `at` of the audit entry it comes from. */
  createdAt: string;
  tenantId: string;
  loanId: string;
  /** The loan's events counted from 1, with no gaps, in the order the trail holds them. */
  sequence: number;
  /** No borrower name, phone number or email address, masked or not. */
  data: Record<string, unknown>;
}

/**
 * How far a loan's trail has been announced, and what the trail showed at that point (so the next entries can
 * tell a change of status or stage). Announcing is a fold over the trail: the same entries give the same events.
 */
export interface AnnouncedState {
  /** The last audit seq read. */
  auditSeq: number;
  /** The last event sequence given out. */
  eventSeq: number;
  /** The status and stage the trail showed after `auditSeq` (null before the subscription entry). */
  status: CaseStatus | null;
  stage: CaseStage | null;
  /** Set by bankruptcy or cease-contact: a broken agreement then goes back to legal, not to active. */
  contactEnded: boolean;
}

export const NOTHING_ANNOUNCED: AnnouncedState = {
  auditSeq: 0,
  eventSeq: 0,
  status: null,
  stage: null,
  contactEnded: false,
};

export type EndpointStatus = "enabled" | "disabled";

/** A secret as stored: sealed (KMS on AWS), never the plain text. */
export interface StoredSecret {
  sealed: string;
  createdAt: string;
  /** Set on the previous secret when a new one replaces it: it still signs until then (24 h). */
  expiresAt?: string;
}

export interface WebhookEndpoint {
  tenantId: string;
  /** `we_…` */
  id: string;
  url: string;
  /** ["*"] or a list of LenderEventType. */
  events: string[];
  description?: string;
  status: EndpointStatus;
  createdAt: string;
  /** Newest first; the first one signs, and every one still valid signs too (one `v1=` each). */
  secrets: StoredSecret[];
  /** Since when every delivery to it has failed (null: the last one succeeded). */
  failingSince: string | null;
  disabledAt?: string;
  disabledReason?: "failing_for_3_days";
  /** Optimistic-concurrency version. */
  version: number;
}

export type DeliveryStatus = "pending" | "delivered" | "failed";

export interface DeliveryAttempt {
  /** Business instant of the attempt. */
  at: string;
  /** The HTTP status the receiver answered, if it answered. */
  statusCode?: number;
  /** timeout | network | blocked_address | http_status — why it did not count as delivered. */
  error?: string;
  durationMs: number;
  /** The start of the receiver's answer, at most 1 KB. */
  responseBody?: string;
}

/** One event on its way to one endpoint. Per endpoint and loan, deliveries go out strictly in `sequence` order. */
export interface WebhookDelivery {
  tenantId: string;
  endpointId: string;
  loanId: string;
  sequence: number;
  /** `wd_…` */
  id: string;
  event: LenderEvent;
  status: DeliveryStatus;
  /** The latest attempts (at most 20); `attemptCount` counts them all. */
  attempts: DeliveryAttempt[];
  attemptCount?: number;
  /** When the next attempt is due (null once delivered or failed). */
  nextAttemptAt: string | null;
  /** When the current round of attempts began (its first attempt, or a redelivery): retries run 3 days from it. */
  roundStartedAt?: string;
  createdAt: string;
  version: number;
}

/** Where deliveries of one endpoint for one loan queue up, one after the other. */
export interface DeliveryLine {
  tenantId: string;
  endpointId: string;
  loanId: string;
}
