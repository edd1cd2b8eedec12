import { CHANNELS, type Channel } from "../functions/domain/channels.ts";

/** What a run counts for one policy; tallies of disjoint borrower sets add up (see mergeTally). */
export interface Tally {
  /** Messages per channel and simulated day (index = UTC days since the start). */
  perDay: Record<Channel, number[]>;
  /** Messages per channel, before the due date and in soft collection. */
  messages: Record<Channel, { preDue: number; softCollection: number }>;
  funnel: {
    subscribed: number;
    paidBeforeDue: number;
    paidInSoftCollection: number;
    reachedHandOff: number;
    paidAfterHandOff: number;
    openAtEnd: number;
  };
  deferrals: { contact_window: number; quiet_day: number; sms_daily_cap: number; contacts_7_day_cap: number };
  suppressions: { sms_daily_cap: number; contacts_7_day_cap: number };
  fallbacks: number;
  violations: { outsideWindow: number; quietDay: number; smsDailyCap: number; contacts7DayCap: number };
  /**
   * Loans on a schedule: how many, their installments due by the last simulated day, installments covered by their
   * due date or after it, and cures (payments that cleared every overdue installment).
   */
  installments: { loans: number; due: number; paidOnTime: number; paidLate: number; cures: number };
  /** Loans of single-loan borrowers, counted through shared trajectories. */
  memoisedLoans: number;
  distinctTrajectories: number;
  /** Loans of multi-loan borrowers and loans on a schedule, each run through the domain on its own. */
  individualLoans: number;
  multiLoanBorrowers: number;
}

export function emptyTally(days: number): Tally {
  return {
    perDay: perChannel(() => new Array(days).fill(0)),
    messages: perChannel(() => ({ preDue: 0, softCollection: 0 })),
    funnel: {
      subscribed: 0,
      paidBeforeDue: 0,
      paidInSoftCollection: 0,
      reachedHandOff: 0,
      paidAfterHandOff: 0,
      openAtEnd: 0,
    },
    deferrals: { contact_window: 0, quiet_day: 0, sms_daily_cap: 0, contacts_7_day_cap: 0 },
    suppressions: { sms_daily_cap: 0, contacts_7_day_cap: 0 },
    fallbacks: 0,
    violations: { outsideWindow: 0, quietDay: 0, smsDailyCap: 0, contacts7DayCap: 0 },
    installments: { loans: 0, due: 0, paidOnTime: 0, paidLate: 0, cures: 0 },
    memoisedLoans: 0,
    distinctTrajectories: 0,
    individualLoans: 0,
    multiLoanBorrowers: 0,
  };
}

const perChannel = <T>(make: () => T): Record<Channel, T> =>
  Object.fromEntries(CHANNELS.map((channel) => [channel, make()])) as Record<Channel, T>;

type Numeric = number | Numeric[] | { [key: string]: Numeric };

/** Adds `from` into `into`, field by field (same shape: numbers, arrays and objects of them, to any depth). */
export function mergeTally(into: Tally, from: Tally): Tally {
  addInto(into as unknown as Record<string, Numeric>, from as unknown as Record<string, Numeric>);
  return into;
}

function addInto(
  target: Record<string, Numeric> | Numeric[],
  source: Record<string, Numeric> | Numeric[],
): void {
  const into = target as Record<string, Numeric>;
  for (const [key, value] of Object.entries(source)) {
    if (typeof value === "number") into[key] = ((into[key] as number | undefined) ?? 0) + value;
    else {
      into[key] ??= Array.isArray(value) ? [] : {};
      addInto(into[key] as Record<string, Numeric>, value as Record<string, Numeric>);
    }
  }
}
