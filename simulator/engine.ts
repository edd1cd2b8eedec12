import type { AuditEvent } from "../functions/domain/audit-chain.ts";
import type { BorrowerContact } from "../functions/domain/borrower-contacts.ts";
import { recordPayment } from "../functions/domain/case-payment.ts";
import { CHANNELS, type Channel } from "../functions/domain/channels.ts";
import { keepRecent } from "../functions/domain/contact-rules.ts";
import {
  chargedTo,
  type LoanCase,
  passOver,
  planFor,
  subscribe,
  WORKFLOW_ACTOR,
} from "../functions/domain/loan-case.ts";
import { add, compare, type Money, subtract } from "../functions/domain/money.ts";
import type { Policy } from "../functions/domain/policy.ts";
import { isSettled } from "../functions/domain/schedule.ts";
import { completeStep, type StepDecision } from "../functions/domain/step-lifecycle.ts";
import { stepTransition } from "../functions/domain/step-transition.ts";
import { daysPastDue, localInstant, toInstant } from "../functions/domain/time.ts";
import type { PortfolioLoan } from "./portfolio.ts";

/**
 * What happened to a case, as one code per event (compact: trajectories are kept and replayed). Messages have codes
 * of their own after these, one per channel and stage (messageCode), so a channel needs no code of its own here.
 */
export const EV = {
  DEFER_WINDOW: 0,
  DEFER_QUIET_DAY: 1,
  DEFER_DAILY_CAP: 2,
  DEFER_7_DAY_CAP: 3,
  SUPPRESS_DAILY_CAP: 4,
  SUPPRESS_7_DAY_CAP: 5,
  FALLBACK: 6,
  HAND_OFF: 7,
  PAID: 8,
  /** An installment covered by its due date (borrower-local), or after it. */
  INSTALLMENT_ON_TIME: 9,
  INSTALLMENT_LATE: 10,
  /** A payment cleared every overdue installment (the case's `cured` audit entry). */
  CURED: 11,
} as const;
export type EventCode = number;

const FIRST_MESSAGE_CODE = 16;
/** The code of a message on `channel`, before the due date or in soft collection. */
export const messageCode = (channel: Channel, preDue: boolean): EventCode =>
  FIRST_MESSAGE_CODE + 2 * CHANNELS.indexOf(channel) + (preDue ? 0 : 1);
export const isMessage = (code: number): boolean => code >= FIRST_MESSAGE_CODE;
/** The channel and stage of a message code. */
export function messageOf(code: EventCode): { channel: Channel; preDue: boolean } {
  const index = code - FIRST_MESSAGE_CODE;
  return { channel: CHANNELS[Math.floor(index / 2)] as Channel, preDue: index % 2 === 0 };
}

/** A case's events in time order: parallel arrays of epoch ms and codes. */
export interface EventLog {
  at: number[];
  code: EventCode[];
}

/** A cap rule's code: the seven-day cap, or a channel's daily cap (whichever channel's spec names it). */
function capCode(rule: string, daily: EventCode, sevenDay: EventCode): EventCode {
  return rule === "contacts_7_day_cap" ? sevenDay : daily;
}

/**
 * One loan of a simulated borrower and the instants (epoch ms, ascending) its payments arrive: one in full for a loan
 * with one due date, one installment's worth each on a schedule (see installmentWorth); none: it never pays.
 */
export interface SimLoan {
  loan: PortfolioLoan;
  paysAt: readonly number[];
  /** The loan's own policy (a strategy gives each loan one); absent: the borrower's. */
  policy?: Policy;
}

export const SIM_TENANT = "simulation";
const LENDER = "lender:simulation";
/** A step that keeps waking without progress would mean a bug in the engine, not a long schedule. */
const MAX_WAKES_PER_CASE = 10_000;

interface Running {
  /** Position of the loan in the borrower's list. */
  index: number;
  policy: Policy;
  loanCase: LoanCase;
  wake: number;
  paysAt: readonly number[];
  /** Payments applied so far. */
  paid: number;
  done: boolean;
  log: EventLog;
}

