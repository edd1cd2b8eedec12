/** What a run counts for one policy; tallies of disjoint borrower sets add up (see mergeTally). */
export interface Tally {
  /** Index = simulated day (UTC days since the start). */
  smsPerDay: number[];
  emailPerDay: number[];
  messages: {
    smsPreDue: number;
    smsSoftCollection: number;
    emailPreDue: number;
    emailSoftCollection: number;
  };
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
  /** Loans of single-loan borrowers, counted through shared trajectories. */
  memoisedLoans: number;
  distinctTrajectories: number;
  /** Loans of multi-loan borrowers, each run through the domain on its own. */
  individualLoans: number;
  multiLoanBorrowers: number;
}

export function emptyTally(days: number): Tally {
  return {
    smsPerDay: new Array(days).fill(0),
    emailPerDay: new Array(days).fill(0),
    messages: { smsPreDue: 0, smsSoftCollection: 0, emailPreDue: 0, emailSoftCollection: 0 },
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
    memoisedLoans: 0,
    distinctTrajectories: 0,
    individualLoans: 0,
    multiLoanBorrowers: 0,
  };
}

type Numeric = number | number[] | { [key: string]: number };

/** Adds `from` into `into`, field by field (same shape, numbers and arrays of numbers). */
export function mergeTally(into: Tally, from: Tally): Tally {
  const target = into as unknown as Record<string, Numeric>;
  for (const [key, value] of Object.entries(from as unknown as Record<string, Numeric>)) {
    const current = target[key];
    if (typeof value === "number") target[key] = (current as number) + value;
    else if (Array.isArray(value))
      value.forEach((v, i) => {
        (current as number[])[i] = ((current as number[])[i] ?? 0) + v;
      });
    else
      for (const [k, v] of Object.entries(value))
        (current as Record<string, number>)[k] = ((current as Record<string, number>)[k] ?? 0) + v;
  }
  return into;
}
