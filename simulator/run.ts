import { type Policy, rulesOf } from "../functions/domain/policy.ts";
import { type CheckedContact, type CheckRules, checkContacts, checkRulesOf, VIOLATION } from "./checker.ts";
import {
  EV,
  type EventLog,
  isMessage,
  messageOf,
  paymentInstant,
  type SimLoan,
  simulateBorrower,
} from "./engine.ts";
import { type PaymentDraw, type PaymentModel, paymentDraw } from "./payments.ts";
import {
  borrowerGroup,
  dueDatesOf,
  type PortfolioLoan,
  plusDays,
  SYNTHETIC_ZONES,
  type SyntheticPortfolioOptions,
  syntheticLoan,
  syntheticShape,
  syntheticZoneIndex,
} from "./portfolio.ts";
import { emptyTally, type Tally } from "./tally.ts";

export const DAY_MS = 86_400_000;

export interface RunSettings {
  /** First simulated instant: 00:00 UTC of the first day. */
  startMs: number;
  days: number;
  policies: Policy[];
  payments: PaymentModel;
  /** Seeds the payment draws (and the synthetic portfolio). */
  seed: number;
  /** Off: every borrower goes through the domain on its own (slow; to show memoisation changes nothing). */
  memoise?: boolean;
}

/** A borrower of a supplied portfolio: its loans with their positions in the file (which seed payments). */
export interface BorrowerLoans {
  loans: { index: number; loan: PortfolioLoan }[];
}

interface Trajectory {
  log: EventLog;
  /** Violation mask per event (0 for events that are not messages). */
  masks: Uint8Array;
  handOffAt: number;
  /** Events before the payment, by payment day (memo of the cut). */
  cuts: Map<number, { payAt: number; cut: number }>;
  /** How many loans saw the first n events, by n. */
  counts: Map<number, number>;
}

/** A loan run through the domain on its own, with the day each of its due dates is paid (null: never). */
interface IndividualLoan {
  loan: PortfolioLoan;
  payDays: (number | null)[];
}

/** The payment days drawn for loan `index`: one for a single due date, one per installment of a schedule. */
function payDaysOf(draw: PaymentDraw, index: number, loan: PortfolioLoan): (number | null)[] {
  return loan.schedule ? loan.schedule.map((_, k) => draw(index, k)) : [draw(index)];
}

/** One policy's running count plus its cache of trajectories for single-loan borrowers. */
class PolicyRun {
  readonly tally: Tally;
  readonly rules: CheckRules;
  /** Caps count the borrower's loans together (policy capsPer "borrower") rather than each loan alone. */
  readonly perBorrower: boolean;
  private readonly trajectories = new Map<string, Trajectory>();

  constructor(
    readonly policy: Policy,
    private readonly settings: RunSettings,
  ) {
    this.tally = emptyTally(settings.days);
    this.rules = checkRulesOf(policy);
    this.perBorrower = rulesOf(policy).capsPer === "borrower";
  }

  private get endMs(): number {
    return this.settings.startMs + this.settings.days * DAY_MS;
  }

  /** A single-loan borrower: look up (or compute once) the trajectory its inputs determine. */
  single(key: string, payDay: number | null, build: () => PortfolioLoan): void {
    let trajectory = this.trajectories.get(key);
    const loan = trajectory ? undefined : build();
    if (!trajectory && loan) {
      // The never-paying trajectory: a full payment only stops the case, so a paying loan sees a prefix.
      const [log] = simulateBorrower([{ loan, paysAt: [] }], this.policy, this.settings.startMs, this.endMs);
      const full = log as EventLog;
      const contacts: CheckedContact[] = [];
      const messageAt: number[] = [];
      full.code.forEach((code, i) => {
        if (!isMessage(code)) return;
        contacts.push({ at: full.at[i] as number, sms: messageOf(code).channel === "sms" });
        messageAt.push(i);
      });
      const masks = new Uint8Array(full.code.length);
      checkContacts(contacts, loan.borrower.timeZone, this.rules).forEach((m, j) => {
        masks[messageAt[j] as number] = m;
      });
      const handOff = full.code.indexOf(EV.HAND_OFF);
      trajectory = {
        log: full,
        masks,
        handOffAt: handOff >= 0 ? (full.at[handOff] as number) : Number.POSITIVE_INFINITY,
        cuts: new Map(),
        counts: new Map(),
      };
      this.trajectories.set(key, trajectory);
      this.tally.distinctTrajectories++;
    }
    const t = trajectory as Trajectory;
    let payAt = Number.POSITIVE_INFINITY;
    let cut = t.log.at.length;
    if (payDay !== null) {
      let known = t.cuts.get(payDay);
      if (!known) {
        const [zone, dueDate] = key.split("|") as [string, string];
        const at = paymentInstant(
          dueDate,
          payDay,
          this.settings.payments.paymentTime,
          zone,
          this.settings.startMs,
        );
        let n = 0;
        while (n < t.log.at.length && (t.log.at[n] as number) < at) n++;
        known = { payAt: at, cut: n };
        t.cuts.set(payDay, known);
      }
      payAt = known.payAt;
      cut = known.cut;
    }
    t.counts.set(cut, (t.counts.get(cut) ?? 0) + 1);
    this.tally.memoisedLoans++;
    const late = (payDay ?? 0) > 0;
    this.classify(late, payAt < this.endMs, t.handOffAt < payAt && t.handOffAt < this.endMs);
  }