const nextPayment = (c: Running): number => c.paysAt[c.paid] ?? Number.POSITIVE_INFINITY;

/** When a borrower's full payment arrives: `payDay` days from the due date at the model's local time. */
export function paymentInstant(
  dueDate: string,
  payDay: number,
  paymentTime: string,
  zone: string,
  startMs: number,
): number {
  // A loan paid "before" it was subscribed is paid as the run starts.
  return Math.max(startMs, localInstant(dueDate, payDay, paymentTime, zone).toMillis());
}

/** Next planned instants by policy, then by "zone|dueDate|cursorAt" (see nextWake). */
const plannedAfter = new WeakMap<Policy, Map<string, number>>();

/**
 * When the workflow wakes next (planFor, as after every send). Loans of the same zone and due date share
 * their schedule, so an answer that lies in the future — and so does not depend on `now` — is remembered.
 */
function nextWake(loanCase: LoanCase, policy: Policy, now: Date): number {
  // A schedule's plan also turns on which installments are paid: such cases plan afresh every time.
  const simple = loanCase.status === "active" && !loanCase.hold && !loanCase.installments;
  let memo = plannedAfter.get(policy);
  if (!memo) {
    memo = new Map();
    plannedAfter.set(policy, memo);
  }
  // The first contact bounds the hand-off, so loans that share it share the plan.
  const key = `${loanCase.borrower.timeZone}|${loanCase.dueDate}|${loanCase.cursorAt}|${loanCase.firstContactAt}|${loanCase.firstNoticeAt}`;
  const known = simple ? memo.get(key) : undefined;
  if (known !== undefined && known > now.getTime()) return known;
  const action = planFor(loanCase, policy, now);
  const at = action ? Date.parse(action.plannedAt) : Number.POSITIVE_INFINITY;
  if (simple && at > now.getTime()) {
    if (memo.size >= 500_000) memo.clear();
    memo.set(key, at);
  }
  return Math.max(at, now.getTime());
}

/** What the workflow does for a simulated case when it wakes at a planned instant. */
export interface SimulatedStep {
  decision: StepDecision;
  /** The case afterwards: a claimed step completed as if every channel was sent. */
  loanCase: LoanCase;
  /** The audit events the workflow would write: the transition's, then one message_sent per channel. */
  events: AuditEvent[];
  /** The contacts made, for the borrower's record. */
  sent: BorrowerContact[];
  /** When the workflow next acts on the case (epoch ms; +Infinity: never). */
  wake: number;
}

/**
 * One wake of the workflow for a case: the domain's step transition, which the workflow's send and hand-off
 * tasks apply too, then — for a claimed step — every channel sent at once. After a hand-off (legal takes
 * over) or a withheld one (the case flagged for ops) no step runs for the case again; a payment may still come.
 */
export function simulateStep(
  loanCase: LoanCase,
  policy: Policy,
  now: Date,
  borrowerContacts: readonly BorrowerContact[],
): SimulatedStep {
  const { decision, change } = stepTransition({ loanCase, policy, borrowerContacts, now });
  const step = { decision, loanCase: change.next, events: change.events, sent: [] };
  switch (decision.kind) {
    case "wait":
      return { ...step, wake: Date.parse(decision.action.plannedAt) };
    case "defer":
      return { ...step, wake: Date.parse(decision.until) };
    case "skip":
    // A call or visit goes to the collection team, which the simulator does not model: no message goes out.
    case "assign":
      // Late past the policy's maxLateness, or no channel reaches the borrower: nothing goes out.
      return { ...step, wake: nextWake(change.next, policy, now) };
    case "hand_off":
      return { ...step, wake: Number.POSITIVE_INFINITY };
    case "send": {
      const at = toInstant(now);
      const { id, stage } = decision.step;
      const messages: AuditEvent[] = decision.channels.map((channel) => ({
        type: "message_sent",
        actor: WORKFLOW_ACTOR,
        data: { step: id, stage, channel, sentAt: at },
      }));
      const completed = completeStep(change.next, messages, now).next;
      const { loanId } = loanCase;
      const sent = decision.channels.map(
        (channel): BorrowerContact => ({ at, channel, loanId, step: id, plannedAt: decision.plannedAt }),
      );
      return {
        decision,
        loanCase: completed,
        events: [...change.events, ...messages],
        sent,
        wake: nextWake(completed, policy, now),
      };
    }
  }
}

