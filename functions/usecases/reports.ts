import { type CaseStage, stageFor } from "../domain/loan-case.ts";
import { add, ceilingOf, compare, type Money, money } from "../domain/money.ts";
import { daysPastDue, toInstant } from "../domain/time.ts";
import type { CaseRepository, Clock, Principal } from "../ports.ts";

export interface ReportDeps {
  cases: CaseRepository;
  clock: Clock;
}

export const AGING_BUCKETS = ["current", "1-30", "31-60", "61-90", "90+"] as const;
export type AgingBucket = (typeof AGING_BUCKETS)[number];

export interface AgingReport {
  /** The instant days past due were counted at. */
  asOf: string;
  /** Always all five buckets, in AGING_BUCKETS order; balances summed per currency, sorted by currency. */
  buckets: {
    bucket: AgingBucket;
    count: number;
    balances: Money[];
    /** Currencies whose total is larger than Money can carry: shown as the ceiling; absent when none. */
    capped?: string[];
  }[];
}

/** The bucket of a number of days past due (0 = on or before the due date). */
export function agingBucket(dpd: number): AgingBucket {
  if (dpd <= 0) return "current";
  if (dpd <= 30) return "1-30";
  if (dpd <= 60) return "31-60";
  if (dpd <= 90) return "61-90";
  return "90+";
}

/**
 * Counts and balances of the tenant's open cases (active, on hold, with legal) per aging bucket. Days past due
 * are calendar days in each borrower's own time zone; balances add up exactly, one total per currency. A balance is
 * the one stored on the case (what its last event left): fees and interest accrued since are not in it.
 *
 * A total stays exact while it fits the Money schema (below 10^15): amounts are at most MAX_AMOUNT and a balance at
 * most twice that, so a bucket of up to 499,999 cases of the largest size adds up exactly. A larger total is never
 * cut silently: it is shown as the largest amount Money can carry and its currency is listed in `capped`.
 */
export async function agingReport(deps: ReportDeps, principal: Principal): Promise<AgingReport> {
  return (await openBook(deps, principal)).aging;
}

/** The open cases per stage: pre-due and soft collection by days past due, and those with legal. */
export type OpenStages = Record<Exclude<CaseStage, "done">, number>;

/**
 * The tenant's open book in one read of the open-cases index: the aging report, and how many open cases are in
 * each stage (the same days past due decide both).
 */
export async function openBook(
  deps: ReportDeps,
  principal: Principal,
): Promise<{ aging: AgingReport; stages: OpenStages }> {
  const now = deps.clock.now();
  const totals = Object.fromEntries(
    AGING_BUCKETS.map((bucket) => [bucket, { count: 0, balances: new Map<string, Money>() }]),
  ) as Record<AgingBucket, { count: number; balances: Map<string, Money> }>;
  const stages: OpenStages = { pre_due: 0, soft_collection: 0, legal: 0 };
  for await (const open of deps.cases.openCases(principal.tenantId)) {
    const dpd = daysPastDue(open.dueDate, open.timeZone, now);
    const total = totals[agingBucket(dpd)];
    const { currency } = open.balance;
    total.count++;
    total.balances.set(currency, add(total.balances.get(currency) ?? money(0, currency), open.balance));
    const stage = stageFor(open.status, dpd);
    if (stage !== "done") stages[stage]++;
  }
  return {
    aging: {
      asOf: toInstant(now),
      buckets: AGING_BUCKETS.map((bucket) => bucketOf(bucket, totals[bucket])),
    },
    stages,
  };
}

/** One bucket as reported: totals sorted by currency, a total Money cannot carry shown as the ceiling. */
function bucketOf(
  bucket: AgingBucket,
  total: { count: number; balances: Map<string, Money> },
): AgingReport["buckets"][number] {
  const sums = [...total.balances.values()].sort((a, b) => a.currency.localeCompare(b.currency));
  const capped = sums.filter((sum) => compare(sum, ceilingOf(sum.currency)) > 0).map((sum) => sum.currency);
  return {
    bucket,
    count: total.count,
    balances: sums.map((sum) => (capped.includes(sum.currency) ? ceilingOf(sum.currency) : sum)),
    ...(capped.length > 0 ? { capped } : {}),
  };
}
