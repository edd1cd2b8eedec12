import { DateTime, Duration } from "luxon";
import { type AuditEvent, type ChainHead, EMPTY_CHAIN } from "./audit-chain.ts";
import {
  accrue,
  allocatePayment,
  balanceOf,
  type Charges,
  freshOutstanding,
  NO_CHARGES,
  type Outstanding,
} from "./charges.ts";
import {
  type CapRule,
  capBroken,
  capFreesAt,
  type DeferRule,
  isQuietDay,
  keepRecent,
  nextOpenDay,
  type RecentContact,
} from "./contact-rules.ts";
import { isInsideWindow } from "./contact-window.ts";
import { BusinessRuleError, CaseStateConflictError, InputOutOfRangeError } from "./errors.ts";
import { add, compare, isPositive, isZero, type Money, money, subtract } from "./money.ts";
import { type PlannedAction, type PlanningInput, planNext, stepsPassedOver } from "./planning.ts";
import {
  type Channel,
  FIRST_NOTICE_STEP,
  type Locale,
  type Policy,
  type PolicyStep,
  rulesOf,
} from "./policy.ts";
import { daysPastDue, localInstant, toInstant } from "./time.ts";
import type { Attention } from "./workflow-health.ts";

export type CaseStatus = "active" | "on_hold" | "paid" | "settled" | "legal" | "closed";
export type CaseStage = "pre_due" | "soft_collection" | "legal" | "done";

