import { type AuditEvent, type ChainHead, EMPTY_CHAIN } from "./audit-chain.ts";
import { accrue, balanceOf, type Charges, freshOutstanding, type Outstanding } from "./charges.ts";
import type { PendingConfirmation } from "./confirmations.ts";
import type { RecentContact } from "./contact-rules.ts";
import { BusinessRuleError } from "./errors.ts";
import type { MessageCopy } from "./message-copies.ts";
import { isPositive, type Money, money } from "./money.ts";
import { type PlannedAction, type PlanningInput, planNext, stepsPassedOver } from "./planning.ts";
import type { Channel, Locale, Policy } from "./policy.ts";
import type { PortalLink } from "./portal.ts";
import { caseTerms, isSettled, type LoanTerms } from "./schedule.ts";
import { type Risk, type SegmentFields, segmentFieldsOf } from "./strategies/case-segment.ts";
import { daysPastDue, localInstant, toInstant } from "./time.ts";
import type { TeamFields, WorkItem } from "./work/work-items.ts";

export const CASE_STATUSES = ["active", "on_hold", "paid", "settled", "legal", "closed"] as const;
export type CaseStatus = (typeof CASE_STATUSES)[number];
export type CaseStage = "pre_due" | "soft_collection" | "legal" | "done";

export interface Borrower {
  name: string;
  email?: string;
  phone?: string;
  locale: Locale;
  timeZone: string;
}

/** Why a case needs someone to look at it: its workflow failed and nothing runs for it until it is restarted. */
export interface Attention {
  /** The workflow failed, or the hand-off came with no message ever having reached the borrower. */
  reason: "workflow_failed" | "handoff_withheld";
  /** The workflow state that failed, its error type, and when. */
  state: string;
  error: string;
  since: string;
  generation: number;
}

/** A step whose send was claimed but not yet confirmed. */
export interface InFlightStep {
  step: string;
  plannedAt: string;
  /** Channels not yet confirmed sent. */
  channels: Channel[];
  claimedAt: string;
  /** True when the runtime knows the remaining channels were not handed to a provider (safe to retry). */
  retryable: boolean;
  /** The runtime that claimed the step, and until when (real epoch ms) it may still be sending it. */
  claimant?: Claimant;
}

/**
 * Who holds a claim. A claim is only settled as "outcome unknown" once its holder cannot still be sending:
 * its lease ran out, or (on one machine) the process that claimed it is gone.
 */
export interface Claimant {
  owner: string;
  leaseUntil: number;
}

/** Why contact is paused. A promise or settlement has a date it is reviewed after; a dispute waits for its resolution. */
export interface Hold {
  reason: "promise" | "settlement" | "dispute" | "placement";
  /** Borrower-local date the agreement runs to (promise/settlement). */
  until?: string;
  /** Amount promised or agreed. */
  amount?: Money;
  /** Paid since the hold began, to tell whether the agreement was kept. */
  paidSince?: Money;
  since: string;
}

export interface Installment {
  dueDate: string;
  amount: Money;
  /** Paid towards this installment so far. */
  paid: Money;
}

