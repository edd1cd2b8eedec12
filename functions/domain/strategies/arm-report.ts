import { add, type Money, money, toDecimal } from "../money.ts";
import { CHAMPION } from "./strategy.ts";

/**
 * Champion–challenger figures: each segment's loans are split between arms (strategies), one of them the
 * champion the others have to beat. For every arm this module reports how many loans were cured within 7, 30 and
 * 60 days, what was recovered, what it cost in messages and in complaints, and — for a challenger — whether its
 * 30-day cure share differs from the champion's by more than chance would explain. Pure: no clock, no I/O.
 */

/** The arm every other arm of its segment is compared with (the strategy's own name for it). */
export { CHAMPION };

/** Two-sided 95 %: the standard normal quantile 0.975. */
export const Z_95 = 1.959964;
/** A difference is called significant below this two-sided p-value. */
export const SIGNIFICANCE = 0.05;

const DAY_MS = 24 * 60 * 60 * 1000;
const WINDOWS = [7, 30, 60] as const;

/** One loan assigned to an arm, with what happened to it since. */
export interface ArmLoan {
  segment: string;
  arm: string;
  policyId: string;
  /** ISO instant. */
  assignedAt: string;
  /** YYYY-MM-DD. */
  dueDate: string;
  amountDue: Money;
  /** ISO instant: the first time the case was paid in full (cured). */
  curedAt?: string;
  /** Payments received after assignment. */
  recovered: Money;
  messages: number;
  optedOut: boolean;
  disputed: boolean;
  handedOff: boolean;
}

/** An estimate with its 95 % confidence interval. */
export interface Interval {
  estimate: number;
  low: number;
  high: number;
}

/**
 * A share with its 95 % Wilson interval and its denominator. With nothing to judge (`judged` 0) the estimate and
 * both bounds are 0: the figure carries no information, and `judged` says so.
 */
export interface Proportion extends Interval {
  judged: number;
}

export interface ArmFigures {
  segment: string;
  arm: string;
  policyId: string;
  loans: number;
  /** Share of the loans old enough to judge that were cured within N days of their assignment. */
  curedWithin: { days7: Proportion; days30: Proportion; days60: Proportion };
  /** In the arm's currency: the total as a decimal string, the mean per loan as numbers. */
  recovered: { currency: string; total: string; perLoan: Interval };
  /** Mean of each loan's recovered / amount due (see `recoveryRate`). */
  recoveryRate: Interval;
  messagesPerLoan: number;
  /** Messages sent per one unit of currency recovered; null when nothing was recovered. */
  messagesPerRecovered: number | null;
  optOuts: number;
  disputes: number;
  handOffs: number;
  /** Challenger minus champion; absent for the champion and in a segment without one. */
  versusChampion?: { metric: "curedWithin30"; difference: Interval; pValue: number; significant: boolean };
}

export interface ArmReport {
  arms: ArmFigures[];
  /** The currency of every arm's money figures, when they all share one. */
  currency?: string;
  /** What the figures leave out, and why. */
  notes: string[];
}

/**
 * erfc for x >= 0 (Abramowitz & Stegun 7.1.26, absolute error below 1.5e-7). Computing the tail directly keeps
 * small p-values from drowning in the rounding of 1 - Φ.
 */
function erfcPositive(x: number): number {
  const t = 1 / (1 + 0.3275911 * x);
  const poly =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return poly * Math.exp(-x * x);
}

/** The standard normal cumulative distribution function. */
export function normalCdf(x: number): number {
  const tail = 0.5 * erfcPositive(Math.abs(x) / Math.SQRT2);
  return x >= 0 ? 1 - tail : tail;
}

/** Two-sided p-value of a standard normal statistic. */
function twoSidedP(z: number): number {
  return Math.min(1, erfcPositive(Math.abs(z) / Math.SQRT2));
}

/**
 * The Wilson score interval of successes / n. Unlike the textbook p ± z·SE it stays inside [0, 1] and does not
 * collapse to a point when every loan (or none) was cured; the clamp only absorbs floating-point dust.
 */
export function wilsonInterval(successes: number, n: number): Proportion {
  if (n === 0) return { estimate: 0, low: 0, high: 0, judged: 0 };
  const p = successes / n;
  const z2 = Z_95 * Z_95;
  const denominator = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denominator;
  const half = (Z_95 / denominator) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { estimate: p, low: Math.max(0, centre - half), high: Math.min(1, centre + half), judged: n };
}

/**
 * The mean with a normal-approximation interval from the sample standard deviation (n - 1). No values: all 0.
 * One value, or values that are all equal, give no spread to estimate: the interval is the mean itself. A lower
 * bound is not allowed below 0 when no value is, since such a mean cannot be negative.
 */
