import { type AuditEvent, type ChainHead, EMPTY_CHAIN } from "./audit-chain.ts";
import { isInsideWindow } from "./contact-window.ts";
import { BusinessRuleError, CaseStateConflictError } from "./errors.ts";
import { compare, isPositive, isZero, type Money, money, subtract } from "./money.ts";
import { type PlannedAction, planNext } from "./planning.ts";
import type { Channel, Locale, Policy, PolicyStep } from "./policy.ts";
import { daysPastDue, toInstant } from "./time.ts";

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
}

export interface LoanCase {
  tenantId: string;
  loanId: string;
  status: CaseStatus;
  borrower: Borrower;
  amountDue: Money;
  balance: Money;
  dueDate: string;
  policy: { id: string; version: number };
  /** Bumped whenever the case is re-planned; each execution works for one generation. */
  generation: number;
  /** Optimistic-concurrency version: every write is conditional on it. */
  version: number;
  /** See PlanningInput.cursorAt. */
  cursorAt: string;
  lastStep: string | null;
  inFlight: InFlightStep | null;
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

export function planFor(loanCase: LoanCase, policy: Policy, now: Date): PlannedAction | null {
  if (!isCollectable(loanCase)) return null;
  return planNext(
    { dueDate: loanCase.dueDate, timeZone: loanCase.borrower.timeZone, cursorAt: loanCase.cursorAt },
    policy,
    now,
  );
}

export interface SubscriptionRequest {
  loanId: string;
  borrower: Borrower;
  amountDue: Money;
  dueDate: string;
}

export function subscribe(
  tenantId: string,
  request: SubscriptionRequest,
  policy: Policy,
  subscriptionHash: string,
  actor: string,
  now: Date,
): CaseChange {
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
    dueDate: request.dueDate,
    policy: { id: policy.id, version: policy.version },
    generation: 1,
    version: 0,
    cursorAt: at,
    lastStep: null,
    inFlight: null,
    audit: EMPTY_CHAIN,
    subscriptionHash,
    createdAt: at,
    updatedAt: at,
  };
  return {
    next,
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
        },
      },
    ],
  };
}

function touched(loanCase: LoanCase, now: Date, changes: Partial<LoanCase>): LoanCase {
  return { ...loanCase, ...changes, updatedAt: toInstant(now) };
}

/** A payment reduces the balance; the balance reaching zero ends collection. */
export function recordPayment(
  loanCase: LoanCase,
  amount: Money,
  occurredAt: string,
  actor: string,
  now: Date,
): CaseChange {
  if (loanCase.status !== "active" && loanCase.status !== "on_hold") {
    throw new CaseStateConflictError(`a payment cannot be recorded on a ${loanCase.status} case`);
  }
  if (amount.currency !== loanCase.balance.currency) {
    throw new BusinessRuleError(
      "CURRENCY_MISMATCH",
      `payment currency ${amount.currency} does not match ${loanCase.balance.currency}`,
      [{ path: "amount.currency", message: `must be ${loanCase.balance.currency}` }],
    );
  }
  if (!isPositive(amount)) {
    throw new BusinessRuleError("INVALID_AMOUNT", "a payment must be greater than zero", [
      { path: "amount.amount", message: "must be greater than zero" },
    ]);
  }
  if (compare(amount, loanCase.balance) > 0) {
    throw new BusinessRuleError(
      "PAYMENT_EXCEEDS_BALANCE",
      `payment ${amount.amount} exceeds the balance ${loanCase.balance.amount}`,
      [{ path: "amount.amount", message: `must be at most ${loanCase.balance.amount}` }],
    );
  }
  const balance = subtract(loanCase.balance, amount);
  const paidInFull = isZero(balance);
  const next = touched(loanCase, now, { balance, ...(paidInFull ? { status: "paid" as const } : {}) });
  return {
    next,
    events: [
      {
        type: "payment_received",
        actor,
        data: { amount, occurredAt, balance, paidInFull, status: next.status },
      },
    ],
  };
}

export type StepDecision =
  | { kind: "wait"; action: PlannedAction }
  | { kind: "defer"; step: PolicyStep; plannedAt: string; until: string }
  | { kind: "send"; step: PolicyStep; plannedAt: string; superseded: PolicyStep[]; channels: Channel[] }
  | { kind: "hand_off"; plannedAt: string };

/** Which channels of a step can reach this borrower. */
export function reachableChannels(borrower: Borrower, step: PolicyStep): Channel[] {
  return step.channels.filter((channel) => (channel === "sms" ? borrower.phone : borrower.email));
}

/** What a workflow step should do now, for a collectable case. */
export function decideStep(
  loanCase: LoanCase,
  policy: Policy,
  now: Date,
  nextWindowOpening: (at: Date) => Date,
): StepDecision {
  const action = planFor(loanCase, policy, now);
  if (!action) throw new CaseStateConflictError(`case is ${loanCase.status}`);
  if (action.plannedAt > toInstant(now)) return { kind: "wait", action };
  if (action.kind === "hand_off") return { kind: "hand_off", plannedAt: action.plannedAt };
  if (!isInsideWindow(now, loanCase.borrower.timeZone, policy.contactWindow)) {
    return {
      kind: "defer",
      step: action.step,
      plannedAt: action.plannedAt,
      until: toInstant(nextWindowOpening(now)),
    };
  }
  return {
    kind: "send",
    step: action.step,
    plannedAt: action.plannedAt,
    superseded: action.superseded,
    channels: reachableChannels(loanCase.borrower, action.step),
  };
}

export function claimStep(
  loanCase: LoanCase,
  decision: Extract<StepDecision, { kind: "send" }>,
  now: Date,
): CaseChange {
  const events: AuditEvent[] = decision.superseded.map((step) => ({
    type: "step_skipped",
    actor: WORKFLOW_ACTOR,
    data: { step: step.id, reason: "superseded_by_later_due_step", by: decision.step.id },
  }));
  events.push({
    type: "step_started",
    actor: WORKFLOW_ACTOR,
    data: {
      step: decision.step.id,
      stage: decision.step.stage,
      plannedAt: decision.plannedAt,
      channels: decision.channels,
      unreachable: decision.step.channels.filter((c) => !decision.channels.includes(c)),
      policy: loanCase.policy,
    },
  });
  const inFlight: InFlightStep = {
    step: decision.step.id,
    plannedAt: decision.plannedAt,
    channels: decision.channels,
    claimedAt: toInstant(now),
    retryable: false,
  };
  return { next: touched(loanCase, now, { inFlight }), events };
}

/** Closes the in-flight step: the cursor moves past it whatever the delivery outcome. */
export function completeStep(loanCase: LoanCase, events: AuditEvent[], now: Date): CaseChange {
  const inFlight = loanCase.inFlight;
  if (!inFlight) throw new CaseStateConflictError("no step in flight");
  return {
    next: touched(loanCase, now, { inFlight: null, cursorAt: inFlight.plannedAt, lastStep: inFlight.step }),
    events,
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
    next: touched(loanCase, now, { inFlight: { ...inFlight, channels: remaining, retryable: true } }),
    events,
  };
}

export function deferStep(
  loanCase: LoanCase,
  decision: Extract<StepDecision, { kind: "defer" }>,
  now: Date,
): CaseChange {
  return {
    next: touched(loanCase, now, {}),
    events: [
      {
        type: "step_deferred",
        actor: WORKFLOW_ACTOR,
        data: { step: decision.step.id, rule: "contact_window", until: decision.until },
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
