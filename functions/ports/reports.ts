import type { CaseStatus } from "../domain/loan-case.ts";
import type { Counters, LoanContribution } from "../domain/trail-projection.ts";

/** Ports of the portfolio report: counts kept by the store's indexes, and the trail's daily counters. */

export interface CaseCounts {
  byStatus: Record<CaseStatus, number>;
  /** Cases carrying the attention flag (the ones `GET /v1/loans?attention=true` lists), whatever their status. */
  attention: number;
}

/** One tenant's counters of one UTC day, as the trail projection left them. */
export interface DailyCounters {
  day: string;
  counters: Counters;
}

export interface PortfolioReadModel {
  /** How many cases the tenant has per status, and how many need attention: counted, never read whole. */
  caseCounts(tenantId: string): Promise<CaseCounts>;
  /** The tenant's daily counters from `from` to `to` (UTC days, both included); a day with none is absent. */
  dailyCounters(tenantId: string, from: string, to: string): Promise<DailyCounters[]>;
}

/** The write side: the stream consumer adds what new audit entries stand for to the daily counters. */
export interface TrailProjectionStore {
  /**
   * Adds each contribution whose loan's mark is still below its `firstSeq`, and moves the mark to its `lastSeq`,
   * atomically with the counters. Returns the loans (loanKey) whose mark was already at or past `firstSeq`: their
   * entries were (at least partly) counted before, and nothing of theirs was added.
   */
  add(contributions: readonly LoanContribution[]): Promise<{ stale: string[] }>;
  /** The marks (highest seq counted) of the given loans; a loan never counted is absent. */
  marks(loans: readonly { tenantId: string; loanId: string }[]): Promise<Map<string, number>>;
}
