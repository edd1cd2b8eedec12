import { createHash } from "node:crypto";
import { conflictBackoff } from "../concurrency.ts";
import { canonicalJson } from "../domain/audit-chain.ts";
import {
  AlreadyRecordedError,
  BusinessRuleError,
  CaseStateConflictError,
  ConcurrentUpdateError,
  LoanAlreadyExistsError,
  NotFoundError,
} from "../domain/errors.ts";
import { applyEvent, type LoanEvent } from "../domain/events.ts";
import {
  type CaseStatus,
  type EventOutcome,
  isCollectable,
  type LoanCase,
  type SubscriptionRequest,
  subscribe,
} from "../domain/loan-case.ts";
import type { Policy } from "../domain/policy.ts";
import { toInstant } from "../domain/time.ts";
import type { Handoffs } from "../ports/handoff.ts";
import type { StrategyStore } from "../ports/strategies.ts";
import type { CaseRepository, Clock, PolicyRepository, Principal, WorkflowControl } from "../ports.ts";
import { logger } from "../powertools.ts";
import { withStoredVerifier } from "./borrower-verification.ts";
import { publishHandoff } from "./handoffs.ts";
import { type LoanView, loanView } from "./loan-view.ts";
import {
  activeStrategy,
  chooseForSubscription,
  FALLBACK_POLICY,
  reassessed,
  withAssignment,
} from "./strategy-assignment.ts";
import { parkedIfBeyondHorizon, replannedCase, startReplanned, stopExecutionOf } from "./workflow-start.ts";
import { plannedStart } from "./workflow-steps.ts";

export interface LenderDeps {
  cases: CaseRepository;
  policies: PolicyRepository;
  workflow: WorkflowControl;
  clock: Clock;
  /** Where an event that sends a case to legal (bankruptcy, cease_contact) publishes the hand-off package. */
  handoffs: Handoffs;
  /** Days an execution may wait for a case's next action; beyond them the case parks (0: never). */
  horizonDays: number;
  /** The tenant's strategies: which policy a new loan runs, and where a case belongs after an event (unset: none). */
  strategies?: StrategyStore;
}

export const actorOf = (principal: Principal) => `${principal.role}:${principal.keyId}`;

/** What makes an event the same event: its whole body, keys in a canonical order. */
function eventFingerprint(event: LoanEvent): string {
  return createHash("sha256").update(canonicalJson(event)).digest("hex");
}

/** Tries of an event against concurrent writers (the workflow's steps) before answering 409 CONCURRENT_UPDATE. */
const MAX_EVENT_ATTEMPTS = 8;

/**
 * What makes two subscriptions of one loan "the same body": single and batch subscriptions agree on it. The whole
 * request counts, a schedule included: another schedule for the same loan is a conflict, not a repeat.
 */
export function subscriptionHash(request: SubscriptionRequest & { policyId: string }): string {
  return createHash("sha256").update(canonicalJson(request)).digest("hex");
}

async function policyFor(
  deps: LenderDeps,
  tenantId: string,
  policyId: string,
  version?: number,
): Promise<Policy> {
  const policy = await deps.policies.get(tenantId, policyId, version);
  if (!policy) {
    throw new BusinessRuleError("UNKNOWN_POLICY", `policy ${policyId} does not exist`, [
      { path: "policyId", message: "no such policy for this tenant" },
    ]);
  }
  return policy;
}

async function view(deps: LenderDeps, loanCase: LoanCase): Promise<LoanView> {
  const policy = await policyFor(deps, loanCase.tenantId, loanCase.policy.id, loanCase.policy.version);
  return loanView(loanCase, policy, deps.clock.now());
}

export function workflowRef(loanCase: LoanCase) {
  return { tenantId: loanCase.tenantId, loanId: loanCase.loanId, generation: loanCase.generation };
}

export async function subscribeLoan(
  deps: LenderDeps,
  principal: Principal,
  request: SubscriptionRequest & { policyId?: string },
): Promise<{ created: boolean; loan: LoanView }> {
  const now = deps.clock.now();
  // A loan that names its policy runs it: the strategy is read only for those that do not.
  const strategy =
    request.policyId === undefined ? await activeStrategy(deps.strategies, principal.tenantId) : null;
  const choice = chooseForSubscription(strategy, principal.tenantId, request, now);
  const policy = await policyFor(deps, principal.tenantId, choice.policyId);
  // A request without a policy is the same body whatever the strategy gives it.
  const hash = subscriptionHash({ ...request, policyId: request.policyId ?? FALLBACK_POLICY });
  const stored = withStoredVerifier(request);
  const subscribed = withAssignment(
    subscribe(principal.tenantId, stored, policy, hash, actorOf(principal), now),
    choice.assignment,
  );
  const change = { ...subscribed, next: parkedIfBeyondHorizon(subscribed.next, now, deps.horizonDays) };
  const result = await deps.cases.create(change, toInstant(now));
  const loanCase = result.created ? result.case : await deps.cases.get(principal.tenantId, request.loanId);
  if (!loanCase) throw new ConcurrentUpdateError("the loan changed while it was being subscribed; retry");
  if (!result.created && loanCase.subscriptionHash !== hash) {
    throw new LoanAlreadyExistsError(`loan ${request.loanId} is already subscribed with different details`);
  }
  // Also on a repeat: if the first attempt stored the case but failed to start its workflow, this heals it
  // (then through the Plan task, which reads the case as it is now).
  // A parked case has no execution until its first action comes within the horizon: the waker starts it.
  if (isCollectable(loanCase) && !loanCase.parked) {
    const planned = result.created ? { planned: plannedStart(loanCase, policy, now) } : {};
    await deps.workflow.start({ ...workflowRef(loanCase), ...planned });
  }
  return { created: result.created, loan: await view(deps, loanCase) };
}

