import { confirmationDueAt } from "../domain/confirmations.ts";
import type { CaseChange, LoanCase } from "../domain/loan-case.ts";
import { planFor, stageOf } from "../domain/loan-case.ts";
import { type Channel, type Policy, rulesOf } from "../domain/policy.ts";
import type { SendSlot } from "../domain/send-pacing.ts";
import { stepTransition } from "../domain/step-transition.ts";
import { parseInstant, toInstant } from "../domain/time.ts";
import { expectsWorkflow } from "../domain/workflow-health.ts";
import { parksUntil } from "../domain/workflow-horizon.ts";
import type { Clock, PlannedStart, WorkflowWakes } from "../ports.ts";
import { type Loaded, type SendingDeps, writeChange } from "./step-sending.ts";

/** The send task's step name for a confirmation of a borrower's action (confirmations.ts). */
export const CONFIRMATION_STEP = "confirmation";

/**
 * Standard workflows live at most a year. An execution whose next wait would end later than this after
 * its start waits until then and hands over to a fresh execution of the same generation (the workflow is
 * re-entrant, so the new one simply plans again).
 */
export const MAX_EXECUTION_DAYS = 350;

/** What the workflow carries between states; `next` drives the Choice and the Wait's TimestampPath. */
export interface ExecutionState {
  tenantId: string;
  loanId: string;
  generation: number;
  epoch?: number;
  /** When the execution started, by the business clock. */
  startedAt?: string;
  next?: NextAction;
  /** Set by the ASL Catch when a send task failed for good. */
  error?: { Error: string; Cause?: string };
}

export type NextAction =
  // A paced step carries the place it took at `at` (send-pacing.ts): the send goes out on it. A step expected to
  // be sent carries the claim its send task may take without reading the case first (ExpectedClaim).
  | {
      phase: "pre_due" | "soft_collection" | "legal" | "on_hold";
      at: string;
      step: string;
      slot?: SendSlot;
      claim?: ExpectedClaim;
    }
  | { phase: "continue"; at: string }
  | { phase: "parked"; at: string }
  | { phase: "done" }
  | { phase: "continued" };

/**
 * The claim a send task expects to take: the step as planned, on these channels, while the case is still at the
 * version the task before it left. The send task claims on that condition and gets the case back from the same
 * write (no read first); if the case moved meanwhile, the refused write returns it and the task decides as usual.
 */
export interface ExpectedClaim {
  version: number;
  plannedAt: string;
  channels: Channel[];
}

/**
 * What the send task will claim at `next.at` if nothing changes the case before then: the transition production
 * takes, run ahead of time. Only a plain send qualifies (no step in flight or confirmation owed, none superseded);
 * caps per borrower need the borrower's record, so those steps read first as before.
 */
export function expectedClaim(stored: LoanCase, policy: Policy, next: NextAction): ExpectedClaim | undefined {
  if (!("step" in next) || (next.phase !== "pre_due" && next.phase !== "soft_collection")) return undefined;
  if (stored.inFlight || stored.confirmation || rulesOf(policy).capsPer !== "loan") return undefined;
  const { decision } = stepTransition({
    loanCase: stored,
    policy,
    borrowerContacts: [],
    now: new Date(next.at),
  });
  if (decision.kind !== "send" || decision.step.id !== next.step || decision.superseded.length > 0)
    return undefined;
  return { version: stored.version, plannedAt: decision.plannedAt, channels: decision.channels };
}

/** What the workflow does next for a case as it stands. */
export function nextAction(loaded: { loanCase: LoanCase; policy: Policy }, now: Date): NextAction {
  // A confirmation the borrower is owed goes first, through the send task of the case's stage.
  const confirmAt = confirmationDueAt(loaded.loanCase, loaded.policy, now);
  if (confirmAt) {
    const phase = stageOf(loaded.loanCase, now) === "pre_due" ? "pre_due" : "soft_collection";
    return { phase, at: confirmAt, step: CONFIRMATION_STEP };
  }
  const action = planFor(loaded.loanCase, loaded.policy, now);
  if (!action) return { phase: "done" };
  if (action.kind === "hand_off") return { phase: "legal", at: action.plannedAt, step: "hand_off" };
  if (action.kind === "hold_review") return { phase: "on_hold", at: action.plannedAt, step: "hold_review" };
  return { phase: action.step.stage, at: action.plannedAt, step: action.step.id };
}

export const refOf = (input: ExecutionState) => ({
  tenantId: input.tenantId,
  loanId: input.loanId,
  generation: input.generation,
});

/** What this execution carries on to its next state, whatever comes next. */
export function carried(input: ExecutionState): ExecutionState {
  return { ...refOf(input), ...(input.epoch ? { epoch: input.epoch } : {}), startedAt: input.startedAt };
}

/** An action beyond what an execution started at `startedAt` may wait for becomes a hand-over to the next one. */
export function withinExecution(next: NextAction, startedAt: string): NextAction {
  const limit = parseInstant(startedAt).plus({ days: MAX_EXECUTION_DAYS });
  return "at" in next && parseInstant(next.at) > limit ? { phase: "continue", at: toInstant(limit) } : next;
}

