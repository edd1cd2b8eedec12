import type { AuditEvent } from "../domain/audit-chain.ts";
import type { RecentContact } from "../domain/contact-rules.ts";
import { keepRecent } from "../domain/contact-rules.ts";
import { nextAllowedInstant } from "../domain/contact-window.ts";
import {
  chargedTo,
  claimStep,
  completeStep,
  decideStep,
  deferStep,
  handOff,
  type LoanCase,
  planFor,
  recordPayment,
  skipStep,
  subscribe,
  WORKFLOW_ACTOR,
} from "../domain/loan-case.ts";
import { type Policy, rulesOf } from "../domain/policy.ts";
import { localInstant, toInstant } from "../domain/time.ts";
import type { PortfolioLoan } from "./portfolio.ts";

/** What happened to a case, as one code per event (compact: trajectories are kept and replayed). */
export const EV = {
  SMS_PRE_DUE: 0,
  SMS_SOFT: 1,
  EMAIL_PRE_DUE: 2,
  EMAIL_SOFT: 3,
  DEFER_WINDOW: 4,
  DEFER_QUIET_DAY: 5,
  DEFER_SMS_CAP: 6,
  DEFER_7_DAY_CAP: 7,
  SUPPRESS_SMS_CAP: 8,
  SUPPRESS_7_DAY_CAP: 9,
  FALLBACK: 10,
  HAND_OFF: 11,
  PAID: 12,
} as const;
export type EventCode = (typeof EV)[keyof typeof EV];

export const isMessage = (code: number): boolean => code <= EV.EMAIL_SOFT;
export const isSms = (code: number): boolean => code === EV.SMS_PRE_DUE || code === EV.SMS_SOFT;

/** A case's events in time order: parallel arrays of epoch ms and codes. */
export interface EventLog {
  at: number[];
  code: EventCode[];
}

const DEFER_CODE: Record<string, EventCode> = {
  contact_window: EV.DEFER_WINDOW,
  quiet_day: EV.DEFER_QUIET_DAY,
  sms_daily_cap: EV.DEFER_SMS_CAP,
  contacts_7_day_cap: EV.DEFER_7_DAY_CAP,
};
const SUPPRESS_CODE: Record<string, EventCode> = {
  sms_daily_cap: EV.SUPPRESS_SMS_CAP,
  contacts_7_day_cap: EV.SUPPRESS_7_DAY_CAP,
};

/** One loan of a simulated borrower and the instant (epoch ms) its full payment arrives, if ever. */
export interface SimLoan {
  loan: PortfolioLoan;
  paysAt: number | null;
}

export const SIM_TENANT = "simulation";
const LENDER = "lender:simulation";
/** A step that keeps waking without progress would mean a bug in the engine, not a long schedule. */
const MAX_WAKES_PER_CASE = 10_000;

interface Running {
  loanCase: LoanCase;
  wake: number;
  paysAt: number;
  done: boolean;
  log: EventLog;
}

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
  const simple = loanCase.status === "active" && !loanCase.hold;
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

/**
 * Runs one borrower's loans through the production domain on a virtual clock from `startMs` to `endMs`:
 * subscribe, then at every planned instant decideStep → claimStep / completeStep, deferStep or handOff,
 * exactly as the workflow's send and hand-off tasks do; a payment is applied with recordPayment when it
 * arrives. With the policy's caps per borrower, the loans share one contact history.
 */