export async function getLoan(deps: LenderDeps, principal: Principal, loanId: string): Promise<LoanView> {
  return view(deps, await existingCase(deps, principal, loanId));
}

async function existingCase(
  deps: LenderDeps,
  principal: Pick<Principal, "tenantId">,
  loanId: string,
): Promise<LoanCase> {
  const loanCase = await deps.cases.get(principal.tenantId, loanId);
  if (!loanCase) throw new NotFoundError(`loan ${loanId} not found`);
  return loanCase;
}

export async function listLoans(
  deps: LenderDeps,
  principal: Principal,
  query: { status?: CaseStatus; stage?: string; attention?: boolean; limit: number; cursor?: string },
): Promise<{ items: LoanView[]; nextCursor: string | null }> {
  const page = await deps.cases.list(principal.tenantId, query);
  const items = await Promise.all(page.items.map((loanCase) => view(deps, loanCase)));
  // Stage depends on the clock, so it is filtered here rather than indexed.
  return {
    items: query.stage ? items.filter((i) => i.stage === query.stage) : items,
    nextCursor: page.nextCursor,
  };
}

export async function auditTrail(deps: LenderDeps, principal: Principal, loanId: string) {
  await existingCase(deps, principal, loanId);
  return deps.cases.auditTrail(principal.tenantId, loanId);
}

/**
 * Applies a lender event. Writes are conditional on the case version, so an event and a workflow step
 * never interleave: whichever commits first wins and the other re-reads. A change that ends collection
 * stops the execution; a re-plan stops it and starts the next generation.
 */
export function recordEvent(
  deps: LenderDeps,
  principal: Principal,
  loanId: string,
  event: LoanEvent,
): Promise<LoanView> {
  return recordEventBy(deps, { tenantId: principal.tenantId, actor: actorOf(principal) }, loanId, event);
}

/**
 * An event told by whoever `actor` names (a lender's key, or a borrower through their link): the same use case,
 * validation and state machine for every source.
 */
export async function recordEventBy(
  deps: LenderDeps,
  by: { tenantId: string; actor: string },
  loanId: string,
  event: LoanEvent,
): Promise<LoanView> {
  const once = event.eventId
    ? { key: `event:${event.eventId}`, fingerprint: eventFingerprint(event) }
    : undefined;
  for (let attempt = 1; ; attempt++) {
    const current = await existingCase(deps, by, loanId);
    const policy = await policyFor(deps, current.tenantId, current.policy.id, current.policy.version);
    const now = deps.clock.now();
    const seen = once ? await deps.cases.onceRecord(current.tenantId, current.loanId, once.key) : null;
    if (seen && seen.fingerprint !== undefined && seen.fingerprint !== once?.fingerprint) {
      throw new CaseStateConflictError(
        `event id ${event.eventId} was already used for another event on this loan`,
        [
          {
            path: "eventId",
            message: "already used with a different body; each event needs an id of its own",
          },
        ],
        "EVENT_ID_REUSED",
      );
    }
    const outcome = seen
      ? ({ duplicate: true } as const)
      : applyEvent(current, event, by.actor, now, policy.charges);
    // The case's strategy may place it in another segment now, and so on another policy.
    const placed =
      "duplicate" in outcome
        ? { applied: outcome, policy }
        : await reassessed(deps, outcome, policy, event.type, now);
    const applied = placed.applied;
    const runsOn = placed.policy;
    // A re-plan's new execution acts next at its planned action, or at once when its Plan task must settle a step.
    const result =
      "duplicate" in applied ? applied : replanned(applied, event.type, runsOn, now, deps.horizonDays);
    if ("duplicate" in result) {
      // A repeat heals a hand-off whose publishing failed the first time (a no-op once it is stored).
      if (current.status === "legal") await handOffQuietly(deps, current);
      return loanView(current, policy, now);
    }
    try {
      const stored = await deps.cases.update(current, result, toInstant(now), once);
      if (result.workflow !== "none") await stopExecutionOf(deps.workflow, current, workflowRef(current));
      if (result.workflow === "replan") await startReplanned(deps.workflow, stored, runsOn, now);
      // Into legal (bankruptcy, cease_contact): publish; any later event on a legal case checks it is there.
      if (stored.status === "legal") await handOffQuietly(deps, stored);
      return loanView(stored, runsOn, now);
    } catch (error) {
      // A workflow step may have written between our read and write, or the same event id went in first:
      // re-read and apply again (a repeat then answers the case as it is, another body is refused).
      const raced = error instanceof ConcurrentUpdateError || error instanceof AlreadyRecordedError;
      if (!raced || attempt >= MAX_EVENT_ATTEMPTS) throw error;
      await conflictBackoff(attempt);
    }
  }
}

/** An event that re-plans the case: the case as its new generation starts (see replannedCase). */
function replanned(
  applied: EventOutcome,
  cause: string,
  policy: Policy,
  now: Date,
  horizonDays: number,
): EventOutcome {
  if (applied.workflow !== "replan") return applied;
  const change = replannedCase(applied.next, policy, cause, now, horizonDays);
  return { ...applied, next: change.next, events: [...applied.events, ...change.events] };
}

/**
 * Publishes the hand-off package of a case an event sent to legal. The event is committed whatever happens
 * here, so a failure is logged rather than answered as a failed event; repeating the event (same eventId) or
 * any later event on the case publishes it then (publishing is idempotent: a stored hand-off is left alone).
 */
async function handOffQuietly(deps: LenderDeps, loanCase: LoanCase): Promise<void> {
  try {
    await publishHandoff(deps, loanCase.tenantId, loanCase.loanId);
  } catch (error) {
    logger.error("hand-off package not published", { loanId: loanCase.loanId, error: error as Error });
  }
}
