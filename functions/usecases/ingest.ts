import { forEachLimited } from "../concurrency.ts";
import { DomainError } from "../domain/errors.ts";
import {
  type CaseChange,
  isCollectable,
  type LoanCase,
  type SubscriptionRequest,
  subscribe,
} from "../domain/loan-case.ts";
import type { Policy } from "../domain/policy.ts";
import type { Strategy } from "../domain/strategies/strategy.ts";
import { toInstant } from "../domain/time.ts";
import type { CreateOutcome, Principal } from "../ports.ts";
import { logger } from "../powertools.ts";
import { withStoredVerifier } from "./borrower-verification.ts";
import { actorOf, type LenderDeps, subscriptionHash, workflowRef } from "./lender.ts";
import {
  activeStrategy,
  chooseForSubscription,
  FALLBACK_POLICY,
  withAssignment,
} from "./strategy-assignment.ts";
import { parkedIfBeyondHorizon } from "./workflow-start.ts";
import { plannedStart } from "./workflow-steps.ts";

/** Loans one bulk subscription takes (the HTTP batch route, one import message). */
export const MAX_BATCH_LOANS = 500;
/** Workflow starts in flight at once per batch: enough to hide latency, few enough not to trip StartExecution limits. */
const START_CONCURRENCY = 16;

/**
 * What happened to one loan of a batch. `created`: new case, workflow started. `exists`: already subscribed with
 * this very body (no second workflow). `rejected`: invalid, a duplicate within the batch, or refused by a business
 * rule. `conflict`: the loan id is subscribed with different details. `failed`: stored or not, something on our
 * side did not finish (e.g. the workflow did not start); sending the loan again completes it.
 */
export type BatchItemStatus = "created" | "exists" | "rejected" | "conflict" | "failed";

export interface BatchItemError {
  code: string;
  message: string;
  details?: { path: string; message: string }[];
}

export interface BatchItemResult {
  /** null when the submitted item has no string loanId. */
  loanId: string | null;
  status: BatchItemStatus;
  error?: BatchItemError;
}

/** One submitted loan, as the edge validated it: a subscription, or the reason it is not one. */
export type BatchEntry =
  | { loanId: string; request: SubscriptionRequest & { policyId?: string } }
  | { loanId: string | null; invalid: BatchItemError };

/**
 * Subscribes many loans as subscribeLoan would one by one, with the same outcomes per loan, but writes them several
 * per DynamoDB transaction and starts their workflows with bounded concurrency. One loan's problem never fails
 * another; the results are in the order of `entries`.
 */
export async function subscribeBatch(
  deps: LenderDeps,
  principal: Principal,
  entries: BatchEntry[],
): Promise<BatchItemResult[]> {
  const results: BatchItemResult[] = entries.map((entry) => ({ loanId: entry.loanId, status: "failed" }));
  const now = deps.clock.now();
  const policies = new Map<string, Promise<Policy | null>>();
  const policyOf = (policyId: string) => {
    if (!policies.has(policyId)) policies.set(policyId, deps.policies.get(principal.tenantId, policyId));
    return policies.get(policyId) as Promise<Policy | null>;
  };
  const accepted = await prepare(entries, results, {
    principal,
    now,
    horizonDays: deps.horizonDays,
    policyOf,
    // One read of the tenant's strategy for the whole batch, and none when every loan names its policy.
    strategy: entries.some((entry) => "request" in entry && entry.request.policyId === undefined)
      ? await activeStrategy(deps.strategies, principal.tenantId)
      : null,
  });
  const outcomes = await createAll(
    deps,
    accepted.map((a) => a.change),
    toInstant(now),
  );
  const toStart = classify(accepted, outcomes, results);
  await forEachLimited(toStart, START_CONCURRENCY, async ({ index, loanCase, created }) => {
    try {
      // A new case starts at its first wait; a repeat goes through the Plan task, which reads the case.
      const policy = created ? await policyOf(loanCase.policy.id) : null;
      // A parked case waits for the waker, which starts its execution as its first action comes near.
      if (!loanCase.parked) {
        await deps.workflow.start({
          ...workflowRef(loanCase),
          ...(policy ? { planned: plannedStart(loanCase, policy, now) } : {}),
        });
      }
      results[index] = { loanId: loanCase.loanId, status: created ? "created" : "exists" };
    } catch (error) {
      logger.error("workflow not started", { loanId: loanCase.loanId, error: error as Error });
      results[index] = failed(
        loanCase.loanId,
        "WORKFLOW_NOT_STARTED",
        "the case is stored but its workflow did not start; send the loan again to start it",
      );
    }
  });
  return results;
}

interface Accepted {
  index: number;
  change: CaseChange;
  hash: string;
}

/**
 * The subscriptions to store, in batch order; every other entry gets its result here. A loan id twice in one batch:
 * the first occurrence counts, later ones are refused (they could disagree). A subscription the domain refuses
 * (a due date out of range, say) is rejected alone, its paths under `loans.<index>`.
 */
