import {
  CaseNotCollectableError,
  DomainError,
  HandoffPublishError,
  StaleExecutionError,
  StepInProgressError,
} from "../domain/errors.ts";
import {
  type CaseChange,
  type Claimant,
  holdReviewAt,
  type InFlightStep,
  isCollectable,
  type LoanCase,
  WORKFLOW_ACTOR,
} from "../domain/loan-case.ts";
import { findStep, type Policy, rulesOf } from "../domain/policy.ts";
import { selfServiceOf } from "../domain/self-service.ts";
import { completeStep, type StepDecision } from "../domain/step-lifecycle.ts";
import { stepTransition } from "../domain/step-transition.ts";
import { toInstant } from "../domain/time.ts";
import type { BorrowerContactStore } from "../ports/borrower-contacts.ts";
import type { Handoffs } from "../ports/handoff.ts";
import type { SendPacing } from "../ports/send-pacing.ts";
import type { StrategyStore } from "../ports/strategies.ts";
import type { CaseRepository, Clock, MessageSender, PolicyRepository, WorkflowControl } from "../ports.ts";
import { borrowerContacts, reserveChannels } from "./borrower-reservations.ts";
import { claimHolderGone, confirmStep, failedConfirmation, settleConfirmation } from "./confirmations.ts";
import { claimAsExpected } from "./expected-claim.ts";
import { publishHandoff } from "./handoffs.ts";
import { issuePortalLink, type PortalConfig, type SentLink } from "./portal-links.ts";
import { paceSend, resumeOfThrottled } from "./send-pacing.ts";
import { type Carried, deliver, type Loaded, writeChange } from "./step-sending.ts";
import {
  CONFIRMATION_STEP,
  carried,
  type ExecutionState,
  type NextAction,
  nextAction,
  recordWake,
  refOf,
  type WakeDeps,
  withWake,
  writeEnding,
} from "./step-wakes.ts";
import { resegmented } from "./strategy-assignment.ts";

export {
  type ExecutionState,
  MAX_EXECUTION_DAYS,
  type NextAction,
  plannedStart,
} from "./step-wakes.ts";

export interface StepDeps extends WakeDeps {
  cases: CaseRepository;
  policies: PolicyRepository;
  sender: MessageSender;
  clock: Clock;
  /** To continue a long plan in a new execution. */
  workflow: WorkflowControl;
  runtime: StepRuntime;
  /** Where the hand-off step publishes the legal package. */
  handoffs: Handoffs;
  /** Each borrower's recent contacts across their loans: the frequency caps count them all. */
  borrowers: BorrowerContactStore;
  /** The tenants' send rates and the places taken in them; absent: nothing is paced. */
  pacing?: SendPacing;
  /** The borrowers' self-service page; absent: messages carry no personal link. */
  portal?: PortalConfig;
  /** The tenants' strategies, to place a case anew as time moves it between segments; absent: never. */
  strategies?: StrategyStore;
}

/**
 * Identity of the process running steps. `exclusive`: no other process runs steps on these cases (the
 * embedded stack), so a claim by another instance belongs to a process that is gone. On AWS several
 * invocations may overlap and only the lease tells.
 */
export interface StepRuntime {
  instanceId: string;
  exclusive: boolean;
  /** Real time, for leases: whether a claimant may still be running is a question about processes. */
  realNow(): number;
}

/** Longer than the send task may run (its Lambda timeout), so an expired lease means the sender is gone. */
export const CLAIM_LEASE_MS = 150_000;

/**
 * Loads the case this execution works for, when the workflow still has work for it: collectable (active), or
 * on hold until an agreement's date, awaiting the review of that agreement.
 */
async function loadCollectableOrAwaitingReview(
  deps: StepDeps,
  input: ExecutionState,
  read?: LoanCase | null,
): Promise<Loaded> {
  const loanCase = read === undefined ? await deps.cases.get(input.tenantId, input.loanId) : read;
  if (!loanCase) throw new CaseNotCollectableError("case not found");
  if (loanCase.generation !== input.generation) {
    throw new StaleExecutionError(`execution generation ${input.generation}, case at ${loanCase.generation}`);
  }
  const awaitingReview = loanCase.status === "on_hold" && loanCase.hold?.until !== undefined;
  if (!isCollectable(loanCase) && !awaitingReview)
    throw new CaseNotCollectableError(`case is ${loanCase.status}`);
  return { loanCase, policy: await policyOf(deps, loanCase) };
}

