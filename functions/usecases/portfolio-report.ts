import {
  type CaseCountsView,
  caseCountsView,
  type DayFigures,
  type ReportRange,
  reportRange,
  type TrailFigures,
  trailFigures,
} from "../domain/portfolio-report.ts";
import { toInstant } from "../domain/time.ts";
import type { PortfolioReadModel } from "../ports/reports.ts";
import type { Principal } from "../ports.ts";
import { type AgingReport, openBook, type ReportDeps } from "./reports.ts";

export interface PortfolioDeps extends ReportDeps {
  portfolio: PortfolioReadModel;
}

export interface PortfolioReport {
  /** The business clock's instant the report was made at. */
  asOf: string;
  /** The days the daily figures cover: UTC calendar days, both ends included. */
  range: ReportRange & { timeZone: "UTC" };
  cases: CaseCountsView;
  aging: AgingReport;
  daily: DayFigures[];
  totals: TrailFigures;
}

/**
 * The portfolio page in one call, scoped to the caller's tenant: cases per status and stage and how many need
 * attention (counted on the store's indexes), the aging buckets (the aging report's own pass over the open
 * cases, which also tells their stages), and per UTC day of the range what the trail recorded — messages by
 * channel, deferrals by rule, hand-offs, payments after contact — read from the daily counters the audit stream
 * keeps, never from the audit table.
 */
export async function portfolioReport(
  deps: PortfolioDeps,
  principal: Principal,
  query: { from?: string; to?: string },
): Promise<PortfolioReport> {
  const now = deps.clock.now();
  const range = reportRange(query, now);
  const [counts, book, stored] = await Promise.all([
    deps.portfolio.caseCounts(principal.tenantId),
    openBook({ ...deps, clock: { now: () => now } }, principal),
    deps.portfolio.dailyCounters(principal.tenantId, range.from, range.to),
  ]);
  return {
    asOf: toInstant(now),
    range: { ...range, timeZone: "UTC" },
    cases: caseCountsView(counts.byStatus, book.stages, counts.attention),
    aging: book.aging,
    ...trailFigures(range, stored),
  };
}