  /** When each payment of a loan arrives, in time order. */
  private paymentsOf({ loan, payDays }: IndividualLoan): number[] {
    const { paymentTime } = this.settings.payments;
    const zone = loan.borrower.timeZone;
    return dueDatesOf(loan)
      .flatMap((dueDate, k) => {
        const day = payDays[k] ?? null;
        return day === null ? [] : [paymentInstant(dueDate, day, paymentTime, zone, this.settings.startMs)];
      })
      .sort((a, b) => a - b);
  }

  /**
   * Loans that share no trajectory — a borrower's several loans (one contact history), or a loan on a schedule,
   * whose installments are paid each on a day of their own — every loan through the domain.
   */
  individually(loans: IndividualLoan[]): void {
    const sim: SimLoan[] = loans.map((l) => ({ loan: l.loan, paysAt: this.paymentsOf(l) }));
    const logs = simulateBorrower(sim, this.policy, this.settings.startMs, this.endMs);
    // The checker counts caps over what the policy caps: each loan alone, or the borrower's loans together.
    const groups: CheckedContact[][] = this.perBorrower ? [[]] : logs.map(() => []);
    logs.forEach((log, i) => {
      this.addEvents(log, log.at.length, 1, null);
      const group = groups[this.perBorrower ? 0 : i] as CheckedContact[];
      log.code.forEach((code, j) => {
        if (isMessage(code)) group.push({ at: log.at[j] as number, sms: messageOf(code).channel === "sms" });
      });
      const { loan, payDays } = loans[i] as IndividualLoan;
      // A schedule is paid late when any installment was; a single due date by its payment day.
      const late = loan.schedule ? log.code.includes(EV.INSTALLMENT_LATE) : (payDays[0] ?? 0) > 0;
      this.classify(late, log.code.includes(EV.PAID), log.code.includes(EV.HAND_OFF));
      if (loan.schedule) this.countSchedule(loan.schedule.map((s) => s.dueDate));
    });
    const zone = loans[0]?.loan.borrower.timeZone ?? "UTC";
    for (const contacts of groups) {
      contacts.sort((a, b) => a.at - b.at);
      for (const mask of checkContacts(contacts, zone, this.rules)) this.addViolations(mask, 1);
    }
    this.tally.individualLoans += loans.length;
    if (loans.length > 1) this.tally.multiLoanBorrowers++;
  }

  /** A loan on a schedule: how many of its installments fall due within the run. */
  private countSchedule(dueDates: string[]): void {
    const lastDay = new Date(this.endMs - DAY_MS).toISOString().slice(0, 10);
    this.tally.installments.loans++;
    this.tally.installments.due += dueDates.filter((d) => d <= lastDay).length;
  }

  private classify(late: boolean, paid: boolean, handedOff: boolean): void {
    const f = this.tally.funnel;
    f.subscribed++;
    if (handedOff) {
      f.reachedHandOff++;
      if (paid) f.paidAfterHandOff++;
    } else if (paid) {
      if (late) f.paidInSoftCollection++;
      else f.paidBeforeDue++;
    } else f.openAtEnd++;
  }

  private addViolations(mask: number, n: number): void {
    const v = this.tally.violations;
    if (mask & VIOLATION.WINDOW) v.outsideWindow += n;
    if (mask & VIOLATION.QUIET_DAY) v.quietDay += n;
    if (mask & VIOLATION.SMS_DAILY_CAP) v.smsDailyCap += n;
    if (mask & VIOLATION.CONTACTS_7_DAY_CAP) v.contacts7DayCap += n;
  }

