import { type BusinessMetric, businessMetricsOf } from "./trail-metrics.ts";

/**
 * The trail projected onto daily counters: what each new audit entry adds to its tenant's counters of the day it
 * was recorded (UTC), from the same business metrics the CloudWatch figures come from. Pure: the stream consumer
 * reads the entries and writes the counters; here is only what they add up to.
 */

/** An audit entry as the projection reads it off the audit table's stream. */
export interface TrailEntry {
  tenantId: string;
  loanId: string;
  seq: number;
  /** When the entry was recorded (ISO 8601, UTC): the business clock's instant. */
  at: string;
  type: string;
  data: Record<string, unknown>;
}

/** Counter name → amount. */
export type Counters = Record<string, number>;

/**
 * What a run of one loan's entries adds to the daily counters. The loan's projection mark (the highest seq
 * counted so far) must be below `firstSeq` for it to be added, and becomes `lastSeq`: an entry delivered again
 * by the stream is never counted twice.
 */
export interface LoanContribution {
  tenantId: string;
  loanId: string;
  firstSeq: number;
  lastSeq: number;
  /** UTC day (YYYY-MM-DD) → counters. */
  days: Record<string, Counters>;
}

/** What one write adds to one tenant's counters of one day. */
export interface DailyIncrement {
  tenantId: string;
  day: string;
  counters: Counters;
}

/** A contribution spans at most this many days, so one always fits a transaction with room to spare. */
export const MAX_DAYS_PER_CONTRIBUTION = 40;

/** The UTC calendar day of an instant; null when it is not one. */
export function utcDay(at: string): string | null {
  const ms = Date.parse(at);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString().slice(0, 10);
}

/** One loan of one tenant, as a map key. */
export const loanKey = (ref: { tenantId: string; loanId: string }) => `${ref.tenantId}\u0000${ref.loanId}`;

/**
 * A metric with its dimensions as one counter name, dimensions sorted by name:
 * `MessagesSent|channel=sms|stage=pre_due`, `HandOffs`.
 */
export function counterName(metric: Pick<BusinessMetric, "name" | "dimensions">): string {
  const dimensions = Object.entries(metric.dimensions)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`);
  return [metric.name, ...dimensions].join("|");
}

/** The metric name and dimensions a counter name stands for. */
export function parseCounterName(counter: string): { name: string; dimensions: Record<string, string> } {
  const [name = "", ...parts] = counter.split("|");
  const dimensions: Record<string, string> = {};
  for (const part of parts) {
    const cut = part.indexOf("=");
    if (cut > 0) dimensions[part.slice(0, cut)] = part.slice(cut + 1);
  }
  return { name, dimensions };
}

/**
 * What `entries` add to the daily counters, per loan in seq order. Entries at or below the loan's mark in
 * `countedThrough` were counted already and are left out, as are repeats of one seq and entries that stand for
 * no metric (they need no write at all). A loan whose entries span more than MAX_DAYS_PER_CONTRIBUTION days gives
 * several contributions, in seq order.
 */
export function contributionsOf(
  entries: readonly TrailEntry[],
  countedThrough: ReadonlyMap<string, number> = new Map(),
): LoanContribution[] {
  const byLoan = new Map<string, TrailEntry[]>();
  for (const entry of entries) {
    const key = loanKey(entry);
    if (entry.seq <= (countedThrough.get(key) ?? 0)) continue;
    byLoan.set(key, [...(byLoan.get(key) ?? []), entry]);
  }
  const contributions: LoanContribution[] = [];
  for (const loanEntries of byLoan.values()) {
    let current: LoanContribution | undefined;
    let lastSeq = 0;
    for (const entry of [...loanEntries].sort((a, b) => a.seq - b.seq)) {
      if (entry.seq === lastSeq) continue;
      lastSeq = entry.seq;
      const day = utcDay(entry.at);
      const metrics = businessMetricsOf(entry);
      if (day === null || metrics.length === 0) continue;
      const days = current ? Object.keys(current.days) : [];
      if (!current || (!days.includes(day) && days.length >= MAX_DAYS_PER_CONTRIBUTION)) {
        current = {
          tenantId: entry.tenantId,
          loanId: entry.loanId,
          firstSeq: entry.seq,
          lastSeq: 0,
          days: {},
        };
        contributions.push(current);
      }
      current.lastSeq = entry.seq;
      const counters = current.days[day] ?? {};
      for (const metric of metrics) addTo(counters, counterName(metric), metric.value);
      current.days[day] = counters;
    }
  }
  return contributions;
}

function addTo(counters: Counters, name: string, value: number): void {
  counters[name] = (counters[name] ?? 0) + value;
}

/** The contributions' counters summed per tenant and day: one increment per counter item. */
export function dailyIncrements(contributions: readonly LoanContribution[]): DailyIncrement[] {
  const increments = new Map<string, DailyIncrement>();
  for (const { tenantId, days } of contributions) {
    for (const [day, counters] of Object.entries(days)) {
      const key = `${tenantId}\u0000${day}`;
      const increment = increments.get(key) ?? { tenantId, day, counters: {} };
      for (const [name, value] of Object.entries(counters)) addTo(increment.counters, name, value);
      increments.set(key, increment);
    }
  }
  return [...increments.values()];
}

/**
 * Contributions grouped into writes of at most `maxItems` items each: one item per loan (its mark) plus one per
 * tenant and day its counters touch. A loan appears at most once in a write (its contributions follow one
 * another in seq order, each in a later write), and the order of the contributions is kept.
 */
export function writeGroups(
  contributions: readonly LoanContribution[],
  maxItems: number,
): LoanContribution[][] {
  const groups: LoanContribution[][] = [];
  let group: LoanContribution[] = [];
  let loans = new Set<string>();
  let days = new Set<string>();
  for (const contribution of contributions) {
    const newDays = Object.keys(contribution.days)
      .map((day) => `${contribution.tenantId}\u0000${day}`)
      .filter((key) => !days.has(key));
    const full = loans.size + days.size + 1 + newDays.length > maxItems;
    if (group.length > 0 && (full || loans.has(loanKey(contribution)))) {
      groups.push(group);
      group = [];
      loans = new Set();
      days = new Set();
    }
    group.push(contribution);
    loans.add(loanKey(contribution));
    for (const day of Object.keys(contribution.days)) days.add(`${contribution.tenantId}\u0000${day}`);
  }
  if (group.length > 0) groups.push(group);
  return groups;
}