async function policyOf(deps: StepDeps, loanCase: LoanCase): Promise<Policy> {
  const policy = await deps.policies.get(loanCase.tenantId, loanCase.policy.id, loanCase.policy.version);
  if (!policy) throw new Error(`policy ${loanCase.policy.id} v${loanCase.policy.version} is missing`);
  return policy;
}

/**
 * "Continue in a new execution": the hand-over instant has come. Starts the next execution of this
 * generation, which plans at once and records its own wake — so the wake (now) is recorded first.
 */
async function startNextExecution(deps: StepDeps, input: ExecutionState): Promise<ExecutionState> {
  const ref = refOf(input);
  await deps.wakes.setWake(ref, toInstant(deps.clock.now()));
  await deps.workflow.start({ ...ref, epoch: (input.epoch ?? 0) + 1 });
  return { ...carried(input), next: { phase: "continued" } };
}

/**
 * Settles a step left in flight by an earlier run. Channels known not to have reached a provider are
 * reported failed; channels whose fate is unknown (the runtime stopped mid-send) are never sent again —
 * at most once beats a duplicate demand for money.
 */
async function settleInFlight(deps: StepDeps, loaded: Loaded, reason: string): Promise<Loaded> {
  const inFlight = loaded.loanCase.inFlight;
  if (!inFlight) return loaded;
  if (!inFlight.retryable && !claimHolderGone(deps.runtime, inFlight.claimant)) {
    // A duplicate invocation, or a new generation started while the old one is still sending.
    throw new StepInProgressError(`step ${inFlight.step} is being sent by another run`);
  }
  const type = inFlight.retryable ? "message_failed" : "message_outcome_unknown";
  const events = inFlight.channels.map((channel) => ({
    type,
    actor: WORKFLOW_ACTOR,
    data: { step: inFlight.step, channel, reason },
  }));
  return writeChange(deps, loaded, completeStep(loaded.loanCase, events, deps.clock.now()));
}

/**
 * "On hold: review": an agreement whose date has passed without the payment that would have lifted the
 * hold is broken, and collection resumes where it left off (the latest due step runs now).
 */
async function reviewHold(deps: StepDeps, loaded: Loaded, now: Date): Promise<Loaded> {
  const { loanCase } = loaded;
  const reviewAt = holdReviewAt(loanCase, loaded.policy);
  if (!reviewAt || Date.parse(reviewAt) > now.getTime() || !loanCase.hold) return loaded;
  const { reason, until, amount, paidSince } = loanCase.hold;
  return writeChange(deps, loaded, {
    next: {
      ...loanCase,
      status: loanCase.contactEnded ? "legal" : "active",
      hold: null,
      // A signal of its own for the tenant's strategy: how often the borrower let a promise pass.
      ...(reason === "promise" ? { brokenPromises: (loanCase.brokenPromises ?? 0) + 1 } : {}),
      updatedAt: toInstant(now),
    },
    events: [{ type: `${reason}_broken`, actor: WORKFLOW_ACTOR, data: { until, amount, paidSince } }],
  });
}

/** "Plan next action": the re-entry point of every execution. */
export async function planStep(deps: StepDeps, input: ExecutionState): Promise<ExecutionState> {
  let loaded = await loadCollectableOrAwaitingReview(deps, input);
  if (input.next?.phase === "continue") return startNextExecution(deps, input);
  const failure = input.error ? `${input.error.Error}` : "interrupted";
  loaded = await settleConfirmation(deps, await settleInFlight(deps, loaded, failure), failure);
  const now = deps.clock.now();
  loaded = await reviewHold(deps, loaded, now);
  // Days past due and lapsed promises move a case between a strategy's segments: its new policy runs it anew.
  const placed = await resegmented(deps, loaded, now);
  if (placed.moved)
    throw new StaleExecutionError("the case moved to its segment's policy under a new generation");
  loaded = { ...loaded, loanCase: placed.loanCase };
  const next = nextAction(loaded, now);
  const failedStep = input.error && input.next && "step" in input.next ? input.next.step : null;
  // A confirmation whose send failed before it was claimed would be planned again at once: record it, move on.
  if (failedStep === CONFIRMATION_STEP && "step" in next && next.step === CONFIRMATION_STEP) {
    const dropped = failedConfirmation(loaded.loanCase, failure, now);
    if (dropped) return writeEnding(deps, input, loaded, dropped, now);
  }
  // A send task that failed before claiming would be planned again at once; record it and move on.
  if (input.error && input.next && "step" in input.next && "step" in next && next.step === input.next.step) {
    const step = findStep(loaded.policy, next.step);
    if (step) {
      const skipped = {
        ...loaded.loanCase,
        inFlight: {
          step: step.id,
          plannedAt: next.at,
          channels: [],
          claimedAt: toInstant(now),
          retryable: true,
        },
      };
      const events = [
        { type: "step_failed", actor: WORKFLOW_ACTOR, data: { step: step.id, error: failure } },
      ];
      return writeEnding(deps, input, loaded, completeStep(skipped, events, now), now);
    }
  }
  return recordWake(deps, input, next, loaded.loanCase, now, loaded.policy);
}

