import { randomBytes } from "node:crypto";
import { ConcurrentUpdateError, DomainError, NotFoundError } from "../domain/errors.ts";
import type { EventOutcome, LoanCase } from "../domain/loan-case.ts";
import type { Policy } from "../domain/policy.ts";
import { toInstant } from "../domain/time.ts";
import { placeCase, recallCase } from "../domain/work/placements.ts";
import { newWorkItem } from "../domain/work/work-items.ts";
import type { Placement, PlacementStore, WorkItemStore } from "../ports/work.ts";
import type { Principal } from "../ports.ts";
import { actorOf, type LenderDeps, workflowRef } from "./lender.ts";
import { replannedCase, startReplanned, stopExecutionOf } from "./workflow-start.ts";

export interface PlacementDeps extends LenderDeps {
  work: WorkItemStore;
  placements: PlacementStore;
}

export interface PlacementRequest {
  agencyId: string;
  loanIds: string[];
  /** Whether the lender's own messages pause while the cases are placed (default true). */
  pauseMessages?: boolean;
}

type Refusal = { loanId: string; code: string; message: string };

/**
 * Places chosen cases with an outside agency: each case on its own (one refused never stops the others), audited
 * `case_placed`, its messages paused unless asked otherwise, and a call for the agency's agents on its work list.
 * The agency's keys then see those cases, and only while they stay placed.
 */
export async function createPlacement(deps: PlacementDeps, principal: Principal, request: PlacementRequest) {
  const now = deps.clock.now();
  const actor = actorOf(principal);
  const placement: Placement = {
    id: `pl_${randomBytes(8).toString("hex")}`,
    tenantId: principal.tenantId,
    agencyId: request.agencyId,
    loanIds: [],
    pauseMessages: request.pauseMessages ?? true,
    status: "active",
    createdAt: toInstant(now),
    createdBy: actor,
  };
  // Stored first with every loan asked for: a request that fails half-way still leaves a placement to recall (the
  // recall takes back only the cases that carry its id).
  const requested = [...new Set(request.loanIds)];
  await deps.placements.put({ ...placement, loanIds: requested });
  const refused: Refusal[] = [];
  const onCase = { id: placement.id, agencyId: placement.agencyId, since: placement.createdAt };
  const call = { id: "placement", task: "call" as const };
  for (const loanId of requested) {
    const loan = { tenantId: principal.tenantId, loanId };
    const { item, event } = newWorkItem(loan, call, placement.createdAt, placement.createdAt, actor);
    const outcome = await changeCase(deps, principal.tenantId, loanId, (loanCase, policy) => {
      const placed = placeCase(
        loanCase,
        { ...onCase, pauseMessages: placement.pauseMessages },
        policy.callRules?.rulePack ?? "cn",
        actor,
        now,
      );
      // The agency's first call is on the case's record with the placement.
      return { ...placed, events: [...placed.events, event] };
    });
    if ("refused" in outcome) {
      refused.push({ loanId, ...outcome.refused });
      continue;
    }
    placement.loanIds.push(loanId);
    await deps.work.create(item);
  }
  await deps.placements.put(placement);
  return { ...placement, refused };
}

/** Takes every case of a placement back: audited `case_recalled`, its messages resume; the agency sees none of them. */
export async function recallPlacement(deps: PlacementDeps, principal: Principal, id: string) {
  const placement = await deps.placements.get(principal.tenantId, id);
  if (!placement) throw new NotFoundError(`placement ${id} not found`);
  if (placement.status === "recalled") return placement;
  const now = deps.clock.now();
  const actor = actorOf(principal);
  for (const loanId of placement.loanIds) {
    await changeCase(deps, principal.tenantId, loanId, (loanCase) =>
      loanCase.placement?.id === id ? recallCase(loanCase, actor, now) : null,
    );
  }
  const recalled: Placement = { ...placement, status: "recalled", recalledAt: toInstant(now) };
  await deps.placements.put(recalled);
  return recalled;
}

/**
 * One case changed as `change` says, conditional on its version (re-read on a race), its workflow stopped or
 * re-planned as the change requires. A domain refusal is answered, not thrown: the other cases go on.
 */
async function changeCase(
  deps: PlacementDeps,
  tenantId: string,
  loanId: string,
  change: (loanCase: LoanCase, policy: Policy) => EventOutcome | null,
): Promise<{ stored: LoanCase | null } | { refused: { code: string; message: string } }> {
  for (let attempt = 1; ; attempt++) {
    const current = await deps.cases.get(tenantId, loanId);
    if (!current) return { refused: { code: "NOT_FOUND", message: `loan ${loanId} not found` } };
    const policy = await deps.policies.get(tenantId, current.policy.id, current.policy.version);
    if (!policy) throw new NotFoundError(`policy ${current.policy.id} not found`);
    const now = deps.clock.now();
    let outcome: EventOutcome | null;
    try {
      outcome = change(current, policy);
    } catch (error) {
      if (error instanceof DomainError) return { refused: { code: error.code, message: error.message } };
      throw error;
    }
    if (!outcome) return { stored: null };
    const written =
      outcome.workflow === "replan"
        ? replannedCase(
            { ...outcome.next, generation: current.generation + 1 },
            policy,
            "case_recalled",
            now,
            deps.horizonDays,
          )
        : { next: outcome.next, events: [] };
    try {
      const stored = await deps.cases.update(
        current,
        { next: written.next, events: [...outcome.events, ...written.events] },
        toInstant(now),
      );
      if (outcome.workflow !== "none") await stopExecutionOf(deps.workflow, current, workflowRef(current));
      if (outcome.workflow === "replan") await startReplanned(deps.workflow, stored, policy, now);
      return { stored };
    } catch (error) {
      if (!(error instanceof ConcurrentUpdateError) || attempt >= 5) throw error;
    }
  }
}