export interface LoanCase extends Outstanding, SegmentFields, TeamFields {
  tenantId: string;
  loanId: string;
  status: CaseStatus;
  borrower: Borrower;
  /** The original principal. */
  amountDue: Money;
  /** principal + fees + interest as of the last change (see balanceAt for now). */
  balance: Money;
  totalPaid: Money;
  /** The due date collection is planned from: the loan's, an extended one, or the earliest unpaid installment. */
  dueDate: string;
  hold: Hold | null;
  installments: Installment[] | null;
  /** Channels the borrower opted out of: never used again until an opt-in. */
  optedOut: Channel[];
  /** What a completed settlement waived; owed again if a payment of the settlement is reversed. */
  waived: Money | null;
  /** Set by bankruptcy or a cease-contact request: no contact ever again, whatever happens to the balance. */
  contactEnded: "bankruptcy" | "cease_contact" | null;
  /** occurredAt of the last applied event: events are applied in business order. */
  lastEventAt: string | null;
  /** Messages sent in the last 8 days, for the frequency caps (absent on cases stored before the caps). */
  recentContacts?: RecentContact[];
  /** Lender event ids recently applied, so a repeated event applies once. */
  recentEventIds: string[];
  policy: { id: string; version: number };
  /** Bumped whenever the case is re-planned; each execution works for one generation. */
  generation: number;
  /** Optimistic-concurrency version: every write is conditional on it. */
  version: number;
  /** See PlanningInput.cursorAt. */
  cursorAt: string;
  lastStep: string | null;
  /** The step the rules of contact deferred last, and until when: what `nextAction` shows for it. */
  deferral?: { step: string; until: string } | null;
  /** The steps settled for `dueDate` (see PlanningInput.done); a new due date starts afresh. */
  stepsDone?: { dueDate: string; steps: string[] };
  inFlight: InFlightStep | null;
  /**
   * When the first notice is due, for a loan subscribed already past due (null: it needs none; absent on
   * cases stored before first notices).
   */
  firstNoticeAt?: string | null;
  /**
   * When a message first reached the borrower: no hand-off before notice (null: none yet; absent on cases
   * stored before it was tracked, which hand off by the policy alone).
   */
  firstContactAt?: string | null;
  /** Set when the workflow failed and nothing runs for the case until it is restarted (absent on older cases). */
  attention?: Attention | null;
  /**
   * When the workflow is next due to act on the case: its planned action, or the start of a new execution. Long
   * past it with nothing recorded, the execution is presumed lost and the reconciler restarts it. Null: none due.
   */
  wakeAt?: string | null;
  /**
   * No execution runs for the case: its next action (wakeAt) was beyond the workflow's horizon when it was
   * planned, and the scheduled waker starts an execution as it comes within it (absent: not parked).
   */
  parked?: boolean;
  /**
   * How the borrower proves who they are on the self-service page: the factor the lender gave at subscription,
   * kept only as a salted hash (absent: the page asks for the last four digits of the phone).
   */
  verifier?: StoredVerifier;
  /** The borrower's preferred local time for reminders ("HH:MM"), used instead of each step's; absent: none. */
  preferredSendAt?: string | null;
  /** Every portal link issued up to this instant no longer works (the lender revoked them). */
  portalRevokedAt?: string | null;
  /** A confirmation owed to the borrower for an action on their page; absent or null: none. */
  confirmation?: PendingConfirmation | null;
  audit: ChainHead;
  /** Hash of the subscription request, to tell a repeat from a conflicting resubscription. */
  subscriptionHash: string;
  createdAt: string;
  updatedAt: string;
}

/** A verification factor as stored: scrypt of its normalized value with a salt of its own, both hex. */
export interface StoredVerifier {
  type: "date_of_birth" | "id_last4";
  salt: string;
  hash: string;
}

/** A change to a case: the new state and the audit events that explain it, written together. */
export interface CaseChange {
  next: LoanCase;
  events: AuditEvent[];
  /** Portal links issued with the change (the messages it is about to send carry them), keyed by token hash. */
  issuedLinks?: { tokenHash: string; link: PortalLink }[];
  /** The texts of the messages the change records as sent, kept beside the trail (see MessageCopy). */
  messageCopies?: MessageCopy[];
  /** Calls and visits for the collection team the change creates (a task step came due). */
  workItems?: WorkItem[];
}

export const WORKFLOW_ACTOR = "system:workflow";

export function isCollectable(loanCase: LoanCase): boolean {
  return loanCase.status === "active";
}

export function stageOf(loanCase: LoanCase, now: Date): CaseStage {
  return stageFor(loanCase.status, daysPastDue(loanCase.dueDate, loanCase.borrower.timeZone, now));
}

/** The stage of a case in `status` that is `dpd` days past its due date (0 on or before it). */
export function stageFor(status: CaseStatus, dpd: number): CaseStage {
  switch (status) {
    case "legal":
      return "legal";
    case "active":
    case "on_hold":
      return dpd > 0 ? "soft_collection" : "pre_due";
    default:
      return "done";
  }
}