/**
 * "…: send": claims the step the workflow expects on the version it expects, or reads the case; applies the
 * contact rules, claims, sends and records evidence.
 */
export async function sendStep(deps: StepDeps, input: ExecutionState): Promise<ExecutionState> {
  const expected = await claimAsExpected(deps, input, claimantOf(deps));
  if (expected && "claimed" in expected) return sendClaimed(deps, input, expected.claimed);
  return decideAndSend(deps, input, expected?.current);
}

/**
 * A step claimed as expected, the case unread before: sent when the rules, asked again now, say exactly that step
 * on those channels — the claim's entries and the link then go with the outcome's write. Otherwise (a late wake, a
 * channel gone meanwhile) the claim is withdrawn and the task decides as if it had read the case.
 */
async function sendClaimed(deps: StepDeps, input: ExecutionState, stored: LoanCase): Promise<ExecutionState> {
  const loaded = { loanCase: stored, policy: await policyOf(deps, stored) };
  const ours = stored.inFlight as InFlightStep;
  const now = new Date(ours.claimedAt);
  const unclaimed = { ...stored, inFlight: null };
  const { decision, change } = stepTransition({
    loanCase: unclaimed,
    policy: loaded.policy,
    borrowerContacts: [],
    now,
    ...(ours.claimant ? { claimant: ours.claimant } : {}),
  });
  if (decision.kind === "send" && sameClaim(decision, ours)) {
    const link = deps.portal
      ? issuePortalLink(deps.portal, unclaimed, portalSending(loaded.policy, decision), now)
      : null;
    const carried = { events: change.events, issuedLinks: link ? [link.issued] : [] };
    const claimed = { ...loaded, loanCase: { ...change.next, inFlight: ours } };
    return deliverAndPlan(deps, input, claimed, link ?? undefined, carried);
  }
  const withdrawn = await writeChange(deps, loaded, { next: unclaimed, events: [] });
  return decideAndSend(deps, input, withdrawn.loanCase);
}

function sameClaim(decision: Extract<StepDecision, { kind: "send" }>, claim: InFlightStep): boolean {
  return (
    decision.step.id === claim.step &&
    decision.plannedAt === claim.plannedAt &&
    decision.superseded.length === 0 &&
    decision.channels.join() === claim.channels.join()
  );
}

const claimantOf = (deps: StepDeps): Claimant => ({
  owner: deps.runtime.instanceId,
  leaseUntil: deps.runtime.realNow() + CLAIM_LEASE_MS,
});

/** The send task on the case as read (or as a refused claim found it): the rules decide, then claim and send. */
async function decideAndSend(
  deps: StepDeps,
  input: ExecutionState,
  read?: LoanCase | null,
): Promise<ExecutionState> {
  let loaded = await loadCollectableOrAwaitingReview(deps, input, read);
  if (loaded.loanCase.inFlight?.retryable && isCollectable(loaded.loanCase)) {
    // Throttled channels go out again inside the contact window only.
    const resume = resumeOfThrottled(loaded, deps.clock.now());
    return resume ? recordWake(deps, input, resume, loaded.loanCase) : deliverAndPlan(deps, input, loaded);
  }
  loaded = await settleConfirmation(deps, await settleInFlight(deps, loaded, "interrupted"), "interrupted");
  if (loaded.loanCase.confirmation && !loaded.loanCase.confirmation.claimedAt) {
    return confirmStep(deps, input, loaded, claimantOf(deps));
  }
  const now = deps.clock.now();
  const { loanCase, policy } = loaded;
  // Caps per loan need only the case; per borrower they also need the borrower's record (one more read).
  const borrower = rulesOf(policy).capsPer === "borrower" ? await borrowerContacts(deps, loanCase) : null;
  // The same transition the what-if simulator steps its cases through; the I/O around it is this task's.
  const { decision, change } = stepTransition({
    loanCase,
    policy,
    borrowerContacts: borrower?.record.contacts ?? [],
    now,
    claimant: claimantOf(deps),
  });
  switch (decision.kind) {
    case "wait":
    case "hand_off":
      // The hand-off is the legal task's: it moves the case and publishes the package together.
      return recordWake(deps, input, nextAction(loaded, now), loaded.loanCase, now, loaded.policy);
    case "skip":
    case "assign":
      return writeEnding(deps, input, loaded, change, now);
    case "defer":
      return writeEnding(deps, input, loaded, change, now, {
        phase: decision.step.stage,
        at: decision.until,
        step: decision.step.id,
      });
    case "send": {
      // A tenant's send rates come first: a step with no room this second waits for its place, or a day.
      const paced = await paceSend(deps, loaded, decision, now, input.next);
      // A deferral for want of capacity was written apart from the wake: recorded on its own.
      if (paced) return recordWake(deps, input, paced, null);
      // Reserve on the borrower before claiming on the case: if the claim then loses a race, the borrower's
      // record over-counts (stricter) — the other order could send without the other loans ever seeing it.
      if (borrower) await reserveChannels(deps, loanCase, borrower, decision, now);
      // The messages' personal link is issued with the claim: one write, and it works once they are out.
      const link = deps.portal
        ? issuePortalLink(deps.portal, loanCase, portalSending(policy, decision), now)
        : null;
      loaded = await writeChange(deps, loaded, link ? { ...change, issuedLinks: [link.issued] } : change);
      return deliverAndPlan(deps, input, loaded, link ?? undefined);
    }
  }
}

