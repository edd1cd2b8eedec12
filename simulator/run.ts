import { type LoanProfile, profileOf, syntheticProfile } from "./customers.ts";
import { type Line, linesOf, type Routed, routerOf } from "./lines.ts";
import { type PaymentDraw, paymentDraw } from "./payments.ts";
import { LineRun, runIndividually, TrajectoryBook } from "./policy-run.ts";
import {
  borrowerGroup,
  type PortfolioLoan,
  plusDays,
  SYNTHETIC_ZONES,
  type SyntheticPortfolioOptions,
  syntheticLoan,
  syntheticShape,
  syntheticZoneIndex,
} from "./portfolio.ts";
import type { RunSettings } from "./settings.ts";
import type { Tally } from "./tally.ts";

export { DAY_MS, type RunSettings, type StrategySettings } from "./settings.ts";

/** A borrower of a supplied portfolio: its loans with their positions in the file (which seed payments). */
export interface BorrowerLoans {
  loans: { index: number; loan: PortfolioLoan }[];
}

/** The payment days drawn for loan `index`: one for a single due date, one per installment of a schedule. */
function payDaysOf(draw: PaymentDraw, index: number, loan: PortfolioLoan, factor: number): (number | null)[] {
  return loan.schedule ? loan.schedule.map((_, k) => draw(index, k, factor)) : [draw(index, 0, factor)];
}

export type Progress = (loansDone: number) => void;

/** How often (in positions: loan indices, or borrowers of a supplied portfolio) a run reports progress. */
const PROGRESS_EVERY = 5000;

/**
 * One running count per line of the run (linesOf): a policy's over every loan, or a strategy's segment and arm.
 * Lines that run the same policy share its trajectories.
 */
function lineRuns(settings: RunSettings, lines: readonly Line[]): LineRun[] {
  const books = new Map<Line["policy"], TrajectoryBook>();
  return lines.map(({ policy }) => {
    let book = books.get(policy);
    if (!book) {
      book = new TrajectoryBook(policy, settings);
      books.set(policy, book);
    }
    return new LineRun(book, settings);
  });
}

const reachOf = (loan: PortfolioLoan): number =>
  (loan.borrower.phone ? 1 : 0) + (loan.borrower.email ? 2 : 0);

/**
 * A run driven a part at a time (`advance(to)` works the positions before `to`, loan indices or supplied borrowers,
 * and answers the loans done), then finished once: one tally per line (see linesOf), the same however the run was
 * cut.
 */
export interface SteppedRun {
  readonly from: number;
  readonly to: number;
  advance(to: number): number;
  finish(): Tally[];
}

/** Runs every part of a stepped run, telling `progress` after each. */
function runAll(run: SteppedRun, progress?: Progress): Tally[] {
  for (let at = run.from; at < run.to; ) {
    at = Math.min(run.to, at + PROGRESS_EVERY);
    const done = run.advance(at);
    progress?.(done);
  }
  return run.finish();
}

/** A loan of a borrower who shares no trajectory, with the lines it runs on. */
interface RoutedLoan {
  index: number;
  loan: PortfolioLoan;
  routes: Routed[];
}

/**
 * A borrower's loans through the domain together, once per pass: each line in turn when policies run side by side,
 * once with each loan on the line of its assignment under a strategy.
 */
function runTogether(loans: RoutedLoan[], runs: LineRun[], draw: PaymentDraw, settings: RunSettings): void {
  const passes = loans[0]?.routes.length ?? 0;
  for (let pass = 0; pass < passes; pass++) {
    const entries = loans.map(({ index, loan, routes }) => {
      const { line, factor } = routes[pass] as Routed;
      return { loan, payDays: payDaysOf(draw, index, loan, factor), run: runs[line] as LineRun };
    });
    runIndividually(entries, settings);
  }
}