async function prepare(
  entries: BatchEntry[],
  results: BatchItemResult[],
  ctx: {
    principal: Principal;
    now: Date;
    horizonDays: number;
    policyOf: (policyId: string) => Promise<Policy | null>;
    strategy: Strategy | null;
  },
): Promise<Accepted[]> {
  const firstAt = new Map<string, number>();
  const accepted: Accepted[] = [];
  for (const [index, entry] of entries.entries()) {
    if (entry.loanId !== null) {
      const first = firstAt.get(entry.loanId);
      if (first !== undefined) {
        results[index] = rejected(
          entry.loanId,
          "DUPLICATE_LOAN_ID",
          "the loan id occurs earlier in this batch",
          [{ path: `loans.${index}.loanId`, message: `same loanId as loans.${first}` }],
        );
        continue;
      }
      firstAt.set(entry.loanId, index);
    }
    if ("invalid" in entry) {
      results[index] = { loanId: entry.loanId, status: "rejected", error: entry.invalid };
      continue;
    }
    const choice = chooseForSubscription(ctx.strategy, ctx.principal.tenantId, entry.request, ctx.now);
    const { policyId } = choice;
    const policy = await ctx.policyOf(policyId);
    if (!policy) {
      results[index] = rejected(entry.loanId, "UNKNOWN_POLICY", `policy ${policyId} does not exist`, [
        { path: `loans.${index}.policyId`, message: "no such policy for this tenant" },
      ]);
      continue;
    }
    const hash = subscriptionHash({ ...entry.request, policyId: entry.request.policyId ?? FALLBACK_POLICY });
    try {
      const actor = actorOf(ctx.principal);
      const request = withStoredVerifier(entry.request);
      const subscribed = withAssignment(
        subscribe(ctx.principal.tenantId, request, policy, hash, actor, ctx.now),
        choice.assignment,
      );
      const next = parkedIfBeyondHorizon(subscribed.next, ctx.now, ctx.horizonDays);
      accepted.push({ index, change: { ...subscribed, next }, hash });
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      const details = error.details.map((d) => ({ ...d, path: `loans.${index}.${d.path}` }));
      results[index] = rejected(entry.loanId, error.code, error.message, details);
    }
  }
  return accepted;
}

/** Each stored (or already stored) subscription's result; the cases whose workflow is to start. */
function classify(accepted: Accepted[], outcomes: CreateOutcome[], results: BatchItemResult[]) {
  const toStart: { index: number; loanCase: LoanCase; created: boolean }[] = [];
  for (const [position, { index, change, hash }] of accepted.entries()) {
    const outcome = outcomes[position];
    const loanId = change.next.loanId;
    if (!outcome || "failed" in outcome) {
      logger.error("loan not subscribed", { loanId, error: outcome?.failed as Error });
      results[index] = failed(loanId, "SUBSCRIBE_FAILED", "the loan was not stored; send it again");
    } else if (outcome.created) {
      toStart.push({ index, loanCase: outcome.case, created: true });
    } else if (!outcome.existing) {
      results[index] = failed(
        loanId,
        "SUBSCRIBE_FAILED",
        "the loan exists but could not be read; send it again",
      );
    } else if (outcome.existing.subscriptionHash !== hash) {
      results[index] = {
        loanId,
        status: "conflict",
        error: {
          code: "LOAN_EXISTS",
          message: `loan ${loanId} is already subscribed with different details`,
        },
      };
    } else if (isCollectable(outcome.existing)) {
      // As with a single subscription: a repeat heals a case whose workflow failed to start the first time.
      toStart.push({ index, loanCase: outcome.existing, created: false });
    } else {
      results[index] = { loanId, status: "exists" };
    }
  }
  return toStart;
}

/** The repository's bulk create where it has one; otherwise create() per loan, with the stored case read back. */
async function createAll(deps: LenderDeps, changes: CaseChange[], at: string): Promise<CreateOutcome[]> {
  if (changes.length === 0) return [];
  if (deps.cases.createMany) return deps.cases.createMany(changes, at);
  const outcomes: CreateOutcome[] = [];
  for (const change of changes) {
    try {
      const result = await deps.cases.create(change, at);
      outcomes.push(
        result.created
          ? result
          : { created: false, existing: await deps.cases.get(change.next.tenantId, change.next.loanId) },
      );
    } catch (error) {
      outcomes.push({ failed: error });
    }
  }
  return outcomes;
}

function rejected(
  loanId: string | null,
  code: string,
  message: string,
  details: { path: string; message: string }[],
): BatchItemResult {
  return { loanId, status: "rejected", error: { code, message, details } };
}

function failed(loanId: string, code: string, message: string): BatchItemResult {
  return { loanId, status: "failed", error: { code, message } };
}