export function meanInterval(values: readonly number[], mean = average(values)): Interval {
  const n = values.length;
  if (n === 0) return { estimate: 0, low: 0, high: 0 };
  const variance = n < 2 ? 0 : values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (n - 1);
  const half = Z_95 * Math.sqrt(variance / n);
  const floor = values.every((value) => value >= 0) ? 0 : Number.NEGATIVE_INFINITY;
  return { estimate: mean, low: Math.max(floor, mean - half), high: mean + half };
}

function average(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length;
}

/** Cured loans out of those judged. */
export interface Tally {
  cured: number;
  judged: number;
}

/**
 * The two-proportion z-test of challenger against champion. The p-value uses the pooled standard error (under
 * the hypothesis of no difference both arms share one rate); the interval of the difference uses the unpooled
 * one, since it describes the difference actually seen. Both arms at 0 % or both at 100 %: no evidence of a
 * difference, p = 1.
 */
export function twoProportionTest(
  champion: Tally,
  challenger: Tally,
): { difference: Interval; pValue: number } {
  const p1 = champion.cured / champion.judged;
  const p2 = challenger.cured / challenger.judged;
  const difference = p2 - p1;
  const pooled = (champion.cured + challenger.cured) / (champion.judged + challenger.judged);
  const pooledSe = Math.sqrt(pooled * (1 - pooled) * (1 / champion.judged + 1 / challenger.judged));
  const pValue = pooledSe === 0 ? 1 : twoSidedP(difference / pooledSe);
  const se = Math.sqrt((p1 * (1 - p1)) / champion.judged + (p2 * (1 - p2)) / challenger.judged);
  return {
    difference: { estimate: difference, low: difference - Z_95 * se, high: difference + Z_95 * se },
    pValue,
  };
}

/**
 * The most frequent value and the counts of the rest. A tie goes to the first in code-point order, so the
 * report does not depend on the order of its input.
 */
function majority(values: readonly string[]): { value: string; others: Map<string, number> } {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  const ranked = [...counts].sort(([a, m], [b, n]) => n - m || byCodePoint(a, b));
  const [value = ""] = ranked[0] ?? [];
  counts.delete(value);
  return { value, others: counts };
}

const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function instant(value: string, what: string): number {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new RangeError(`${what} is not an ISO instant: ${JSON.stringify(value)}`);
  return ms;
}

/**
 * Cured within N days, for each window. A loan assigned less than N days before `asOf` is too young to judge for
 * that window: it is left out of the denominator, not counted as uncured.
 */
function curedTallies(loans: readonly ArmLoan[], asOf: number): Tally[] {
  return WINDOWS.map((days) => {
    const tally = { cured: 0, judged: 0 };
    for (const loan of loans) {
      const assigned = instant(loan.assignedAt, "assignedAt");
      if (assigned + days * DAY_MS > asOf) continue;
      tally.judged += 1;
      if (loan.curedAt !== undefined && instant(loan.curedAt, "curedAt") <= assigned + days * DAY_MS) {
        tally.cured += 1;
      }
    }
    return tally;
  });
}

/**
 * The money figures of an arm, in the currency most of its loans are due in. Loans due in another currency, or
 * whose payments are in a currency other than their amount due, cannot be added up with the rest: they are left
 * out of every money figure (messagesPerRecovered included) and named in the notes.
 */
function moneyFigures(loans: readonly ArmLoan[], label: string, notes: string[]) {
  const { value: currency, others } = majority(loans.map((loan) => loan.amountDue.currency));
  for (const [other, count] of others) {
    notes.push(
      `${label}: ${count} loan(s) due in ${other} left out of the money figures (kept in ${currency})`,
    );
  }
  const counted = loans.filter((loan) => loan.amountDue.currency === currency);
  const kept = counted.filter((loan) => loan.recovered.currency === currency);
  if (kept.length < counted.length) {
    notes.push(
      `${label}: ${counted.length - kept.length} loan(s) with payments in a currency other than the amount due left out of the money figures`,
    );
  }
  const total = kept.reduce((sum, loan) => add(sum, loan.recovered), money(0, currency));
  const perLoan = meanInterval(
    kept.map((loan) => Number(loan.recovered.amount)),
    kept.length === 0 ? 0 : toDecimal(total).div(kept.length).toNumber(),
  );
  const messages = kept.reduce((sum, loan) => sum + loan.messages, 0);
  const recovered = toDecimal(total).toNumber();
  return {
    recovered: { currency, total: total.amount, perLoan },
    recoveryRate: recoveryRate(kept, label, notes),
    messagesPerRecovered: recovered === 0 ? null : messages / recovered,
  };
}

/**
 * The recovery rate as the mean of each loan's recovered / amount due, with a normal interval over loans. This
 * weighs every loan alike, where the ratio of the sums would weigh large loans more; the per-loan mean is what
 * a strategy applied loan by loan is judged on, and its interval needs no ratio-estimator approximation. A loan
 * with nothing due has no rate and is left out of it.
 */