/**
 * Sends the step in flight, then plans from the instant its outcome was recorded: the outcome's write carries
 * the wake of the next action, planned from the completed case.
 */
async function deliverAndPlan(
  deps: StepDeps,
  input: ExecutionState,
  claimed: Loaded,
  portalLink?: SentLink,
  carried?: Carried,
): Promise<ExecutionState> {
  const finish = (change: CaseChange, at: Date) =>
    withWake(deps, input, change, nextAction({ ...claimed, loanCase: change.next }, at), at);
  const { loaded, now } = await deliver(deps, claimed, finish, portalLink, carried);
  return recordWake(deps, input, nextAction(loaded, now), loaded.loanCase, now, loaded.policy);
}

/** What a step's personal link is issued for: its messages, and as long as the policy lets links work. */
function portalSending(policy: Policy, decision: Extract<StepDecision, { kind: "send" }>) {
  return { step: decision.step.id, channels: decision.channels, validDays: selfServiceOf(policy).linkDays };
}

/**
 * "Legal hand-off: hand over": moves the case to legal once the hand-off instant has come, then publishes
 * the hand-off package. A retry after the move (publishing failed or the run was cut off) finds the case
 * handed off by this generation and only finishes publishing; publishing itself is idempotent.
 */
export async function handOffStep(deps: StepDeps, input: ExecutionState): Promise<ExecutionState> {
  const stored = await deps.cases.get(input.tenantId, input.loanId);
  if (
    stored?.status === "legal" &&
    stored.generation === input.generation &&
    stored.lastStep === "hand_off" &&
    !stored.contactEnded
  ) {
    await publishForLegal(deps, stored.tenantId, stored.loanId);
    return recordWake(deps, input, DONE, stored);
  }
  const loaded = await loadCollectableOrAwaitingReview(deps, input, stored);
  const now = deps.clock.now();
  // The transition the send task and the simulator take; only its hand-off is this task's to apply. The caps
  // do not bear on the hand-off, so the borrower's record is not read.
  const { decision, change } = stepTransition({ ...loaded, borrowerContacts: [], now });
  if (decision.kind !== "hand_off") {
    return recordWake(deps, input, nextAction(loaded, now), loaded.loanCase, now, loaded.policy);
  }
  // The move carries the end of the wake: a retry that only publishes finds it there.
  const written = await writeChange(deps, loaded, withWake(deps, input, change, DONE, now));
  // Withheld (no message ever reached the borrower): the case stays, flagged for ops; nothing to publish.
  if (!decision.withheld) await publishForLegal(deps, input.tenantId, input.loanId, written.loanCase);
  return recordWake(deps, input, DONE, written.loanCase, now);
}

const DONE: NextAction = { phase: "done" };

/** Publishing is idempotent: a failure becomes a named error the ASL retries with back-off. */
async function publishForLegal(
  deps: StepDeps,
  tenantId: string,
  loanId: string,
  justMoved?: LoanCase,
): Promise<void> {
  try {
    await publishHandoff(deps, tenantId, loanId, justMoved);
  } catch (error) {
    if (error instanceof DomainError) throw error;
    throw new HandoffPublishError(`hand-off package for ${loanId} not published: ${(error as Error).name}`);
  }
}