/** Where the execution goes after a task, and the wake that leaves on the case (see recordWake). */
interface WakePlan {
  next: NextAction;
  wakeAt: string | null;
  parked: boolean;
}

/**
 * An action beyond the horizon parks the case and ends the execution (the waker starts the next one); an
 * action beyond what this execution may wait for becomes a hand-over to the next execution, at the last
 * instant it may.
 */
function wakePlan(input: ExecutionState, next: NextAction, now: Date, horizonDays: number): WakePlan {
  if ("at" in next && parksUntil(next.at, now, horizonDays)) {
    return { next: { phase: "parked", at: next.at }, wakeAt: next.at, parked: true };
  }
  const planned = input.startedAt ? withinExecution(next, input.startedAt) : next;
  return { next: planned, wakeAt: "at" in planned ? planned.at : null, parked: false };
}

/**
 * Whether the case as stored already holds the wake the plan records, as `WorkflowWakes.setWake` would leave
 * it: of this generation, at that instant, parked or not, and (for an instant) a case a workflow should act
 * on — the one the stored index keys follow from.
 */
function carriesWake(loanCase: LoanCase, generation: number, plan: WakePlan): boolean {
  return (
    loanCase.generation === generation &&
    (loanCase.wakeAt ?? null) === plan.wakeAt &&
    (loanCase.parked === true) === plan.parked &&
    (plan.wakeAt === null || expectsWorkflow(loanCase))
  );
}

/** What recording a wake needs: the wake store, the business clock and the horizon. */
export interface WakeDeps {
  /** When the workflow next acts on each case, for the reconciler and the waker. */
  wakes: WorkflowWakes;
  clock: Clock;
  /** Days an execution may wait for its next action; beyond them the case parks (0: never). */
  horizonDays: number;
}

/**
 * A change a task is about to write, carrying the wake the task then records: the wake is part of the same
 * write (no UpdateItem of its own), for the generation this execution works for only. The case is left as it
 * is where setWake would change nothing (a case no workflow should act on keeps its wake), so the wake is then
 * recorded apart, as before, and refused there.
 */
export function withWake(
  deps: Pick<WakeDeps, "horizonDays">,
  input: ExecutionState,
  change: CaseChange,
  next: NextAction,
  now: Date,
): CaseChange {
  const plan = wakePlan(input, next, now, deps.horizonDays);
  const loanCase = change.next;
  if (loanCase.generation !== input.generation) return change;
  if (plan.wakeAt !== null && !expectsWorkflow(loanCase)) return change;
  const { parked: _wasParked, ...rest } = loanCase;
  return { ...change, next: { ...rest, wakeAt: plan.wakeAt, ...(plan.parked ? { parked: true } : {}) } };
}

/**
 * Records on the case when the workflow next acts on it (the reconciler restarts a case left long past that
 * instant) and hands `next` back to the workflow (see wakePlan). `stored` is the case as this task last read or
 * wrote it: when it already holds that wake (the task's write carried it, see withWake), nothing is written.
 */
export async function recordWake(
  deps: WakeDeps,
  input: ExecutionState,
  next: NextAction,
  stored: LoanCase | null,
  now: Date = deps.clock.now(),
  policy?: Policy,
): Promise<ExecutionState> {
  const plan = wakePlan(input, next, now, deps.horizonDays);
  if (!stored || !carriesWake(stored, input.generation, plan)) {
    await deps.wakes.setWake(refOf(input), plan.wakeAt, plan.parked ? { parked: true } : undefined);
  }
  return { ...carried(input), next: stored && policy ? withClaim(plan.next, stored, policy) : plan.next };
}

/** `next` with the claim its send task may take, when one is expected (the wake leaves the version alone). */
function withClaim(next: NextAction, stored: LoanCase, policy: Policy): NextAction {
  const claim = expectedClaim(stored, policy, next);
  return claim && "step" in next ? { ...next, claim } : next;
}

/**
 * The first action of a case whose generation is about to start, as its execution's Plan task would find it: the
 * caller starts the workflow with it (WorkflowRef.planned) and the execution skips that task — one Lambda
 * invocation and one read fewer. A case with a step in flight still goes through Plan, which settles the step.
 */
export function plannedStart(loanCase: LoanCase, policy: Policy, now: Date): PlannedStart {
  const startedAt = toInstant(now);
  const next = withinExecution(nextAction({ loanCase, policy }, now), startedAt);
  return { startedAt, next: withClaim(next, loanCase, policy) };
}

/**
 * Writes a change that ends this task's work on the case together with the wake of what comes next (planned
 * from the changed case, or `next`): one write, and no UpdateItem of the wake after it.
 */
export async function writeEnding(
  deps: WakeDeps & Pick<SendingDeps, "cases">,
  input: ExecutionState,
  loaded: Loaded,
  change: CaseChange,
  now: Date,
  next: NextAction = nextAction({ ...loaded, loanCase: change.next }, now),
): Promise<ExecutionState> {
  const written = await writeChange(deps, loaded, withWake(deps, input, change, next, now));
  return recordWake(deps, input, next, written.loanCase, now, loaded.policy);
}
