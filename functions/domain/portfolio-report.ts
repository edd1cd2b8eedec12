import { InputOutOfRangeError } from "./errors.ts";
import type { CaseStage, CaseStatus } from "./loan-case.ts";
import { type Counters, parseCounterName } from "./trail-projection.ts";

/** The days a portfolio report covers when the request names none: the last 30, today included. */
export const DEFAULT_REPORT_DAYS = 30;
/** The most days one portfolio report may cover. */
export const MAX_REPORT_DAYS = 366;

const DAY_MS = 24 * 60 * 60 * 1000;
const CALENDAR_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A range of UTC calendar days, both ends included. */
export interface ReportRange {
  from: string;
  to: string;
  days: number;
}

/** What one day (or a whole range) of the trail adds up to. */
export interface TrailFigures {
  /** Messages sent, by channel; a channel with none is left out. */
  messagesSent: Record<string, number>;
  /** Steps the rules of contact deferred, by the rule that deferred them; a rule with none is left out. */
  stepsDeferred: Record<string, number>;
  handOffs: number;
  /** Payments received after at least one reminder had gone out. */
  paymentsAfterContact: number;
}

export interface DayFigures extends TrailFigures {
  date: string;
}

/** How many cases there are in each status and each stage, and how many carry the attention flag. */
export interface CaseCountsView {
  total: number;
  byStatus: Record<CaseStatus, number>;
  byStage: Record<CaseStage, number>;
  needingAttention: number;
}

const dayMs = (date: string) => Date.parse(`${date}T00:00:00Z`);
const dateOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** A real calendar date as YYYY-MM-DD (2026-02-30 is not one). */
function isCalendarDate(value: string): boolean {
  return CALENDAR_DATE.test(value) && !Number.isNaN(dayMs(value)) && dateOf(dayMs(value)) === value;
}

/**
 * The range a report request asks for, in UTC days. Without `to`, it ends today (the business clock's UTC date);
 * without `from`, it starts DEFAULT_REPORT_DAYS - 1 days before `to`. Refused (every problem named): a value that
 * is not a calendar date, `from` after `to`, or more than MAX_REPORT_DAYS days.
 */
export function reportRange(query: { from?: string; to?: string }, now: Date): ReportRange {
  const problems: { path: string; message: string }[] = [];
  for (const name of ["from", "to"] as const) {
    const value = query[name];
    if (value !== undefined && !isCalendarDate(value)) {
      problems.push({ path: name, message: "must be a calendar date as YYYY-MM-DD (UTC)" });
    }
  }
  if (problems.length > 0) throw new InputOutOfRangeError("the report's dates are not valid", problems);
  const to = query.to ?? dateOf(now.getTime());
  const from = query.from ?? dateOf(dayMs(to) - (DEFAULT_REPORT_DAYS - 1) * DAY_MS);
  const days = Math.round((dayMs(to) - dayMs(from)) / DAY_MS) + 1;
  if (days < 1) {
    throw new InputOutOfRangeError("the report's range ends before it starts", [
      { path: "to", message: `must be on or after from (${from})` },
    ]);
  }
  if (days > MAX_REPORT_DAYS) {
    throw new InputOutOfRangeError(`a report covers at most ${MAX_REPORT_DAYS} days`, [
      {
        path: "from",
        message: `the range from ${from} to ${to} covers ${days} days; at most ${MAX_REPORT_DAYS}`,
      },
    ]);
  }
  return { from, to, days };
}

/** Every day of the range, in order. */
export function daysOf(range: ReportRange): string[] {
  return Array.from({ length: range.days }, (_, index) => dateOf(dayMs(range.from) + index * DAY_MS));
}

const noFigures = (): TrailFigures => ({
  messagesSent: {},
  stepsDeferred: {},
  handOffs: 0,
  paymentsAfterContact: 0,
});

const bump = (map: Record<string, number>, key: string, value: number) => {
  map[key] = (map[key] ?? 0) + value;
};

/** Adds a day's counters into figures: messages by channel (whatever their stage), deferrals by rule. */
function addCounters(figures: TrailFigures, counters: Counters): void {
  for (const [counter, value] of Object.entries(counters)) {
    const { name, dimensions } = parseCounterName(counter);
    if (name === "MessagesSent") bump(figures.messagesSent, dimensions.channel ?? "unknown", value);
    else if (name === "StepsDeferred") bump(figures.stepsDeferred, dimensions.rule ?? "unknown", value);
    else if (name === "HandOffs") figures.handOffs += value;
    else if (name === "PaymentsAfterContact") figures.paymentsAfterContact += value;
  }
}

/** The figures of every day of the range (a day without counters has none), and their totals. */
export function trailFigures(
  range: ReportRange,
  stored: readonly { day: string; counters: Counters }[],
): { daily: DayFigures[]; totals: TrailFigures } {
  const byDay = new Map(stored.map((item) => [item.day, item.counters]));
  const totals = noFigures();
  const daily = daysOf(range).map((date) => {
    const figures = noFigures();
    const counters = byDay.get(date);
    if (counters) {
      addCounters(figures, counters);
      addCounters(totals, counters);
    }
    return { date, ...figures };
  });
  return { daily, totals };
}

/**
 * The case counts of the report: statuses as counted, stages from the open cases' days past due (pre-due and
 * soft collection) and the statuses that fix a stage (legal; paid, settled and closed are done).
 */
export function caseCountsView(
  byStatus: Record<CaseStatus, number>,
  openStages: Pick<Record<CaseStage, number>, "pre_due" | "soft_collection" | "legal">,
  needingAttention: number,
): CaseCountsView {
  return {
    total: Object.values(byStatus).reduce((sum, count) => sum + count, 0),
    byStatus,
    byStage: { ...openStages, done: byStatus.paid + byStatus.settled + byStatus.closed },
    needingAttention,
  };
}
