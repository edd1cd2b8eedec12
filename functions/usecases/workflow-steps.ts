import { createHash } from "node:crypto";
import { DateTime } from "luxon";
import type { AuditEvent } from "../domain/audit-chain.ts";
import { borrowerRef, contactsForCaps, withReservations } from "../domain/borrower-contacts.ts";
import { nextAllowedInstant } from "../domain/contact-window.ts";
import {
  CaseNotCollectableError,
  ConcurrentUpdateError,
  DomainError,
  HandoffPublishError,
  ProviderThrottledError,
  StaleExecutionError,
  StepInProgressError,
} from "../domain/errors.ts";
import {
  chargedTo,
  claimStep,
  completeStep,
  decideStep,
  deferStep,
  handOff,
  holdReviewAt,
  isCollectable,
  type LoanCase,
  planFor,
  recordContacts,
  releaseChannels,
  type StepDecision,
  skipStep,
  WORKFLOW_ACTOR,
} from "../domain/loan-case.ts";
import { add, compare, formatMoney, type Money, subtract } from "../domain/money.ts";
import { maskEmail, maskPhone } from "../domain/pii.ts";
import { type Channel, findStep, type Policy, type PolicyStep, rulesOf } from "../domain/policy.ts";
import { renderMessage, templatesOf } from "../domain/templates.ts";
import { daysPastDue, localTime, parseInstant, toInstant } from "../domain/time.ts";
import { withholdHandOff } from "../domain/workflow-health.ts";
import type { BorrowerContactRecord, BorrowerContactStore } from "../ports/borrower-contacts.ts";
import type { Handoffs } from "../ports/handoff.ts";
import type {
  CaseRepository,
  Clock,
  MessageSender,
  PlannedStart,
  PolicyRepository,
  WorkflowControl,
  WorkflowWakes,
} from "../ports.ts";
import { publishHandoff } from "./handoffs.ts";

