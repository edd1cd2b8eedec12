import { parsePhoneNumberFromString } from "libphonenumber-js/min";
import type { AuditEvent } from "../domain/audit-chain.ts";
import type { CaseChange, EventOutcome, LoanCase, SubscriptionRequest } from "../domain/loan-case.ts";
import type { Policy } from "../domain/policy.ts";
import { caseTerms } from "../domain/schedule.ts";
import { sameAssignment, segmentFacts } from "../domain/strategies/case-segment.ts";
import { type Assignment, assign, type Strategy } from "../domain/strategies/strategy.ts";
import { toInstant } from "../domain/time.ts";
import type { StrategyStore } from "../ports/strategies.ts";
import type { CaseRepository, PolicyRepository, WorkflowControl } from "../ports.ts";
import { replannedCase, startReplanned } from "./workflow-start.ts";

/** The policy a subscription runs when it names none and the tenant has no strategy (or it matches no segment). */
export const FALLBACK_POLICY = "default";
const STRATEGY_ACTOR = "system:strategy";

/** The borrower's country, from their phone number (absent without one). */
function countryOf(phone: string | undefined): string | undefined {
  return phone ? parsePhoneNumberFromString(phone)?.country : undefined;
}

/** The tenant's active strategy, newest version; null when none is active (or the store is not wired). */
export async function activeStrategy(strategies: StrategyStore | undefined, tenantId: string) {
  const active = strategies ? await strategies.active(tenantId) : null;
  return active && strategies ? strategies.get(tenantId, active.id) : null;
}

/**
 * The policy a new loan runs: the one the lender named; else the one the tenant's active strategy gives the
 * loan's segment (and arm, for a split), with the assignment the case keeps; else the default policy.
 */
export function chooseForSubscription(
  strategy: Strategy | null,
  tenantId: string,
  request: SubscriptionRequest & { policyId?: string },
  now: Date,
): { policyId: string; assignment?: Assignment } {
  if (request.policyId !== undefined) return { policyId: request.policyId };
  if (!strategy) return { policyId: FALLBACK_POLICY };
  const { amountDue, dueDate } = caseTerms(request, request.borrower.timeZone, now);
  const facts = segmentFacts({ ...request, amountDue, dueDate }, now, countryOf(request.borrower.phone));
  const assignment = assign(strategy, tenantId, request.loanId, facts);
  return assignment ? { policyId: assignment.policyId, assignment } : { policyId: FALLBACK_POLICY };
}

/** A new case with the assignment the strategy made: kept on the case, said in the trail after the subscription. */
export function withAssignment(change: CaseChange, assignment: Assignment | undefined): CaseChange {
  if (!assignment) return change;
  const [subscribed, ...rest] = change.events;
  const entry: AuditEvent = { type: "strategy_assigned", actor: STRATEGY_ACTOR, data: { ...assignment } };
  return {
    ...change,
    next: { ...change.next, strategy: { ...assignment, assignedAt: change.next.createdAt } },
    events: subscribed ? [subscribed, entry, ...rest] : [entry],
  };
}

export interface ReassessDeps {
  strategies?: StrategyStore;
  policies: PolicyRepository;
}

/**
 * After an event, asks the strategy that placed the case (the version that did) where the case belongs now. A new
 * segment with another policy moves the case onto that policy's newest version as a new generation, to be
 * re-planned from what was already sent (nothing is sent twice, steps the new timing passes over are on the record); a new
 * segment on the same policy only records the new assignment. Answers the outcome to write and the policy the
 * workflow then runs on.
 */
export async function reassessed(
  deps: ReassessDeps,
  applied: EventOutcome,
  policy: Policy,
  cause: string,
  now: Date,
): Promise<{ applied: EventOutcome; policy: Policy }> {
  const loanCase = applied.next;
  const previous = loanCase.strategy;
  const collecting = loanCase.status === "active" || loanCase.status === "on_hold";
  if (!previous || !deps.strategies || !collecting || applied.workflow === "stop") return { applied, policy };
  const strategy = await deps.strategies.get(
    loanCase.tenantId,
    previous.strategy.id,
    previous.strategy.version,
  );
  const facts = segmentFacts(loanCase, now, countryOf(loanCase.borrower.phone));
  const next = strategy && assign(strategy, loanCase.tenantId, loanCase.loanId, facts, previous);
  if (!next || sameAssignment(next, previous)) return { applied, policy };
  const target =
    next.policyId === policy.id ? policy : await deps.policies.get(loanCase.tenantId, next.policyId);
  if (!target) return { applied, policy };
  const entry: AuditEvent = {
    type: "strategy_reassigned",
    actor: STRATEGY_ACTOR,
    data: {
      cause,
      from: { segment: previous.segment, arm: previous.arm, policy: loanCase.policy },
      to: { segment: next.segment, arm: next.arm, policy: { id: target.id, version: target.version } },
      reason: next.reason,
    },
  };
  const assigned: LoanCase = { ...loanCase, strategy: { ...next, assignedAt: loanCase.updatedAt } };
  if (target.id === policy.id)
    return { applied: { ...applied, next: assigned, events: [...applied.events, entry] }, policy };
  return { applied: movedTo(applied, assigned, target, entry), policy: target };
}

/**
 * The case on `target`, to be re-planned as a new generation (the caller re-plans it from what was sent): the
 * event's entries, then the move's. An event that re-plans anyway has already started the new generation.
 */
function movedTo(applied: EventOutcome, assigned: LoanCase, target: Policy, entry: AuditEvent): EventOutcome {
  const generation = applied.workflow === "replan" ? assigned.generation : assigned.generation + 1;
  const moved: LoanCase = { ...assigned, policy: { id: target.id, version: target.version }, generation };
  return { next: moved, events: [...applied.events, entry], workflow: "replan" };
}

export interface ResegmentDeps extends ReassessDeps {
  cases: CaseRepository;
  workflow: WorkflowControl;
  horizonDays: number;
}

/**
 * At the workflow's planning, the case may have crossed into another segment by time alone (days past due, a
 * promise let pass): the strategy that placed it looks again. On another policy the case moves to it as a new
 * generation, re-planned and started here, and `moved` tells the running execution to end; on the same policy the
 * new assignment is written and planning goes on with the case as stored.
 */
export async function resegmented(
  deps: ResegmentDeps,
  loaded: { loanCase: LoanCase; policy: Policy },
  now: Date,
): Promise<{ moved: true } | { moved: false; loanCase: LoanCase }> {
  const { loanCase, policy } = loaded;
  const unchanged = { moved: false as const, loanCase };
  if (!loanCase.strategy || !deps.strategies) return unchanged;
  const asIs: EventOutcome = { next: loanCase, events: [], workflow: "none" };
  const placed = await reassessed(deps, asIs, policy, "segment_changed", now);
  if (placed.applied === asIs) return unchanged;
  const at = toInstant(now);
  if (placed.policy === policy) {
    const stored = await deps.cases.update(loanCase, placed.applied, at);
    return { moved: false, loanCase: stored };
  }
  const change = replannedCase(
    placed.applied.next,
    placed.policy,
    "strategy_reassigned",
    now,
    deps.horizonDays,
  );
  const stored = await deps.cases.update(
    loanCase,
    { next: change.next, events: [...placed.applied.events, ...change.events] },
    at,
  );
  await startReplanned(deps.workflow, stored, placed.policy, now);
  return { moved: true };
}