  /** Counts the first `cut` events of a log `n` times (with their violations when masks are given). */
  private addEvents(log: EventLog, cut: number, n: number, masks: Uint8Array | null): void {
    const t = this.tally;
    for (let i = 0; i < cut; i++) {
      const code = log.code[i] as number;
      const day = Math.floor(((log.at[i] as number) - this.settings.startMs) / DAY_MS);
      if (isMessage(code)) {
        const { channel, preDue } = messageOf(code);
        const perDay = t.perDay[channel];
        perDay[day] = (perDay[day] ?? 0) + n;
        t.messages[channel][preDue ? "preDue" : "softCollection"] += n;
        continue;
      }
      switch (code) {
        case EV.DEFER_WINDOW:
          t.deferrals.contact_window += n;
          break;
        case EV.DEFER_QUIET_DAY:
          t.deferrals.quiet_day += n;
          break;
        case EV.DEFER_DAILY_CAP:
          t.deferrals.sms_daily_cap += n;
          break;
        case EV.DEFER_7_DAY_CAP:
          t.deferrals.contacts_7_day_cap += n;
          break;
        case EV.SUPPRESS_DAILY_CAP:
          t.suppressions.sms_daily_cap += n;
          break;
        case EV.SUPPRESS_7_DAY_CAP:
          t.suppressions.contacts_7_day_cap += n;
          break;
        case EV.FALLBACK:
          t.fallbacks += n;
          break;
        case EV.INSTALLMENT_ON_TIME:
          t.installments.paidOnTime += n;
          break;
        case EV.INSTALLMENT_LATE:
          t.installments.paidLate += n;
          break;
        case EV.CURED:
          t.installments.cures += n;
          break;
      }
      if (masks) this.addViolations(masks[i] as number, n);
    }
  }

  /** Expands the shared trajectories into the tally: each prefix once, times the loans that saw it. */
  finish(): Tally {
    for (const t of this.trajectories.values()) {
      for (const [cut, n] of t.counts) this.addEvents(t.log, cut, n, t.masks);
      t.counts.clear();
    }
    return this.tally;
  }
}

export type Progress = (loansDone: number) => void;

/** How often (in positions: loan indices, or borrowers of a supplied portfolio) a run reports progress. */
const PROGRESS_EVERY = 5000;

function runners(settings: RunSettings): PolicyRun[] {
  return settings.policies.map((policy) => new PolicyRun(policy, settings));
}

const reachOf = (loan: PortfolioLoan): number =>
  (loan.borrower.phone ? 1 : 0) + (loan.borrower.email ? 2 : 0);

/**
 * A run driven a part at a time (`advance(to)` works the positions before `to`, loan indices or supplied borrowers,
 * and answers the loans done), then finished once: one tally per policy, the same however the run was cut.
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

/** Supplied borrowers as a stepped run (a position is a borrower). */
export function borrowersRun(borrowers: readonly BorrowerLoans[], settings: RunSettings): SteppedRun {
  const runs = runners(settings);
  const draw = paymentDraw(settings.payments, settings.seed);
  let next = 0;
  let done = 0;
  return {
    from: 0,
    to: borrowers.length,
    advance(to) {
      for (; next < Math.min(to, borrowers.length); next++) {
        const { loans: entries } = borrowers[next] as BorrowerLoans;
        const loans = entries.map(({ index, loan }) => ({ loan, payDays: payDaysOf(draw, index, loan) }));
        for (const run of runs) {
          const only = loans[0];
          if (loans.length === 1 && only && !only.loan.schedule && settings.memoise !== false) {
            const { loan } = only;
            const key = `${loan.borrower.timeZone}|${loan.dueDate}|${reachOf(loan)}`;
            run.single(key, only.payDays[0] ?? null, () => loan);
          } else run.individually(loans);
        }
        done += loans.length;
      }
      return done;
    },
    finish: () => runs.map((r) => r.finish()),
  };
}

/** Runs supplied borrowers; returns one tally per policy. */
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
 * is only materialised when its trajectory is not known yet. Splitting by zone keeps each distinct trajectory in one
 * worker. A multi-loan borrower is run at its first loan, so a part may end anywhere.
 */
export function syntheticRun(slice: SyntheticSlice, settings: RunSettings): SteppedRun {
  const runs = runners(settings);
  const draw = paymentDraw(settings.payments, settings.seed);
  const options = slice.portfolio;
  const zones = options.zones ?? SYNTHETIC_ZONES;
  const dueDates = Array.from({ length: options.dueDays }, (_, d) => plusDays(options.firstDueDate, d));
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
          const payDay = draw(i);
          for (const run of runs) run.single(key, payDay, () => syntheticLoan(i, options));
          done++;
        } else if (group.first === i) {
          // A borrower's several loans, or a loan on a schedule: through the domain one by one.
          const loans = Array.from({ length: group.size }, (_, k) => {
            const loan = syntheticLoan(i + k, options);
            return { loan, payDays: payDaysOf(draw, i + k, loan) };
          });
          for (const run of runs) run.individually(loans);
          done += group.size;
        }
      }
      return done;
    },
    finish: () => runs.map((r) => r.finish()),
  };
}

/** Runs a slice of a synthetic portfolio (see syntheticRun); returns one tally per policy. */
export function runSynthetic(slice: SyntheticSlice, settings: RunSettings, progress?: Progress): Tally[] {
  return runAll(syntheticRun(slice, settings), progress);
}