/** A promise or settlement is reviewed when its last day is over, at the next opening of the contact window. */
export function holdReviewAt(loanCase: LoanCase, policy: Policy): string | null {
  const until = loanCase.hold?.until;
  if (loanCase.status !== "on_hold" || !until) return null;
  return toInstant(localInstant(until, 1, policy.contactWindow.start, loanCase.borrower.timeZone));
}

export function planFor(loanCase: LoanCase, policy: Policy, now: Date): PlannedAction | null {
  const review = holdReviewAt(loanCase, policy);
  if (review) return { kind: "hold_review", plannedAt: review };
  if (!isCollectable(loanCase)) return null;
  return planNext(planningOf(loanCase), policy, now);
}

/** What planning needs to know of a case. */
export function planningOf(loanCase: LoanCase): PlanningInput {
  return {
    dueDate: loanCase.dueDate,
    timeZone: loanCase.borrower.timeZone,
    cursorAt: loanCase.cursorAt,
    done: stepsDoneOf(loanCase),
    ...(loanCase.installments
      ? { unpaidDueDates: loanCase.installments.filter((i) => !isSettled(i)).map((i) => i.dueDate) }
      : {}),
    ...(loanCase.firstNoticeAt !== undefined ? { firstNoticeAt: loanCase.firstNoticeAt } : {}),
    ...(loanCase.firstContactAt !== undefined ? { firstContactAt: loanCase.firstContactAt } : {}),
    ...(loanCase.preferredSendAt ? { preferredSendAt: loanCase.preferredSendAt } : {}),
  };
}

/** Why a planned step was not sent (the `reason` of its step_skipped entry). */
export type SkipReason =
  | "superseded_by_later_due_step"
  | "before_subscription"
  | "passed_over_by_replan"
  | "later_than_max_lateness"
  | "no_reachable_channel";

/**
 * Records every step the cursor has passed without settling it as skipped, with `reason`: whatever moved the
 * cursor (a subscription, a kept promise, a re-plan), no planned step goes without an outcome on the record.
 */
export function passOver(
  loanCase: LoanCase,
  policy: Policy,
  reason: SkipReason,
  data: Record<string, unknown> = {},
): CaseChange {
  // Cases stored before settled steps were tracked cannot tell a sent step from a passed one: leave them be.
  if (loanCase.stepsDone === undefined && loanCase.lastStep !== null) return { next: loanCase, events: [] };
  const passed = stepsPassedOver(planningOf(loanCase), policy, loanCase.inFlight?.step);
  return {
    next: withStepsDone(
      loanCase,
      passed.map((step) => step.id),
    ),
    events: passed.map((step) => skippedEvent(step.id, reason, data)),
  };
}

export function skippedEvent(
  step: string,
  reason: SkipReason,
  data: Record<string, unknown> = {},
): AuditEvent {
  return { type: "step_skipped", actor: WORKFLOW_ACTOR, data: { step, reason, ...data } };
}

/** The steps already settled for the case's current due date. */
export function stepsDoneOf(loanCase: LoanCase): string[] {
  return loanCase.stepsDone?.dueDate === loanCase.dueDate ? loanCase.stepsDone.steps : [];
}

/** The case with `steps` recorded as settled for its current due date. */
export function withStepsDone(loanCase: LoanCase, steps: string[]): LoanCase {
  if (steps.length === 0) return loanCase;
  const done = new Set([...stepsDoneOf(loanCase), ...steps]);
  return { ...loanCase, stepsDone: { dueDate: loanCase.dueDate, steps: [...done] } };
}

export interface SubscriptionRequest extends LoanTerms {
  loanId: string;
  borrower: Borrower;
  /** The borrower's verification factor, already hashed (see StoredVerifier). */
  verifier?: StoredVerifier;
  risk?: Risk;
  product?: string;
}