/** Supplied borrowers as a stepped run (a position is a borrower). */
export function borrowersRun(borrowers: readonly BorrowerLoans[], settings: RunSettings): SteppedRun {
  const lines = linesOf(settings);
  const runs = lineRuns(settings, lines);
  const route = routerOf(settings, lines);
  const draw = paymentDraw(settings.payments, settings.seed);
  let next = 0;
  let done = 0;
  return {
    from: 0,
    to: borrowers.length,
    advance(to) {
      for (; next < Math.min(to, borrowers.length); next++) {
        const { loans: entries } = borrowers[next] as BorrowerLoans;
        const loans = entries.map(({ index, loan }) => ({
          index,
          loan,
          routes: route(
            index,
            () => loan,
            () => profileOf(loan),
          ),
        }));
        const only = loans[0];
        if (loans.length === 1 && only && !only.loan.schedule && settings.memoise !== false) {
          const { loan } = only;
          const key = `${loan.borrower.timeZone}|${loan.dueDate}|${reachOf(loan)}`;
          for (const { line, factor } of only.routes)
            runs[line]?.single(key, draw(only.index, 0, factor), () => loan);
        } else runTogether(loans, runs, draw, settings);
        done += loans.length;
      }
      return done;
    },
    finish: () => runs.map((r) => r.finish()),
  };
}

/** Runs supplied borrowers; returns one tally per line (see linesOf). */
export function runBorrowers(
  borrowers: readonly BorrowerLoans[],
  settings: RunSettings,
  progress?: Progress,
): Tally[] {
  return runAll(borrowersRun(borrowers, settings), progress);
}

export interface SyntheticSlice {
  portfolio: SyntheticPortfolioOptions;
  /** Loan indices [from, to). */
  from: number;
  to: number;
  /** Of `parts` workers, this one takes the borrowers whose zone index ≡ part (mod parts). */
  part: number;
  parts: number;
}

/**
 * A slice of a synthetic portfolio as a stepped run, building loans from their index: a single-loan borrower's loan
 * is only materialised when its trajectory is not known yet (or a strategy assigns it). Splitting by zone keeps each
 * distinct trajectory in one worker. A multi-loan borrower is run at its first loan, so a part may end anywhere.
 */
export function syntheticRun(slice: SyntheticSlice, settings: RunSettings): SteppedRun {
  const lines = linesOf(settings);
  const runs = lineRuns(settings, lines);
  const route = routerOf(settings, lines);
  const draw = paymentDraw(settings.payments, settings.seed);
  const options = slice.portfolio;
  const zones = options.zones ?? SYNTHETIC_ZONES;
  const dueDates = Array.from({ length: options.dueDays }, (_, d) => plusDays(options.firstDueDate, d));
  const routed = (index: number) => {
    let loan: PortfolioLoan | undefined;
    const build = () => {
      loan ??= syntheticLoan(index, options);
      return loan;
    };
    const profile = (): LoanProfile => syntheticProfile(index, options);
    return { build, routes: route(index, build, profile) };
  };
  let i = slice.from;
  let done = 0;
  return {
    from: slice.from,
    to: slice.to,
    advance(to) {
      for (; i < Math.min(to, slice.to); i++) {
        if (syntheticZoneIndex(i, zones.length) % slice.parts !== slice.part) continue;
        const group = borrowerGroup(i, options.count);
        const shape = group.size === 1 && settings.memoise !== false ? syntheticShape(i, options) : null;
        if (shape && shape.installments === 0) {
          const key = `${zones[shape.zoneIndex]}|${dueDates[shape.dueDay]}|${shape.reach}`;
          const { build, routes } = routed(i);
          for (const { line, factor } of routes) runs[line]?.single(key, draw(i, 0, factor), build);
          done++;
        } else if (group.first === i) {
          // A borrower's several loans, or a loan on a schedule: through the domain one by one.
          const loans = Array.from({ length: group.size }, (_, k) => {
            const { build, routes } = routed(i + k);
            return { index: i + k, loan: build(), routes };
          });
          runTogether(loans, runs, draw, settings);
          done += group.size;
        }
      }
      return done;
    },
    finish: () => runs.map((r) => r.finish()),
  };
}

/** Runs a slice of a synthetic portfolio (see syntheticRun); returns one tally per line (see linesOf). */
export function runSynthetic(slice: SyntheticSlice, settings: RunSettings, progress?: Progress): Tally[] {
  return runAll(syntheticRun(slice, settings), progress);
}