function recoveryRate(loans: readonly ArmLoan[], label: string, notes: string[]): Interval {
  const rated = loans.filter((loan) => !toDecimal(loan.amountDue).isZero());
  if (rated.length < loans.length) {
    notes.push(
      `${label}: ${loans.length - rated.length} loan(s) with nothing due left out of the recovery rate`,
    );
  }
  return meanInterval(
    rated.map((loan) => toDecimal(loan.recovered).div(toDecimal(loan.amountDue)).toNumber()),
  );
}

interface ArmResult {
  figures: ArmFigures;
  cured30: Tally;
}

function armFigures(loans: readonly ArmLoan[], asOf: number, notes: string[]): ArmResult {
  const [first] = loans as [ArmLoan];
  const label = `segment ${JSON.stringify(first.segment)}, arm ${JSON.stringify(first.arm)}`;
  const policy = majority(loans.map((loan) => loan.policyId));
  if (policy.others.size > 0) {
    const listed = [...policy.others.keys()].sort(byCodePoint).join(", ");
    notes.push(`${label}: its loans name more than one policy (${listed} besides ${policy.value})`);
  }
  const [days7, days30, days60] = curedTallies(loans, asOf) as [Tally, Tally, Tally];
  const count = (flag: (loan: ArmLoan) => boolean) => loans.filter(flag).length;
  const figures: ArmFigures = {
    segment: first.segment,
    arm: first.arm,
    policyId: policy.value,
    loans: loans.length,
    curedWithin: {
      days7: wilsonInterval(days7.cured, days7.judged),
      days30: wilsonInterval(days30.cured, days30.judged),
      days60: wilsonInterval(days60.cured, days60.judged),
    },
    ...moneyFigures(loans, label, notes),
    messagesPerLoan: loans.reduce((sum, loan) => sum + loan.messages, 0) / loans.length,
    optOuts: count((loan) => loan.optedOut),
    disputes: count((loan) => loan.disputed),
    handOffs: count((loan) => loan.handedOff),
  };
  return { figures, cured30: days30 };
}

/** Sets each challenger's comparison with its segment's champion, when there is one and both can be judged. */
function compareWithChampions(results: readonly ArmResult[], notes: string[]): void {
  for (const segment of new Set(results.map((result) => result.figures.segment))) {
    const arms = results.filter((result) => result.figures.segment === segment);
    const champion = arms.find((result) => result.figures.arm === CHAMPION);
    const challengers = arms.filter((result) => result !== champion);
    if (!champion) {
      notes.push(`segment ${JSON.stringify(segment)} has no ${CHAMPION} arm: its arms are not compared`);
      continue;
    }
    for (const challenger of challengers) {
      if (champion.cured30.judged === 0 || challenger.cured30.judged === 0) {
        notes.push(
          `segment ${JSON.stringify(segment)}, arm ${JSON.stringify(challenger.figures.arm)}: not compared, no loan on one side is 30 days old`,
        );
        continue;
      }
      const { difference, pValue } = twoProportionTest(champion.cured30, challenger.cured30);
      challenger.figures.versusChampion = {
        metric: "curedWithin30",
        difference,
        pValue,
        significant: pValue < SIGNIFICANCE,
      };
    }
  }
}

/** Segment, then the champion, then the other arms by name (code-point order, the same on every machine). */
function byArm(a: Pick<ArmLoan, "segment" | "arm">, b: Pick<ArmLoan, "segment" | "arm">): number {
  return (
    byCodePoint(a.segment, b.segment) ||
    Number(b.arm === CHAMPION) - Number(a.arm === CHAMPION) ||
    byCodePoint(a.arm, b.arm)
  );
}

/** The figures of every arm that has loans, as of the instant `asOf` (ISO). */
export function armReport(loans: readonly ArmLoan[], asOf: string): ArmReport {
  const asOfMs = instant(asOf, "asOf");
  const groups = new Map<string, ArmLoan[]>();
  for (const loan of loans) {
    const key = JSON.stringify([loan.segment, loan.arm]);
    const group = groups.get(key);
    if (group) group.push(loan);
    else groups.set(key, [loan]);
  }
  // Sorted before any figure is worked out, so the notes come in the order of the arms they are about.
  const sorted = [...groups.values()].sort(([a], [b]) => byArm(a as ArmLoan, b as ArmLoan));
  const notes: string[] = [];
  const results = sorted.map((group) => armFigures(group, asOfMs, notes));
  compareWithChampions(results, notes);
  const arms = results.map((result) => result.figures);
  const currencies = new Set(arms.map((arm) => arm.recovered.currency));
  const [currency] = currencies;
  if (currencies.size > 1) {
    notes.push(
      `the arms' money figures are in different currencies (${[...currencies].sort(byCodePoint).join(", ")})`,
    );
  }
  return currencies.size === 1 ? { arms, currency, notes } : { arms, notes };
}
