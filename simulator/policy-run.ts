import { type Policy, rulesOf } from "../functions/domain/policy.ts";
import { type CheckedContact, type CheckRules, checkContacts, checkRulesOf, VIOLATION } from "./checker.ts";
import { EV, type EventLog, isMessage, messageOf, paymentInstant, simulateBorrower } from "./engine.ts";
import { dueDatesOf, type PortfolioLoan } from "./portfolio.ts";
import { DAY_MS, type RunSettings } from "./settings.ts";
import { emptyTally, type Tally } from "./tally.ts";

interface Trajectory {
  log: EventLog;
  /** Violation mask per event (0 for events that are not messages). */
  masks: Uint8Array;
  handOffAt: number;
  /** Events before the payment, by payment day (memo of the cut). */
  cuts: Map<number, { payAt: number; cut: number }>;
}

const endOf = (settings: RunSettings) => settings.startMs + settings.days * DAY_MS;

/**
 * A policy's trajectories for single-loan borrowers: a borrower with one loan follows a trajectory that depends only
 * on the policy, the zone, the due date and the reachable channels, so each is computed once, for every line that
 * runs the policy.
 */
export class TrajectoryBook {
  readonly rules: CheckRules;
  /** Caps count the borrower's loans together (policy capsPer "borrower") rather than each loan alone. */
  readonly perBorrower: boolean;
  private readonly trajectories = new Map<string, Trajectory>();

  constructor(
    readonly policy: Policy,
    private readonly settings: RunSettings,
  ) {
    this.rules = checkRulesOf(policy);
    this.perBorrower = rulesOf(policy).capsPer === "borrower";
  }

  /** The trajectory of `key` ("zone|dueDate|reach"), and whether it was computed just now. */
  find(key: string, build: () => PortfolioLoan): { trajectory: Trajectory; fresh: boolean } {
    const known = this.trajectories.get(key);
    if (known) return { trajectory: known, fresh: false };
    const loan = build();
    // The never-paying trajectory: a full payment only stops the case, so a paying loan sees a prefix.
    const [log] = simulateBorrower(
      [{ loan, paysAt: [] }],
      this.policy,
      this.settings.startMs,
      endOf(this.settings),
    );
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
    const trajectory: Trajectory = {
      log: full,
      masks,
      handOffAt: handOff >= 0 ? (full.at[handOff] as number) : Number.POSITIVE_INFINITY,
      cuts: new Map(),
    };
    this.trajectories.set(key, trajectory);
    return { trajectory, fresh: true };
  }

  /** When a payment `payDay` days from the due date arrives, and how many events of the trajectory precede it. */
  cut(t: Trajectory, key: string, payDay: number): { payAt: number; cut: number } {
    let known = t.cuts.get(payDay);
    if (!known) {
      const [zone, dueDate] = key.split("|") as [string, string];
      const { paymentTime } = this.settings.payments;
      const at = paymentInstant(dueDate, payDay, paymentTime, zone, this.settings.startMs);
      let n = 0;
      while (n < t.log.at.length && (t.log.at[n] as number) < at) n++;
      known = { payAt: at, cut: n };
      t.cuts.set(payDay, known);
    }
    return known;
  }
}

/** A loan run through the domain on its own, with the day each of its due dates is paid (null: never) and its line. */
export interface IndividualLoan {
  loan: PortfolioLoan;
  payDays: (number | null)[];
  run: LineRun;
}

/** One line's running count (a policy's, or a strategy's segment and arm): what its loans did. */
export class LineRun {
  readonly tally: Tally;
  /** How many loans saw the first n events of a shared trajectory, by trajectory and n. */
  private readonly seen = new Map<Trajectory, Map<number, number>>();

  constructor(
    readonly book: TrajectoryBook,
    private readonly settings: RunSettings,
  ) {
    this.tally = emptyTally(settings.days);
  }

  /** A single-loan borrower: its part of the trajectory its inputs determine, up to its payment. */
  single(key: string, payDay: number | null, build: () => PortfolioLoan): void {
    const { trajectory: t, fresh } = this.book.find(key, build);
    if (fresh) this.tally.distinctTrajectories++;
    const { payAt, cut } =
      payDay === null
        ? { payAt: Number.POSITIVE_INFINITY, cut: t.log.at.length }
        : this.book.cut(t, key, payDay);
    let counts = this.seen.get(t);
    if (!counts) {
      counts = new Map();
      this.seen.set(t, counts);
    }
    counts.set(cut, (counts.get(cut) ?? 0) + 1);
    this.tally.memoisedLoans++;
    const endMs = endOf(this.settings);
    this.classify((payDay ?? 0) > 0, payAt < endMs, t.handOffAt < payAt && t.handOffAt < endMs);
  }

  /** A loan on a schedule: how many of its installments fall due within the run. */
  countSchedule(dueDates: string[]): void {
    const lastDay = new Date(endOf(this.settings) - DAY_MS).toISOString().slice(0, 10);
    this.tally.installments.loans++;
    this.tally.installments.due += dueDates.filter((d) => d <= lastDay).length;
  }

