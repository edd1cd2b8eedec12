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
  const now = deps.clock.now();
  const totals = Object.fromEntries(
    AGING_BUCKETS.map((bucket) => [bucket, { count: 0, balances: new Map<string, Money>() }]),
  ) as Record<AgingBucket, { count: number; balances: Map<string, Money> }>;
  for await (const open of deps.cases.openCases(principal.tenantId)) {
    const total = totals[agingBucket(daysPastDue(open.dueDate, open.timeZone, now))];
    const { currency } = open.balance;
    total.count++;
    total.balances.set(currency, add(total.balances.get(currency) ?? money(0, currency), open.balance));
  }
  return {
    asOf: toInstant(now),
    buckets: AGING_BUCKETS.map((bucket) => {
      const sums = [...totals[bucket].balances.values()].sort((a, b) => a.currency.localeCompare(b.currency));
      const capped = sums
        .filter((sum) => compare(sum, ceilingOf(sum.currency)) > 0)
        .map((sum) => sum.currency);
      return {
        bucket,
        count: totals[bucket].count,
        balances: sums.map((sum) => (capped.includes(sum.currency) ? ceilingOf(sum.currency) : sum)),
        ...(capped.length > 0 ? { capped } : {}),
      };
    }),
  };
}