export function subscribe(
  tenantId: string,
  request: SubscriptionRequest,
  policy: Policy,
  subscriptionHash: string,
  actor: string,
  now: Date,
): CaseChange {
  const { dueDate, amountDue, installments } = caseTerms(request, request.borrower.timeZone, now);
  const at = toInstant(now);
  const next: LoanCase = {
    tenantId,
    loanId: request.loanId,
    status: "active",
    borrower: request.borrower,
    amountDue,
    balance: amountDue,
    ...freshOutstanding(amountDue),
    totalPaid: money(0, amountDue.currency),
    dueDate,
    hold: null,
    installments,
    optedOut: [],
    contactEnded: null,
    waived: null,
    lastEventAt: null,
    recentEventIds: [],
    recentContacts: [],
    policy: { id: policy.id, version: policy.version },
    generation: 1,
    version: 0,
    cursorAt: at,
    lastStep: null,
    inFlight: null,
    // Already past due: the borrower is first told what is owed and how to pay or dispute it.
    firstNoticeAt: daysPastDue(dueDate, request.borrower.timeZone, now) > 0 ? at : null,
    firstContactAt: null,
    stepsDone: { dueDate, steps: [] },
    audit: EMPTY_CHAIN,
    subscriptionHash,
    ...(request.verifier ? { verifier: request.verifier } : {}),
    ...segmentFieldsOf(request),
    createdAt: at,
    updatedAt: at,
  };
  // Steps already past when the loan arrives are on the record as skipped, never sent late.
  const passed = passOver(next, policy, "before_subscription");
  const subscribed = passed.next;
  // The new execution goes straight to its first wait: that is when the workflow next acts on the case.
  subscribed.wakeAt = planFor(subscribed, policy, now)?.plannedAt ?? null;
  return {
    next: subscribed,
    events: [{ type: "loan_subscribed", actor, data: subscribedData(next, request) }, ...passed.events],
  };
}

/** What the loan_subscribed entry records: the terms (a schedule in full), the policy and how to reach. */
function subscribedData(loanCase: LoanCase, request: SubscriptionRequest): Record<string, unknown> {
  const schedule = loanCase.installments?.map(({ dueDate, amount }) => ({ dueDate, amount }));
  return {
    amountDue: loanCase.amountDue,
    dueDate: loanCase.dueDate,
    ...(schedule ? { installments: schedule.length, schedule } : {}),
    policy: loanCase.policy,
    locale: request.borrower.locale,
    timeZone: request.borrower.timeZone,
    channels: { email: Boolean(request.borrower.email), sms: Boolean(request.borrower.phone) },
    ...segmentFieldsOf(request),
    ...(loanCase.firstNoticeAt ? { firstNotice: true } : {}),
  };
}

export function touched(loanCase: LoanCase, now: Date, changes: Partial<LoanCase>): LoanCase {
  return { ...loanCase, ...changes, updatedAt: toInstant(now) };
}

/** What an applied event means for the running workflow. */
export type WorkflowEffect = "none" | "stop" | "replan";

export interface EventOutcome extends CaseChange {
  workflow: WorkflowEffect;
}

export function accrualTerms(loanCase: LoanCase) {
  return { dueDate: loanCase.dueDate, timeZone: loanCase.borrower.timeZone, amountDue: loanCase.amountDue };
}

/** The case with fees and interest charged up to `now`: what the borrower owes at that instant. */
export function chargedTo(loanCase: LoanCase, charges: Charges, now: Date): LoanCase {
  const outstanding = accrue(loanCase, accrualTerms(loanCase), charges, now);
  return { ...loanCase, ...outstanding, balance: balanceOf(outstanding) };
}

export function breakdown(o: Outstanding) {
  return { principal: o.principal, fees: o.fees, interest: o.interest };
}

export function assertAmount(amount: Money, currency: string, path = "amount"): void {
  if (amount.currency !== currency) {
    throw new BusinessRuleError(
      "CURRENCY_MISMATCH",
      `currency ${amount.currency} does not match ${currency}`,
      [{ path: `${path}.currency`, message: `must be ${currency}` }],
    );
  }
  if (!isPositive(amount)) {
    throw new BusinessRuleError("INVALID_AMOUNT", "an amount must be greater than zero", [
      { path: `${path}.amount`, message: "must be greater than zero" },
    ]);
  }
}
