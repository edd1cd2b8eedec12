import { DateTime } from "luxon";
import { firstNoticeOf, minDaysAfterFirstContact, type Policy, type PolicyStep } from "./policy.ts";
import { localInstant, toInstant } from "./time.ts";

/** What the policy plans next: a dunning step or the hand-off. */
export type PolicyAction =
  | { kind: "step"; step: PolicyStep; plannedAt: string; superseded: PolicyStep[] }
  | {
      kind: "hand_off";
      plannedAt: string;
      /** Set when no message has reached the borrower yet: the hand-off may not happen (see handOffPlan). */
      withheld?: "no_contact";
    };

/** What the workflow does next for a case: the policy's action, or the review of an agreement on hold. */
export type PlannedAction = PolicyAction | { kind: "hold_review"; plannedAt: string };

export interface PlanningInput {
  dueDate: string;
  timeZone: string;
  /**
   * Instant of the last step completed or passed over. Steps planned at or before it are history; a new
   * case starts with its subscription instant, so steps that were already past are never sent.
   */
  cursorAt: string;
  /**
   * Steps of this due date already settled — sent, outcome unknown, failed or skipped: never planned again,
   * wherever a policy change moves them.
   */
  done?: readonly string[];
  /** When the first notice of a loan subscribed past due is due; absent or null: the loan needs none. */
  firstNoticeAt?: string | null;
  /**
   * When a message first reached the borrower. Null: none has yet, so no hand-off. Absent: not tracked (a case
   * stored before it was), so the policy's hand-off instant alone decides.
   */
  firstContactAt?: string | null;
  /**
   * Due dates of the installments not yet paid, oldest first, for a hand-off after missed installments. Absent
   * on a loan without installments: a single payment is not counted as one.
   */
  unpaidDueDates?: readonly string[];
  /**
   * The borrower's preferred local time for reminders: every step is planned at it instead of its own `sendAt`.
   * The rules of contact still hold at send time (a time outside a changed window is deferred, never sent).
   */
  preferredSendAt?: string;
}

export function stepInstant(plan: PlanningInput, step: Pick<PolicyStep, "offsetDays" | "sendAt">): string {
  const at = plan.preferredSendAt ?? step.sendAt;
  return toInstant(localInstant(plan.dueDate, step.offsetDays, at, plan.timeZone));
}

/**
 * When the policy hands the case off: `offsetDays` after the due date collection is planned from (the oldest
 * unpaid installment's), or the day after the Nth unpaid installment fell due when the policy counts missed
 * installments — whichever comes first.
 */
export function handOffInstant(plan: PlanningInput, policy: Policy): string {
  const { offsetDays, at } = policy.handOff;
  const byDays = localInstant(plan.dueDate, offsetDays, at, plan.timeZone);
  const missed = missedInstallmentsDate(plan, policy);
  const byMissed = missed ? localInstant(missed, 1, at, plan.timeZone) : null;
  return toInstant(byMissed && byMissed < byDays ? byMissed : byDays);
}

/** The due date of the unpaid installment whose miss hands the case off; null when the policy counts none. */
function missedInstallmentsDate(plan: PlanningInput, policy: Policy): string | null {
  const count = policy.handOff.afterMissedInstallments;
  return count ? (plan.unpaidDueDates?.[count - 1] ?? null) : null;
}

/**
 * The hand-off: at the policy's instant, but never before `minDaysAfterFirstContact` whole days have passed
 * since a message first reached the borrower (then at the policy's hand-off time of day), and withheld while
 * none has.
 */
export function handOffPlan(
  plan: PlanningInput,
  policy: Policy,
): Extract<PolicyAction, { kind: "hand_off" }> {
  const byPolicy = handOffInstant(plan, policy);
  if (plan.firstContactAt === null) return { kind: "hand_off", plannedAt: byPolicy, withheld: "no_contact" };
  if (plan.firstContactAt === undefined) return { kind: "hand_off", plannedAt: byPolicy };
  const first = DateTime.fromISO(plan.firstContactAt, { zone: plan.timeZone });
  const noticeEnds = first.plus({ days: minDaysAfterFirstContact(policy) });
  let earliest = localInstant(noticeEnds.toISODate() as string, 0, policy.handOff.at, plan.timeZone);
  if (earliest < noticeEnds) earliest = earliest.plus({ days: 1 });
  const plannedAt = Math.max(Date.parse(byPolicy), earliest.toMillis());
  return { kind: "hand_off", plannedAt: toInstant(new Date(plannedAt)) };
}

/**
 * The next action after the cursor. A first notice not yet given comes before anything else. When several
 * steps are already due (the case was paused or the runtime was down), only the latest of them runs — the
 * earlier ones are reported as superseded rather than sent in a burst. Timing comes from the policy alone,
 * so re-planning is always safe. Instants are compared as numbers.
 */
export function planNext(plan: PlanningInput, policy: Policy, now: Date): PolicyAction {
  const done = plan.done ?? [];
  const notice = firstNoticeOf(policy);
  if (plan.firstNoticeAt && !done.includes(notice.id)) {
    return { kind: "step", step: notice, plannedAt: plan.firstNoticeAt, superseded: [] };
  }
  const cursorMs = Date.parse(plan.cursorAt);
  const pending = policy.steps
    .map((step) => {
      const plannedAt = stepInstant(plan, step);
      return { step, plannedAt, ms: Date.parse(plannedAt) };
    })
    .filter((s) => s.ms > cursorMs && !done.includes(s.step.id))
    .sort((a, b) => a.ms - b.ms);
  const due = pending.filter((s) => s.ms <= now.getTime());
  const chosen = due.at(-1) ?? pending[0];
  if (chosen && !handOffFirst(plan, policy, chosen.ms)) {
    return {
      kind: "step",
      step: chosen.step,
      plannedAt: chosen.plannedAt,
      superseded: due.slice(0, -1).map((s) => s.step),
    };
  }
  return handOffPlan(plan, policy);
}

/**
 * Missed installments can hand a case off before the policy's last steps (weekly installments, say): then the
 * hand-off comes first, once a message has reached the borrower. By days alone it always follows the last step.
 */
function handOffFirst(plan: PlanningInput, policy: Policy, nextStepMs: number): boolean {
  if (!missedInstallmentsDate(plan, policy)) return false;
  const handOff = handOffPlan(plan, policy);
  return !handOff.withheld && Date.parse(handOff.plannedAt) <= nextStepMs;
}

/**
 * The policy's steps for this due date that lie at or before the cursor and were never settled: passed over
 * by a change that moved the cursor (a subscription, a kept promise, a re-plan). `except`: a step in flight,
 * whose outcome its sender records.
 */
export function stepsPassedOver(plan: PlanningInput, policy: Policy, except?: string): PolicyStep[] {
  const done = plan.done ?? [];
  const cursorMs = Date.parse(plan.cursorAt);
  return policy.steps.filter(
    (step) =>
      step.id !== except && !done.includes(step.id) && Date.parse(stepInstant(plan, step)) <= cursorMs,
  );
}