export interface Borrower {
  name: string;
  email?: string;
  phone?: string;
  locale: Locale;
  timeZone: string;
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
  reason: "promise" | "settlement" | "dispute";
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

export interface LoanCase extends Outstanding {
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
  audit: ChainHead;
  /** Hash of the subscription request, to tell a repeat from a conflicting resubscription. */
  subscriptionHash: string;
  createdAt: string;
  updatedAt: string;
}

/** A change to a case: the new state and the audit events that explain it, written together. */
export interface CaseChange {
  next: LoanCase;
  events: AuditEvent[];
}

export const WORKFLOW_ACTOR = "system:workflow";

export function isCollectable(loanCase: LoanCase): boolean {
  return loanCase.status === "active";
}

export function stageOf(loanCase: LoanCase, now: Date): CaseStage {
  switch (loanCase.status) {
    case "legal":
      return "legal";
    case "active":
    case "on_hold":
      return daysPastDue(loanCase.dueDate, loanCase.borrower.timeZone, now) > 0
        ? "soft_collection"
        : "pre_due";
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
    ...(loanCase.firstNoticeAt !== undefined ? { firstNoticeAt: loanCase.firstNoticeAt } : {}),
    ...(loanCase.firstContactAt !== undefined ? { firstContactAt: loanCase.firstContactAt } : {}),
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

function skippedEvent(step: string, reason: SkipReason, data: Record<string, unknown> = {}): AuditEvent {
  return { type: "step_skipped", actor: WORKFLOW_ACTOR, data: { step, reason, ...data } };
}

/** The steps already settled for the case's current due date. */
export function stepsDoneOf(loanCase: LoanCase): string[] {
  return loanCase.stepsDone?.dueDate === loanCase.dueDate ? loanCase.stepsDone.steps : [];
}

/** The case with `steps` recorded as settled for its current due date. */
function withStepsDone(loanCase: LoanCase, steps: string[]): LoanCase {
  if (steps.length === 0) return loanCase;
  const done = new Set([...stepsDoneOf(loanCase), ...steps]);
  return { ...loanCase, stepsDone: { dueDate: loanCase.dueDate, steps: [...done] } };
}

export interface SubscriptionRequest {
  loanId: string;
  borrower: Borrower;
  amountDue: Money;
  dueDate: string;
}

/** How far from today a loan's due date may be: further is a typo (2062 for 2026), not a loan to collect. */
export const MAX_DUE_DATE_YEARS = 10;

function assertDueDateInRange(dueDate: string, zone: string, now: Date): void {
  const today = DateTime.fromJSDate(now, { zone });
  const earliest = today.minus({ years: MAX_DUE_DATE_YEARS }).toISODate() as string;
  const latest = today.plus({ years: MAX_DUE_DATE_YEARS }).toISODate() as string;
  if (dueDate < earliest || dueDate > latest) {
    throw new InputOutOfRangeError(`dueDate ${dueDate} is more than ${MAX_DUE_DATE_YEARS} years from today`, [
      { path: "dueDate", message: `must be from ${earliest} to ${latest}` },
    ]);
  }
}

export function subscribe(
  tenantId: string,
  request: SubscriptionRequest,
  policy: Policy,
  subscriptionHash: string,
  actor: string,
  now: Date,
): CaseChange {
  assertDueDateInRange(request.dueDate, request.borrower.timeZone, now);
  const at = toInstant(now);
  // Stored in the currency's minor units: "1250.5" CNY becomes "1250.50".
  const amountDue = money(request.amountDue.amount, request.amountDue.currency);
  const next: LoanCase = {
    tenantId,
    loanId: request.loanId,
    status: "active",
    borrower: request.borrower,
    amountDue,
    balance: amountDue,
    ...freshOutstanding(amountDue),
    totalPaid: money(0, amountDue.currency),
    dueDate: request.dueDate,
    hold: null,
    installments: null,
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
    firstNoticeAt: daysPastDue(request.dueDate, request.borrower.timeZone, now) > 0 ? at : null,
    firstContactAt: null,
    stepsDone: { dueDate: request.dueDate, steps: [] },
    audit: EMPTY_CHAIN,
    subscriptionHash,
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
    events: [
      {
        type: "loan_subscribed",
        actor,
        data: {
          amountDue,
          dueDate: request.dueDate,
          policy: next.policy,
          locale: request.borrower.locale,
          timeZone: request.borrower.timeZone,
          channels: { email: Boolean(request.borrower.email), sms: Boolean(request.borrower.phone) },
          ...(next.firstNoticeAt ? { firstNotice: true } : {}),
        },
      },
      ...passed.events,
    ],
  };
}

function touched(loanCase: LoanCase, now: Date, changes: Partial<LoanCase>): LoanCase {
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

/** Pays installments in order with the principal part of a payment; the earliest unpaid one sets the due date. */
function payInstallments(
  loanCase: LoanCase,
  principalPaid: Money,
): Pick<LoanCase, "installments" | "dueDate"> {
  if (!loanCase.installments) return { installments: null, dueDate: loanCase.dueDate };
  let left = principalPaid;
  const installments = loanCase.installments.map((installment) => {
    const remaining = subtract(installment.amount, installment.paid);
    const part = compare(left, remaining) > 0 ? remaining : left;
    left = subtract(left, part);
    return { ...installment, paid: add(installment.paid, part) };
  });
  const open = installments.find((i) => compare(i.paid, i.amount) < 0);
  return { installments, dueDate: open?.dueDate ?? loanCase.dueDate };
}

/**
 * A payment is allocated to fees, then interest, then principal (installments in order). Zero balance ends
 * collection; a payment that meets a promise lifts the hold; one that meets a settlement settles the case.
 */
export function recordPayment(
  loanCase: LoanCase,
  amount: Money,
  occurredAt: string,
  actor: string,
  now: Date,
  charges: Charges = NO_CHARGES,
): EventOutcome {
  if (loanCase.status !== "active" && loanCase.status !== "on_hold" && loanCase.status !== "legal") {
    throw new CaseStateConflictError(`a payment cannot be recorded on a ${loanCase.status} case`);
  }
  assertAmount(amount, loanCase.balance.currency);
  const charged = chargedTo(loanCase, charges, now);
  if (compare(amount, charged.balance) > 0) {
    throw new BusinessRuleError(
      "PAYMENT_EXCEEDS_BALANCE",
      `payment ${amount.amount} exceeds the balance ${charged.balance.amount}`,
      [{ path: "amount.amount", message: `must be at most ${charged.balance.amount}` }],
    );
  }
  const { outstanding, allocation } = allocatePayment(charged, amount);
  let next: LoanCase = touched(charged, now, {
    ...outstanding,
    ...payInstallments(charged, allocation.principal),
    balance: balanceOf(outstanding),
    totalPaid: add(charged.totalPaid, amount),
  });
  const paidInFull = isZero(next.balance);
  const events: AuditEvent[] = [
    {
      type: "payment_received",
      actor,
      data: {
        amount,
        occurredAt,
        allocation,
        balance: next.balance,
        breakdown: breakdown(next),
        paidInFull,
        // Whether a reminder had gone out before it: what the dunning recovers, as opposed to what came anyway.
        afterContact: loanCase.lastStep !== null || (loanCase.recentContacts?.length ?? 0) > 0,
      },
    },
  ];
  let workflow: WorkflowEffect = next.dueDate !== loanCase.dueDate ? "replan" : "none";
  const hold = next.hold;
  if (paidInFull) {
    next = { ...next, status: "paid", hold: null };
    workflow = "stop";
  } else if (hold?.amount && (hold.reason === "promise" || hold.reason === "settlement")) {
    const paidSince = add(hold.paidSince ?? money(0, amount.currency), amount);
    if (compare(paidSince, hold.amount) < 0) {
      next = { ...next, hold: { ...hold, paidSince } };
    } else if (hold.reason === "promise") {
      // A kept promise resumes quietly: steps that fell due while it held are passed over, not caught up.
      next = { ...next, status: "active", hold: null, cursorAt: toInstant(now) };
      events.push({
        type: "promise_kept",
        actor,
        data: { promised: hold.amount, paid: paidSince, until: hold.until },
      });
      workflow = "replan";
    } else {
      const zero = money(0, amount.currency);
      events.push({
        type: "settlement_completed",
        actor,
        data: { agreed: hold.amount, paid: paidSince, waived: breakdown(next) },
      });
      next = {
        ...next,
        status: "settled",
        hold: null,
        waived: next.balance,
        principal: zero,
        fees: zero,
        interest: zero,
        balance: zero,
      };
      workflow = "stop";
    }
  }
  events[0] = {
    ...(events[0] as AuditEvent),
    data: { ...(events[0] as AuditEvent).data, status: next.status },
  };
  return { next: { ...next, lastEventAt: occurredAt }, events, workflow };
}

export type StepDecision =
  | { kind: "wait"; action: PlannedAction }
  | { kind: "defer"; step: PolicyStep; plannedAt: string; until: string; rule?: DeferRule }
  | {
      kind: "send";
      step: PolicyStep;
      plannedAt: string;
      superseded: PolicyStep[];
      channels: Channel[];
      /** Channels of the step left out because sending them would break a cap. */
      suppressed?: { channel: Channel; rule: CapRule }[];
      /** Channels that cannot reach the borrower, replaced by the other channel. */
      fallbacks?: { from: Channel; to: Channel }[];
    }
  | {
      kind: "skip";
      step: PolicyStep;
      plannedAt: string;
      superseded: PolicyStep[];
      reason: Extract<SkipReason, "later_than_max_lateness" | "no_reachable_channel">;
    }
  | { kind: "hand_off"; plannedAt: string; withheld?: "no_contact" };

/** Which channels of a step can reach this borrower. */
export function reachableChannels(
  loanCase: Pick<LoanCase, "borrower" | "optedOut">,
  step: PolicyStep,
): Channel[] {
  return step.channels.filter((channel) => canReach(loanCase, channel));
}

function canReach(loanCase: Pick<LoanCase, "borrower" | "optedOut">, channel: Channel): boolean {
  const { borrower, optedOut } = loanCase;
  return !optedOut.includes(channel) && Boolean(channel === "sms" ? borrower.phone : borrower.email);
}

const otherChannel = (channel: Channel): Channel => (channel === "sms" ? "email" : "sms");

/**
 * What a workflow step should do now, for a collectable case. The contact rules apply in order: the
 * contact window, quiet days, the frequency caps and channel fallback. The caps count `recent`: the
 * borrower's contacts across all their loans (see contactsForCaps), the case's own when not given.
 * A due step is deferred, never dropped.
 */
export function decideStep(
  loanCase: LoanCase,
  policy: Policy,
  now: Date,
  nextWindowOpening: (at: Date) => Date,
  recent: readonly RecentContact[] = loanCase.recentContacts ?? [],
): StepDecision {
  const action = planFor(loanCase, policy, now);
  if (!action) throw new CaseStateConflictError(`case is ${loanCase.status}`);
  if (Date.parse(action.plannedAt) > now.getTime() || action.kind === "hold_review")
    return { kind: "wait", action };
  if (action.kind === "hand_off") return action;
  const { step, plannedAt } = action;
  const skip = (reason: Extract<StepDecision, { kind: "skip" }>["reason"]): StepDecision => ({
    kind: "skip",
    step,
    plannedAt,
    superseded: action.superseded,
    reason,
  });
  // Out of its moment, a reminder says the wrong thing ("due tomorrow" a week late); the first notice never is.
  if (step.id !== FIRST_NOTICE_STEP && tooLate(plannedAt, now, policy.maxLateness))
    return skip("later_than_max_lateness");
  const zone = loanCase.borrower.timeZone;
  const rules = rulesOf(policy);
  const defer = (rule: DeferRule, until: Date): StepDecision => ({
    kind: "defer",
    step,
    plannedAt,
    until: toInstant(until),
    rule,
  });
  if (!isInsideWindow(now, zone, policy.contactWindow))
    return defer("contact_window", nextWindowOpening(now));
  if (isQuietDay(now, zone, rules))
    return defer("quiet_day", nextOpenDay(now, zone, policy.contactWindow, rules));

  // Fallback: a channel that cannot reach the borrower gives way to the other one, if the step lacks it.
  const candidates: Channel[] = [];
  const fallbacks: { from: Channel; to: Channel }[] = [];
  for (const channel of step.channels) {
    if (canReach(loanCase, channel)) {
      if (!candidates.includes(channel)) candidates.push(channel);
      continue;
    }
    const other = otherChannel(channel);
    if (
      rules.fallback &&
      !step.channels.includes(other) &&
      !candidates.includes(other) &&
      canReach(loanCase, other)
    ) {
      candidates.push(other);
      fallbacks.push({ from: channel, to: other });
    }
  }

  if (candidates.length === 0) return skip("no_reachable_channel");

  // Caps: a capped channel is left out while another is still allowed; with none left the step waits.
  const channels: Channel[] = [];
  const suppressed: { channel: Channel; rule: CapRule }[] = [];
  for (const channel of candidates) {
    const rule = capBroken(channel, channels, recent, now, zone, rules);
    if (rule) suppressed.push({ channel, rule });
    else channels.push(channel);
  }
  const firstCapped = suppressed[0];
  if (channels.length === 0 && firstCapped) {
    const frees = candidates.map((c) =>
      capFreesAt(c, recent, now, zone, policy.contactWindow, rules).getTime(),
    );
    return defer(firstCapped.rule, new Date(Math.min(...frees)));
  }
  return {
    kind: "send",
    step,
    plannedAt,
    superseded: action.superseded,
    channels,
    suppressed,
    fallbacks: fallbacks.filter((f) => channels.includes(f.to)),
  };
}

/** Whether a step planned at `plannedAt` is, at `now`, later than the policy lets a step go out. */
function tooLate(plannedAt: string, now: Date, maxLateness: string | undefined): boolean {
  if (!maxLateness) return false;
  const limit = Duration.fromISO(maxLateness);
  return limit.isValid && now.getTime() - Date.parse(plannedAt) > limit.toMillis();
}

/**
 * Settles a due step without sending it, on the record with its reason (and the steps it superseded): the
 * cursor moves past it as if it had been sent.
 */
export function skipStep(
  loanCase: LoanCase,
  decision: Extract<StepDecision, { kind: "skip" }>,
  now: Date,
): CaseChange {
  const events = [
    ...decision.superseded.map((step) =>
      skippedEvent(step.id, "superseded_by_later_due_step", { by: decision.step.id }),
    ),
    skippedEvent(decision.step.id, decision.reason, { plannedAt: decision.plannedAt }),
  ];
  const settled = withStepsDone(loanCase, [...decision.superseded.map((s) => s.id), decision.step.id]);
  const cursorAt =
    Date.parse(decision.plannedAt) > Date.parse(loanCase.cursorAt) ? decision.plannedAt : loanCase.cursorAt;
  return { next: touched(settled, now, { cursorAt, deferral: null }), events };
}

export function claimStep(
  loanCase: LoanCase,
  decision: Extract<StepDecision, { kind: "send" }>,
  now: Date,
  claimant?: Claimant,
): CaseChange {
  const events: AuditEvent[] = decision.superseded.map((step) =>
    skippedEvent(step.id, "superseded_by_later_due_step", { by: decision.step.id }),
  );
  for (const { channel, rule } of decision.suppressed ?? []) {
    events.push({
      type: "channel_suppressed",
      actor: WORKFLOW_ACTOR,
      data: { step: decision.step.id, channel, rule },
    });
  }
  for (const { from, to } of decision.fallbacks ?? []) {
    events.push({
      type: "channel_fallback",
      actor: WORKFLOW_ACTOR,
      data: { step: decision.step.id, from, to },
    });
  }
  events.push({
    type: "step_started",
    actor: WORKFLOW_ACTOR,
    data: {
      step: decision.step.id,
      stage: decision.step.stage,
      plannedAt: decision.plannedAt,
      channels: decision.channels,
      unreachable: decision.step.channels.filter(
        (c) => !decision.channels.includes(c) && !(decision.suppressed ?? []).some((s) => s.channel === c),
      ),
      policy: loanCase.policy,
    },
  });
  const inFlight: InFlightStep = {
    step: decision.step.id,
    plannedAt: decision.plannedAt,
    channels: decision.channels,
    claimedAt: toInstant(now),
    retryable: false,
    ...(claimant ? { claimant } : {}),
  };
  // Superseded steps are settled here: skipped, on the record, never sent later.
  const settled = withStepsDone(
    loanCase,
    decision.superseded.map((step) => step.id),
  );
  return { next: touched(settled, now, { inFlight }), events };
}

/** Closes the in-flight step: the cursor moves past it whatever the delivery outcome. */
export function completeStep(loanCase: LoanCase, events: AuditEvent[], now: Date): CaseChange {
  const inFlight = loanCase.inFlight;
  if (!inFlight) throw new CaseStateConflictError("no step in flight");
  return {
    next: recordContacts(
      withStepsDone(
        touched(loanCase, now, { inFlight: null, cursorAt: inFlight.plannedAt, lastStep: inFlight.step }),
        [inFlight.step],
      ),
      events,
      now,
      inFlight.claimedAt,
    ),
    events,
  };
}

/**
 * The case with the messages among `events` added to its recent contacts (the last 8 days kept). A message whose
 * outcome is unknown may well have reached the borrower, so it counts as a contact too, from when it was claimed.
 */
export function recordContacts(
  loanCase: LoanCase,
  events: AuditEvent[],
  now: Date,
  claimedAt?: string,
): LoanCase {
  const sent: RecentContact[] = events
    .filter((e) => e.type === "message_sent" || e.type === "message_outcome_unknown")
    .map((e) => ({
      at: typeof e.data.sentAt === "string" ? e.data.sentAt : (claimedAt ?? toInstant(now)),
      channel: e.data.channel as Channel,
    }));
  // Notice is given by a message that went out, not by one whose fate is unknown.
  const reached = events.find((e) => e.type === "message_sent");
  const firstContact =
    loanCase.firstContactAt === null && reached
      ? { firstContactAt: typeof reached.data.sentAt === "string" ? reached.data.sentAt : toInstant(now) }
      : {};
  if (sent.length === 0 && !loanCase.recentContacts) return { ...loanCase, ...firstContact };
  return {
    ...loanCase,
    ...firstContact,
    recentContacts: keepRecent([...(loanCase.recentContacts ?? []), ...sent], now),
  };
}

/** Keeps the step open with the channels still to send, marked safe to retry. */
export function releaseChannels(
  loanCase: LoanCase,
  remaining: Channel[],
  events: AuditEvent[],
  now: Date,
): CaseChange {
  const inFlight = loanCase.inFlight;
  if (!inFlight) throw new CaseStateConflictError("no step in flight");
  return {
    next: recordContacts(
      touched(loanCase, now, { inFlight: { ...inFlight, channels: remaining, retryable: true } }),
      events,
      now,
    ),
    events,
  };
}

export function deferStep(
  loanCase: LoanCase,
  decision: Extract<StepDecision, { kind: "defer" }>,
  now: Date,
): CaseChange {
  return {
    next: touched(loanCase, now, { deferral: { step: decision.step.id, until: decision.until } }),
    events: [
      {
        type: "step_deferred",
        actor: WORKFLOW_ACTOR,
        data: { step: decision.step.id, rule: decision.rule ?? "contact_window", until: decision.until },
      },
    ],
  };
}

export function handOff(loanCase: LoanCase, plannedAt: string, now: Date): CaseChange {
  return {
    next: touched(loanCase, now, { status: "legal", cursorAt: plannedAt, lastStep: "hand_off" }),
    events: [
      {
        type: "handed_off",
        actor: WORKFLOW_ACTOR,
        data: {
          to: "legal",
          plannedAt,
          balance: loanCase.balance,
          daysPastDue: daysPastDue(loanCase.dueDate, loanCase.borrower.timeZone, now),
        },
      },
    ],
  };
}