  classify(late: boolean, paid: boolean, handedOff: boolean): void {
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

  addViolations(mask: number, n: number): void {
    const v = this.tally.violations;
    if (mask & VIOLATION.WINDOW) v.outsideWindow += n;
    if (mask & VIOLATION.QUIET_DAY) v.quietDay += n;
    if (mask & VIOLATION.SMS_DAILY_CAP) v.smsDailyCap += n;
    if (mask & VIOLATION.CONTACTS_7_DAY_CAP) v.contacts7DayCap += n;
  }

  /** Counts the first `cut` events of a log `n` times (with their violations when masks are given). */
  addEvents(log: EventLog, cut: number, n: number, masks: Uint8Array | null): void {
    const t = this.tally;
    for (let i = 0; i < cut; i++) {
      const code = log.code[i] as number;
      const day = Math.floor(((log.at[i] as number) - this.settings.startMs) / DAY_MS);
      if (isMessage(code)) {
        const { channel, preDue } = messageOf(code);
        const perDay = t.perDay[channel];
        perDay[day] = (perDay[day] ?? 0) + n;
        t.messages[channel][preDue ? "preDue" : "softCollection"] += n;
      } else countEvent(t, code, n);
      if (masks) this.addViolations(masks[i] as number, n);
    }
  }

  /** Expands the shared trajectories into the tally: each prefix once, times the loans that saw it. */
  finish(): Tally {
    for (const [t, counts] of this.seen) {
      for (const [cut, n] of counts) this.addEvents(t.log, cut, n, t.masks);
    }
    this.seen.clear();
    return this.tally;
  }
}

/** An event that is not a message, counted `n` times. */
function countEvent(t: Tally, code: number, n: number): void {
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
}

/** When each payment of a loan arrives, in time order. */
function paymentsOf({ loan, payDays }: IndividualLoan, settings: RunSettings): number[] {
  const { paymentTime } = settings.payments;
  const zone = loan.borrower.timeZone;
  return dueDatesOf(loan)
    .flatMap((dueDate, k) => {
      const day = payDays[k] ?? null;
      return day === null ? [] : [paymentInstant(dueDate, day, paymentTime, zone, settings.startMs)];
    })
    .sort((a, b) => a - b);
}

/**
 * Loans that share no trajectory — a borrower's several loans (one contact history), or a loan on a schedule, whose
 * installments are paid each on a day of their own — through the domain together, each on its line's policy, and
 * counted on its line.
 */
export function runIndividually(loans: IndividualLoan[], settings: RunSettings): void {
  const first = loans[0];
  if (!first) return;
  const sim = loans.map((l) => ({
    loan: l.loan,
    paysAt: paymentsOf(l, settings),
    policy: l.run.book.policy,
  }));
  const logs = simulateBorrower(sim, first.run.book.policy, settings.startMs, endOf(settings));
  logs.forEach((log, i) => {
    const { loan, payDays, run } = loans[i] as IndividualLoan;
    run.addEvents(log, log.at.length, 1, null);
    // A schedule is paid late when any installment was; a single due date by its payment day.
    const late = loan.schedule ? log.code.includes(EV.INSTALLMENT_LATE) : (payDays[0] ?? 0) > 0;
    run.classify(late, log.code.includes(EV.PAID), log.code.includes(EV.HAND_OFF));
    if (loan.schedule) run.countSchedule(loan.schedule.map((s) => s.dueDate));
  });
  checkIndividually(loans, logs, first.loan.borrower.timeZone);
  for (const run of new Set(loans.map((l) => l.run))) {
    const own = loans.filter((l) => l.run === run).length;
    run.tally.individualLoans += own;
    if (loans.length > 1) run.tally.multiLoanBorrowers++;
  }
}

/**
 * The checker over a borrower's contacts, each loan by its own policy's rules: its caps count its own contacts, or
 * under a policy that caps per borrower, the contacts of every loan of the borrower whose policy does too. A
 * violation is counted on the line of the loan whose contact broke the rule.
 */
function checkIndividually(loans: IndividualLoan[], logs: EventLog[], zone: string): void {
  const owned = logs.map((log, owner) =>
    log.code.flatMap((code, j) =>
      isMessage(code) ? [{ at: log.at[j] as number, sms: messageOf(code).channel === "sms", owner }] : [],
    ),
  );
  const pooled = owned
    .filter((_, i) => (loans[i] as IndividualLoan).run.book.perBorrower)
    .flat()
    .sort((a, b) => a.at - b.at);
  loans.forEach(({ run }, i) => {
    const contacts = run.book.perBorrower ? pooled : (owned[i] ?? []);
    checkContacts(contacts, zone, run.book.rules).forEach((mask, k) => {
      if (contacts[k]?.owner === i) run.addViolations(mask, 1);
    });
  });
}