/** The simulator's codes for what a step did, in the order the workflow records it. */
function eventCodes(decision: StepDecision): EventCode[] {
  switch (decision.kind) {
    case "wait":
    case "skip":
    case "assign":
      return [];
    case "defer": {
      const rule = decision.rule ?? "contact_window";
      if (rule === "contact_window") return [EV.DEFER_WINDOW];
      if (rule === "quiet_day") return [EV.DEFER_QUIET_DAY];
      return [capCode(rule, EV.DEFER_DAILY_CAP, EV.DEFER_7_DAY_CAP)];
    }
    case "hand_off":
      return decision.withheld ? [] : [EV.HAND_OFF];
    case "send": {
      const pre = decision.step.stage === "pre_due";
      return [
        ...(decision.suppressed ?? []).map((s) =>
          capCode(s.rule, EV.SUPPRESS_DAILY_CAP, EV.SUPPRESS_7_DAY_CAP),
        ),
        ...(decision.fallbacks ?? []).map(() => EV.FALLBACK),
        ...decision.channels.map((channel) => messageCode(channel, pre)),
      ];
    }
  }
}

/**
 * One instant the workflow (or the API, for a payment) acted on a loan: what capacity planning counts, where the
 * event log keeps only what reached the borrower.
 */
export interface WakeRecord {
  /** Position of the loan in the borrower's list. */
  loan: number;
  at: number;
  /** The step task's decision, or what the API recorded: the subscription, a payment. */
  kind: StepDecision["kind"] | "payment" | "subscribe";
  /** The channels a send went out on (empty otherwise). */
  channels: readonly Channel[];
  /** What a payment did to the workflow: paid in full (the execution stops), re-planned (stop, then start). */
  payment?: "paid" | "replan" | "none";
  /** When the workflow acts on the loan next (epoch ms; +Infinity: never). */
  next: number;
}
export type WakeObserver = (record: WakeRecord) => void;

/**
 * Runs one borrower's loans through the production domain on a virtual clock from `startMs` to `endMs`:
 * subscribe, then at every planned instant the workflow's step transition (simulateStep); a payment is
 * applied with recordPayment when it arrives. The loans share the borrower's contact record, which the caps
 * count when the policy caps per borrower. Each loan runs `policy` unless it names its own (SimLoan.policy), as the
 * cases of one borrower may each have theirs. `observe`, when given, hears of every wake and payment.
 */
