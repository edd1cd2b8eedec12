import type { Policy, PolicyStep } from "./policy.ts";
import { localInstant, parseInstant, toInstant } from "./time.ts";

/** What the policy plans next: a dunning step or the hand-off. */
export type PolicyAction =
  | { kind: "step"; step: PolicyStep; plannedAt: string; superseded: PolicyStep[] }
  | { kind: "hand_off"; plannedAt: string };

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
}

export function stepInstant(plan: PlanningInput, step: Pick<PolicyStep, "offsetDays" | "sendAt">): string {
  return toInstant(localInstant(plan.dueDate, step.offsetDays, step.sendAt, plan.timeZone));
}

export function handOffInstant(plan: PlanningInput, policy: Policy): string {
  return toInstant(localInstant(plan.dueDate, policy.handOff.offsetDays, policy.handOff.at, plan.timeZone));
}

/**
 * The next action after the cursor. When several steps are already due (the case was paused or the
 * runtime was down), only the latest of them runs — the earlier ones are reported as superseded rather
 * than sent in a burst. Timing comes from the policy alone, so re-planning is always safe.
 */
export function planNext(plan: PlanningInput, policy: Policy, now: Date): PolicyAction {
  const nowIso = toInstant(now);
  // Instants compare as strings only in one canonical form.
  const cursorAt = toInstant(parseInstant(plan.cursorAt));
  const pending = policy.steps
    .map((step) => ({ step, plannedAt: stepInstant(plan, step) }))
    .filter((s) => s.plannedAt > cursorAt && !plan.done?.includes(s.step.id))
    .sort((a, b) => a.plannedAt.localeCompare(b.plannedAt));
  const due = pending.filter((s) => s.plannedAt <= nowIso);
  const chosen = due.at(-1) ?? pending[0];
  if (chosen) {
    return {
      kind: "step",
      step: chosen.step,
      plannedAt: chosen.plannedAt,
      superseded: due.slice(0, -1).map((s) => s.step),
    };
  }
  return { kind: "hand_off", plannedAt: handOffInstant(plan, policy) };
}