export interface StepDeps {
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
  /** When the workflow next acts on each case, for the reconciler. */
  wakes: WorkflowWakes;
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
  | { phase: "pre_due" | "soft_collection" | "legal" | "on_hold"; at: string; step: string }
  | { phase: "continue"; at: string }
  | { phase: "done" }
  | { phase: "continued" };

interface Loaded {
  loanCase: LoanCase;
  policy: Policy;
}

/** Loads a case the workflow still has work for: collectable, or on hold until an agreement's date. */
async function loadCollectable(deps: StepDeps, input: ExecutionState): Promise<Loaded> {
  const loanCase = await deps.cases.get(input.tenantId, input.loanId);
  if (!loanCase) throw new CaseNotCollectableError("case not found");
  if (loanCase.generation !== input.generation) {
    throw new StaleExecutionError(`execution generation ${input.generation}, case at ${loanCase.generation}`);
  }
  const awaitingReview = loanCase.status === "on_hold" && loanCase.hold?.until !== undefined;
  if (!isCollectable(loanCase) && !awaitingReview)
    throw new CaseNotCollectableError(`case is ${loanCase.status}`);
  const policy = await deps.policies.get(loanCase.tenantId, loanCase.policy.id, loanCase.policy.version);
  if (!policy) throw new Error(`policy ${loanCase.policy.id} v${loanCase.policy.version} is missing`);
  return { loanCase, policy };
}

function nextAction(loaded: Loaded, now: Date): NextAction {
  const action = planFor(loaded.loanCase, loaded.policy, now);
  if (!action) return { phase: "done" };
  if (action.kind === "hand_off") return { phase: "legal", at: action.plannedAt, step: "hand_off" };
  if (action.kind === "hold_review") return { phase: "on_hold", at: action.plannedAt, step: "hold_review" };
  return { phase: action.step.stage, at: action.plannedAt, step: action.step.id };
}

/**
 * What a task hands back to the workflow, once the case records when the workflow next acts on it (the
 * reconciler restarts a case left long past that instant).
 */
async function output(deps: StepDeps, input: ExecutionState, next: NextAction): Promise<ExecutionState> {
  const ref = { tenantId: input.tenantId, loanId: input.loanId, generation: input.generation };
  const carried = { ...ref, ...(input.epoch ? { epoch: input.epoch } : {}), startedAt: input.startedAt };
  if (next.phase === "continue" && input.next?.phase === "continue") {
    // "Continue in a new execution": the handover instant has come. The next execution plans at once and
    // records its own wake, so this one is written first.
    await deps.wakes.setWake(ref, toInstant(deps.clock.now()));
    await deps.workflow.start({ ...ref, epoch: (input.epoch ?? 0) + 1 });
    return { ...carried, next: { phase: "continued" } };
  }
  const planned = input.startedAt ? withinExecution(next, input.startedAt) : next;
  await deps.wakes.setWake(ref, "at" in planned ? planned.at : null);
  return { ...carried, next: planned };
}

/** An action beyond what an execution started at `startedAt` may wait for becomes a hand-over to the next one. */
function withinExecution(next: NextAction, startedAt: string): NextAction {
  const limit = parseInstant(startedAt).plus({ days: MAX_EXECUTION_DAYS });
  return "at" in next && parseInstant(next.at) > limit ? { phase: "continue", at: toInstant(limit) } : next;
}

/**
 * The first action of a case just subscribed, as its execution's Plan task would find it: the caller starts
 * the workflow with it (WorkflowRef.planned) and the execution skips that task — one Lambda invocation and
 * one read fewer per loan. Re-plans and restarts still go through Plan, which also settles steps in flight.
 */
export function plannedStart(loanCase: LoanCase, policy: Policy, now: Date): PlannedStart {
  const startedAt = toInstant(now);
  return { startedAt, next: withinExecution(nextAction({ loanCase, policy }, now), startedAt) };
}

async function write(deps: StepDeps, loaded: Loaded, change: { next: LoanCase; events: AuditEvent[] }) {
  const loanCase = await deps.cases.update(loaded.loanCase, change, toInstant(deps.clock.now()));
  return { ...loaded, loanCase };
}

/**
 * Settles a step left in flight by an earlier run. Channels known not to have reached a provider are
 * reported failed; channels whose fate is unknown (the runtime stopped mid-send) are never sent again —
 * at most once beats a duplicate demand for money.
 */
async function settleInFlight(deps: StepDeps, loaded: Loaded, reason: string): Promise<Loaded> {
  const inFlight = loaded.loanCase.inFlight;
  if (!inFlight) return loaded;
  const claimant = inFlight.claimant;
  const holderGone =
    !claimant ||
    inFlight.retryable ||
    deps.runtime.realNow() > claimant.leaseUntil ||
    (deps.runtime.exclusive && claimant.owner !== deps.runtime.instanceId);
  if (!holderGone) {
    // A duplicate invocation, or a new generation started while the old one is still sending.
    throw new StepInProgressError(`step ${inFlight.step} is being sent by another run`);
  }
  const type = inFlight.retryable ? "message_failed" : "message_outcome_unknown";
  const events = inFlight.channels.map((channel) => ({
    type,
    actor: WORKFLOW_ACTOR,
    data: { step: inFlight.step, channel, reason },
  }));
  return write(deps, loaded, completeStep(loaded.loanCase, events, deps.clock.now()));
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
  return write(deps, loaded, {
    next: {
      ...loanCase,
      status: loanCase.contactEnded ? "legal" : "active",
      hold: null,
      updatedAt: toInstant(now),
    },
    events: [{ type: `${reason}_broken`, actor: WORKFLOW_ACTOR, data: { until, amount, paidSince } }],
  });
}

/** "Plan next action": the re-entry point of every execution. */
export async function planStep(deps: StepDeps, input: ExecutionState): Promise<ExecutionState> {
  let loaded = await loadCollectable(deps, input);
  if (input.next?.phase === "continue") return output(deps, input, input.next);
  const failure = input.error ? `${input.error.Error}` : "interrupted";
  loaded = await settleInFlight(deps, loaded, failure);
  const now = deps.clock.now();
  loaded = await reviewHold(deps, loaded, now);
  const next = nextAction(loaded, now);
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
      loaded = await write(deps, loaded, completeStep(skipped, events, now));
      return output(deps, input, nextAction(loaded, now));
    }
  }
  return output(deps, input, next);
}