export function simulateBorrower(
  loans: SimLoan[],
  policy: Policy,
  startMs: number,
  endMs: number,
  observe?: WakeObserver,
): EventLog[] {
  const start = new Date(startMs);
  let contacts: BorrowerContact[] = [];
  const cases: Running[] = loans.map(({ loan, paysAt, policy: own }, index) => {
    const { loanId, borrower, amountDue, dueDate, schedule } = loan;
    const terms = { loanId, borrower, amountDue, dueDate, schedule };
    const runs = own ?? policy;
    const { next } = subscribe(SIM_TENANT, terms, runs, "simulated", LENDER, start);
    const wake = nextWake(next, runs, start);
    observe?.({ loan: index, at: startMs, kind: "subscribe", channels: [], next: wake });
    return {
      index,
      policy: runs,
      loanCase: next,
      wake,
      paysAt,
      paid: 0,
      done: false,
      log: { at: [], code: [] },
    };
  });
  for (let wakes = 0; ; wakes++) {
    let current: Running | undefined;
    let t = Number.POSITIVE_INFINITY;
    for (const c of cases) {
      if (c.done) continue;
      const at = Math.min(c.wake, nextPayment(c));
      if (at < t) {
        t = at;
        current = c;
      }
    }
    if (!current || t >= endMs) break;
    if (wakes > MAX_WAKES_PER_CASE * cases.length) throw new Error("simulation made no progress");
    const now = new Date(t);
    const log = current.log;
    let codes: EventCode[];
    // The payment comes first at the same instant: a borrower who pays at 10:00 gets no 10:00 reminder.
    let record: Omit<WakeRecord, "next">;
    if (nextPayment(current) <= current.wake) {
      const paid = pay(current, current.policy, now);
      codes = paid.codes;
      record = { loan: current.index, at: t, kind: "payment", channels: [], payment: paid.effect };
    } else {
      const step = simulateStep(current.loanCase, current.policy, now, contacts);
      current.loanCase = step.loanCase;
      current.wake = step.wake;
      codes = eventCodes(step.decision);
      // The borrower's record forgets what no cap looks back to, as the stored one does.
      if (step.sent.length > 0) contacts = keepRecent([...contacts, ...step.sent], now);
      const channels = step.decision.kind === "send" ? step.decision.channels : [];
      record = { loan: current.index, at: t, kind: step.decision.kind, channels };
    }
    observe?.({ ...record, next: current.done ? Number.POSITIVE_INFINITY : current.wake });
    for (const code of codes) {
      log.at.push(t);
      log.code.push(code);
    }
    if (current.wake === Number.POSITIVE_INFINITY && nextPayment(current) === Number.POSITIVE_INFINITY)
      current.done = true;
  }
  return cases.map((c) => c.log);
}

/**
 * What a borrower pays at a payment instant: what is left of the oldest open installment plus the fees and interest
 * charged so far, or the whole balance of a loan with one due date (or once it is all that is left).
 */
function installmentWorth(charged: LoanCase): Money {
  const open = charged.installments?.find((i) => !isSettled(i));
  if (!open) return charged.balance;
  const worth = add(add(subtract(open.amount, open.paid), charged.fees), charged.interest);
  return compare(worth, charged.balance) < 0 ? worth : charged.balance;
}

/**
 * Applies the case's next payment as the API does (recordPayment, then the re-plan that moves the collection to the
 * next installment) and returns its codes: the installments it covered, a cure, the balance paid in full.
 */
function pay(
  c: Running,
  policy: Policy,
  now: Date,
): { codes: EventCode[]; effect: "paid" | "replan" | "none" } {
  const before = c.loanCase;
  const amount = installmentWorth(chargedTo(before, policy.charges, now));
  const outcome = recordPayment(before, amount, toInstant(now), LENDER, now, policy.charges);
  c.paid++;
  const codes: EventCode[] = [];
  outcome.next.installments?.forEach((installment, i) => {
    if (!isSettled(installment) || isSettled(before.installments?.[i] ?? installment)) return;
    const late = daysPastDue(installment.dueDate, before.borrower.timeZone, now) > 0;
    codes.push(late ? EV.INSTALLMENT_LATE : EV.INSTALLMENT_ON_TIME);
  });
  if (outcome.events.some((e) => e.type === "cured")) codes.push(EV.CURED);
  if (outcome.next.status === "paid") {
    c.loanCase = outcome.next;
    c.done = true;
    return { codes: [...codes, EV.PAID], effect: "paid" };
  }
  // The API stops the execution and starts the next at the new plan: steps the new due date left behind are skipped.
  c.loanCase =
    outcome.workflow === "replan"
      ? passOver(outcome.next, policy, "passed_over_by_replan", { cause: "payment" }).next
      : outcome.next;
  if (outcome.workflow === "replan") c.wake = nextWake(c.loanCase, policy, now);
  return { codes, effect: outcome.workflow === "replan" ? "replan" : "none" };
}