export function simulateBorrower(
  loans: SimLoan[],
  policy: Policy,
  startMs: number,
  endMs: number,
): EventLog[] {
  const start = new Date(startMs);
  const contacts: RecentContact[] = [];
  const cases: Running[] = loans.map(({ loan, paysAt }) => {
    const { next } = subscribe(
      SIM_TENANT,
      { loanId: loan.loanId, borrower: loan.borrower, amountDue: loan.amountDue, dueDate: loan.dueDate },
      policy,
      "simulated",
      LENDER,
      start,
    );
    return {
      loanCase: next,
      wake: nextWake(next, policy, start),
      paysAt: paysAt ?? Number.POSITIVE_INFINITY,
      done: false,
      log: { at: [], code: [] },
    };
  });
  const zoneOf = (c: LoanCase) => c.borrower.timeZone;
  const perBorrower = rulesOf(policy).capsPer === "borrower";
  for (let wakes = 0; ; wakes++) {
    let current: Running | undefined;
    let t = Number.POSITIVE_INFINITY;
    for (const c of cases) {
      if (c.done) continue;
      const at = Math.min(c.wake, c.paysAt);
      if (at < t) {
        t = at;
        current = c;
      }
    }
    if (!current || t >= endMs) break;
    if (wakes > MAX_WAKES_PER_CASE * cases.length) throw new Error("simulation made no progress");
    const now = new Date(t);
    const log = current.log;
    if (current.paysAt <= current.wake) {
      // The payment comes first at the same instant: a borrower who pays at 10:00 gets no 10:00 reminder.
      const owed = chargedTo(current.loanCase, policy.charges, now).balance;
      const paid = recordPayment(current.loanCase, owed, toInstant(now), LENDER, now, policy.charges);
      current.loanCase = paid.next;
      log.at.push(t);
      log.code.push(EV.PAID);
      current.done = true;
      continue;
    }
    // The case as the send task sees it: with caps per borrower, the recent contacts of all their loans.
    const view: LoanCase = perBorrower
      ? { ...current.loanCase, recentContacts: keepRecent(contacts, now) }
      : current.loanCase;
    const zone = zoneOf(view);
    const decision = decideStep(view, policy, now, (at) =>
      nextAllowedInstant(at, zone, policy.contactWindow),
    );
    switch (decision.kind) {
      case "wait":
        current.wake = Date.parse(decision.action.plannedAt);
        break;
      case "defer":
        current.loanCase = deferStep(view, decision, now).next;
        log.at.push(t);
        log.code.push(DEFER_CODE[decision.rule ?? "contact_window"] ?? EV.DEFER_WINDOW);
        current.wake = Date.parse(decision.until);
        break;
      case "send": {
        const claimed = claimStep(view, decision, now);
        for (const s of decision.suppressed ?? []) {
          log.at.push(t);
          log.code.push(SUPPRESS_CODE[s.rule] ?? EV.SUPPRESS_7_DAY_CAP);
        }
        for (const _ of decision.fallbacks ?? []) {
          log.at.push(t);
          log.code.push(EV.FALLBACK);
        }
        const sentAt = toInstant(now);
        const sent: AuditEvent[] = decision.channels.map((channel) => ({
          type: "message_sent",
          actor: WORKFLOW_ACTOR,
          data: { step: decision.step.id, stage: decision.step.stage, channel, sentAt },
        }));
        current.loanCase = completeStep(claimed.next, sent, now).next;
        const pre = decision.step.stage === "pre_due";
        for (const channel of decision.channels) {
          contacts.push({ at: sentAt, channel });
          log.at.push(t);
          if (channel === "sms") log.code.push(pre ? EV.SMS_PRE_DUE : EV.SMS_SOFT);
          else log.code.push(pre ? EV.EMAIL_PRE_DUE : EV.EMAIL_SOFT);
        }
        current.wake = nextWake(current.loanCase, policy, now);
        break;
      }
      case "skip":
        // Late past the policy's maxLateness, or no channel reaches the borrower: nothing goes out.
        current.loanCase = skipStep(view, decision, now).next;
        current.wake = nextWake(current.loanCase, policy, now);
        break;
      case "hand_off":
        if (decision.withheld) {
          // No message ever reached the borrower: no hand-off; ops would see the case flagged.
          current.wake = Number.POSITIVE_INFINITY;
          break;
        }
        current.loanCase = handOff(view, decision.plannedAt, now).next;
        log.at.push(t);
        log.code.push(EV.HAND_OFF);
        // Legal takes over: no more contact, but a payment may still come.
        current.wake = Number.POSITIVE_INFINITY;
        break;
    }
    if (current.wake === Number.POSITIVE_INFINITY && current.paysAt === Number.POSITIVE_INFINITY)
      current.done = true;
  }
  return cases.map((c) => c.log);
}