/** "…: send": re-reads the case, applies the contact rules, claims, sends and records evidence. */
export async function sendStep(deps: StepDeps, input: ExecutionState): Promise<ExecutionState> {
  let loaded = await loadCollectable(deps, input);
  if (loaded.loanCase.inFlight?.retryable && isCollectable(loaded.loanCase)) {
    return output(deps, input, await deliver(deps, loaded));
  }
  loaded = await settleInFlight(deps, loaded, "interrupted");
  const now = deps.clock.now();
  const { loanCase } = loaded;
  const zone = loanCase.borrower.timeZone;
  // Caps per loan need only the case; per borrower they also need the borrower's record (one more read).
  const borrower =
    rulesOf(loaded.policy).capsPer === "borrower" ? await borrowerContacts(deps, loanCase) : null;
  const recent = contactsForCaps(
    loanCase.loanId,
    loanCase.recentContacts ?? [],
    borrower?.record.contacts ?? [],
    now,
  );
  const decision = decideStep(
    loanCase,
    loaded.policy,
    now,
    (at) => nextAllowedInstant(at, zone, loaded.policy.contactWindow),
    recent,
  );
  switch (decision.kind) {
    case "wait":
    case "hand_off":
      return output(deps, input, nextAction(loaded, now));
    case "skip":
      loaded = await write(deps, loaded, skipStep(loaded.loanCase, decision, now));
      return output(deps, input, nextAction(loaded, now));
    case "defer":
      await write(deps, loaded, deferStep(loaded.loanCase, decision, now));
      return output(deps, input, { phase: decision.step.stage, at: decision.until, step: decision.step.id });
    case "send":
      // Reserve on the borrower before claiming on the case: if the claim then loses a race, the borrower's
      // record over-counts (stricter) — the other order could send without the other loans ever seeing it.
      if (borrower) await reserveChannels(deps, loanCase, borrower, decision, now);
      loaded = await write(
        deps,
        loaded,
        claimStep(loaded.loanCase, decision, now, {
          owner: deps.runtime.instanceId,
          leaseUntil: deps.runtime.realNow() + CLAIM_LEASE_MS,
        }),
      );
      return output(deps, input, await deliver(deps, loaded));
  }
}

interface BorrowerView {
  ref: string;
  record: BorrowerContactRecord;
}

/** The borrower's contact record; null for a loan with neither phone nor email (nothing can be sent). */
async function borrowerContacts(deps: StepDeps, loanCase: LoanCase): Promise<BorrowerView | null> {
  const ref = borrowerRef(loanCase.tenantId, loanCase.borrower);
  if (!ref) return null;
  return { ref, record: await deps.borrowers.get(loanCase.tenantId, ref) };
}

/**
 * Records the channels about to be sent on the borrower, conditional on the version the decision read: a
 * send for another loan of the borrower that got there first makes this one re-read and decide again
 * (ConcurrentUpdateError, which the workflow retries). Channels this step already reserved are not added
 * again, so a retried send counts once.
 */
async function reserveChannels(
  deps: StepDeps,
  loanCase: LoanCase,
  borrower: BorrowerView,
  decision: Extract<StepDecision, { kind: "send" }>,
  now: Date,
): Promise<void> {
  const contacts = withReservations(
    borrower.record.contacts,
    {
      loanId: loanCase.loanId,
      step: decision.step.id,
      plannedAt: decision.plannedAt,
      channels: decision.channels,
    },
    now,
  );
  if (contacts) await deps.borrowers.put(loanCase.tenantId, borrower.ref, borrower.record.version, contacts);
}

async function deliver(deps: StepDeps, claimed: Loaded): Promise<NextAction> {
  const inFlight = claimed.loanCase.inFlight;
  const step = inFlight && findStep(claimed.policy, inFlight.step);
  if (!inFlight || !step) throw new Error("no deliverable step in flight");
  let loaded = claimed;
  if (inFlight.retryable) {
    // Take the retry: the claim is a conditional write, so a payment that landed first still wins.
    loaded = await write(deps, loaded, {
      next: { ...loaded.loanCase, inFlight: { ...inFlight, retryable: false } },
      events: [],
    });
  }
  const events: AuditEvent[] = [];
  for (const [index, channel] of inFlight.channels.entries()) {
    try {
      events.push(await sendOne(deps, loaded, step, channel));
    } catch (error) {
      if (error instanceof ProviderThrottledError) {
        const remaining = inFlight.channels.slice(index);
        await recordOutcome(deps, loaded, (c) => releaseChannels(c, remaining, events, deps.clock.now()));
        throw error;
      }
      events.push({
        type: "message_failed",
        actor: WORKFLOW_ACTOR,
        data: { step: step.id, channel, reason: error instanceof Error ? error.name : "unknown" },
      });
    }
  }
  const now = deps.clock.now();
  loaded = await recordOutcome(deps, loaded, (c) => completeStep(c, events, now));
  return nextAction(loaded, now);
}

/**
 * Records what happened to a claimed step. Messages that went out are facts: if an event (a payment, a
 * hold) committed meanwhile, the outcome is written onto the newer case rather than lost.
 */
async function recordOutcome(
  deps: StepDeps,
  claimed: Loaded,
  change: (loanCase: LoanCase) => { next: LoanCase; events: AuditEvent[] },
): Promise<Loaded> {
  const step = claimed.loanCase.inFlight?.step;
  let loaded = claimed;
  for (let attempt = 1; ; attempt++) {
    try {
      return await write(deps, loaded, change(loaded.loanCase));
    } catch (error) {
      if (!(error instanceof ConcurrentUpdateError) || attempt >= 5) throw error;
      const fresh = await deps.cases.get(loaded.loanCase.tenantId, loaded.loanCase.loanId);
      if (!fresh) throw error;
      if (fresh.inFlight?.step !== step) {
        // Settled elsewhere meanwhile: what was sent is still a fact and goes on the record.
        const { events } = change(loaded.loanCase);
        return write(
          deps,
          { ...loaded, loanCase: fresh },
          {
            next: recordContacts({ ...fresh, updatedAt: fresh.updatedAt }, events, deps.clock.now()),
            events,
          },
        );
      }
      loaded = { ...loaded, loanCase: fresh };
    }
  }
}

async function sendOne(
  deps: StepDeps,
  loaded: Loaded,
  step: PolicyStep,
  channel: Channel,
): Promise<AuditEvent> {
  const { policy } = loaded;
  const now = deps.clock.now();
  // The balance in a message is the balance at send time, fees and interest included.
  const loanCase = chargedTo(loaded.loanCase, policy.charges, now);
  const { borrower } = loanCase;
  // The texts of the case's own policy version, so the evidence's template version is the policy version.
  const content = renderMessage(templatesOf(policy), step.template, borrower.locale, channel, {
    name: borrower.name,
    amountDue: formatMoney(amountShown(loanCase), borrower.locale),
    dueDate: DateTime.fromISO(loanCase.dueDate).setLocale(borrower.locale).toLocaleString(DateTime.DATE_FULL),
    daysPastDue: daysPastDue(loanCase.dueDate, borrower.timeZone, now),
    paymentReference: loanCase.loanId,
  });
  const to = (channel === "sms" ? borrower.phone : borrower.email) as string;
  const { providerMessageId } = await deps.sender.send({
    tenantId: loanCase.tenantId,
    loanId: loanCase.loanId,
    step: step.id,
    stage: step.stage,
    channel,
    locale: borrower.locale,
    to,
    ...content,
  });
  return {
    type: "message_sent",
    actor: WORKFLOW_ACTOR,
    data: {
      step: step.id,
      stage: step.stage,
      channel,
      to: channel === "sms" ? maskPhone(to) : maskEmail(to),
      policy: { id: policy.id, version: policy.version },
      template: { id: step.template, version: policy.version, locale: borrower.locale },
      contentSha256: createHash("sha256")
        .update(`${content.subject ?? ""}\n${content.body}`)
        .digest("hex"),
      balance: loanCase.balance,
      sentAt: toInstant(now),
      sentAtLocal: localTime(now, borrower.timeZone),
      rulesPassed: [
        "contact_window",
        "case_collectable",
        "channel_not_opted_out",
        // Over this loan's contacts, or over the borrower's on all their loans: the policy's capsPer.
        `frequency_caps_per_${rulesOf(policy).capsPer}`,
        "claimed_at_version",
      ],
      // Servicing messages about the borrower's own loan, to contact data the lender supplied with it.
      consentBasis: "loan_agreement_servicing",
      providerMessageId,
    },
  };
}

/** On an installment plan a message asks for the installment being collected (plus charges), not the whole debt. */
function amountShown(loanCase: LoanCase): Money {
  const open = loanCase.installments?.find((i) => compare(i.paid, i.amount) < 0);
  if (!open) return loanCase.balance;
  return add(subtract(open.amount, open.paid), add(loanCase.fees, loanCase.interest));
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
    return output(deps, input, { phase: "done" });
  }
  const loaded = await loadCollectable(deps, input);
  const now = deps.clock.now();
  const action = planFor(loaded.loanCase, loaded.policy, now);
  if (action?.kind !== "hand_off" || Date.parse(action.plannedAt) > now.getTime())
    return output(deps, input, nextAction(loaded, now));
  if (action.withheld) {
    await write(deps, loaded, withholdHandOff(loaded.loanCase, action.plannedAt, now));
    return output(deps, input, { phase: "done" });
  }
  await write(deps, loaded, handOff(loaded.loanCase, action.plannedAt, now));
  await publishForLegal(deps, input.tenantId, input.loanId);
  return output(deps, input, { phase: "done" });
}

/** Publishing is idempotent: a failure becomes a named error the ASL retries with back-off. */
async function publishForLegal(deps: StepDeps, tenantId: string, loanId: string): Promise<void> {
  try {
    await publishHandoff(deps, tenantId, loanId);
  } catch (error) {
    if (error instanceof DomainError) throw error;
    throw new HandoffPublishError(`hand-off package for ${loanId} not published: ${(error as Error).name}`);
  }
}
