import type { Policy } from "../../functions/domain/policy.ts";
import { paymentInstant, simulateBorrower, type WakeRecord } from "../engine.ts";
import { zoneHash } from "../orchestrator.ts";
import { type PaymentDraw, type PaymentModel, paymentDraw } from "../payments.ts";
import {
  dueDatesOf,
  mixSeed,
  type PortfolioLoan,
  plusDays,
  SYNTHETIC_ZONES,
  type SyntheticPortfolioOptions,
  seededRandom,
  syntheticLoan,
  syntheticShape,
  syntheticZoneIndex,
} from "../portfolio.ts";

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
/** How long a loan's plan is followed: past a 12-month schedule's last installment and its hand-off. */
export const PLANNED_LIFE_DAYS = 450;

/** Where the plan's loans come from: the simulator's synthetic portfolio, or the loans of a file. */
export type CapacityPortfolio =
  | { kind: "synthetic"; options: SyntheticPortfolioOptions }
  | { kind: "loans"; loans: { index: number; loan: PortfolioLoan }[] };

export interface PlanSettings {
  policy: Policy;
  payments: PaymentModel;
  seed: number;
  /** A loan is subscribed this many days (drawn uniformly, to the minute) before its (first) due date at 00:00 UTC. */
  leadDays: number;
}

/** One loan of the sample, ready to plan: when it is subscribed, when its payments arrive, how many loans it stands for. */
export interface SampledLoan {
  /** Borrower zone, (first) due date, reachable channels: what a loan with one due date shares its plan by. */
  zone: string;
  dueDate: string;
  reach: string;
  onSchedule: boolean;
  /** The loan itself, built only when its plan is not known yet (strings cost time at this scale). */
  loan: () => PortfolioLoan;
  subscribeAt: number;
  paysAt: number[];
  weight: number;
}

/** What the sample needs of a portfolio position, without building the loan. */
interface Pick {
  index: number;
  zone: string;
  dueDates: string[];
  reach: string;
  onSchedule: boolean;
  loan: () => PortfolioLoan;
}

const reachOf = (phone: boolean, email: boolean) => `${phone ? "p" : ""}${email ? "e" : ""}`;

function syntheticPick(index: number, options: SyntheticPortfolioOptions, dueDates: string[]): Pick {
  const shape = syntheticShape(index, options);
  const loan = () => syntheticLoan(index, options);
  const zone = (options.zones ?? SYNTHETIC_ZONES)[shape.zoneIndex] as string;
  const dueDate = dueDates[shape.dueDay] as string;
  const onSchedule = shape.installments > 0;
  // Installment due dates come from the loan itself (only schedule loans build it here: few are planned).
  return {
    index,
    zone,
    dueDates: onSchedule ? dueDatesOf(loan()) : [dueDate],
    reach: reachOf((shape.reach & 1) === 1, (shape.reach & 2) === 2),
    onSchedule,
    loan,
  };
}

function filePick(entry: { index: number; loan: PortfolioLoan }): Pick {
  const { loan } = entry;
  return {
    index: entry.index,
    zone: loan.borrower.timeZone,
    dueDates: dueDatesOf(loan),
    reach: reachOf(!!loan.borrower.phone, !!loan.borrower.email),
    onSchedule: !!loan.schedule,
    loan: () => loan,
  };
}

/** Payment instants by "zone|due date|day": the same few recur for every loan of a zone and due date. */
type PaymentInstants = Map<string, number>;

/** The draws of a loan: its lead (a share of `leadDays`) and its payment days, each from a stream of its own. */
function sampled(
  pick: Pick,
  settings: PlanSettings,
  draw: PaymentDraw,
  instants: PaymentInstants,
  weight: number,
): SampledLoan {
  const lead = seededRandom(mixSeed(settings.seed ^ 0x3c6ef372, pick.index))();
  const firstDue = Date.parse(`${pick.dueDates[0]}T00:00:00Z`);
  const subscribeAt = firstDue - Math.floor((lead * settings.leadDays * DAY_MS) / MINUTE_MS) * MINUTE_MS;
  const instant = (dueDate: string, day: number) => {
    const key = `${pick.zone}|${dueDate}|${day}`;
    let at = instants.get(key);
    if (at === undefined) {
      at = paymentInstant(dueDate, day, settings.payments.paymentTime, pick.zone, Number.NEGATIVE_INFINITY);
      instants.set(key, at);
    }
    // A payment dated before the subscription arrives with it.
    return Math.max(at, subscribeAt);
  };
  const paysAt = pick.dueDates
    .flatMap((dueDate, k) => {
      const day = pick.onSchedule ? draw(pick.index, k) : draw(pick.index);
      return day === null ? [] : [instant(dueDate, day)];
    })
    .sort((a, b) => a - b);
  const { zone, reach, onSchedule, loan } = pick;
  return { zone, dueDate: pick.dueDates[0] as string, reach, onSchedule, loan, subscribeAt, paysAt, weight };
}

/**
 * A uniform sample (with replacement, seeded) of `size` loans out of `loans`, each standing for loans / size. A file
 * with no more loans than the sample is taken whole. Loans on a schedule share no plan with another loan and cost
 * about fifty times as much to plan, so at most `maxIndividual` of them are planned, each standing for its share of
 * the sample's schedule loans.
 */
export function sampleLoans(
  portfolio: CapacityPortfolio,
  loans: number,
  size: number,
  settings: PlanSettings,
  maxIndividual: number,
  share: SampleShare = { part: 0, parts: 1 },
): SampledLoan[] {
  const positions = pickIndices(portfolio, size, settings.seed);
  const weight = loans / positions.length;
  let pickAt: (position: number) => Pick;
  let zoneAt: (position: number) => string;
  if (portfolio.kind === "synthetic") {
    const o = portfolio.options;
    const zones = o.zones ?? SYNTHETIC_ZONES;
    const dueDates = Array.from({ length: o.dueDays }, (_, d) => plusDays(o.firstDueDate, d));
    pickAt = (i) => syntheticPick(i, o, dueDates);
    zoneAt = (i) => zones[syntheticZoneIndex(i, zones.length)] as string;
  } else {
    const entryAt = (i: number) => portfolio.loans[i] as { index: number; loan: PortfolioLoan };
    pickAt = (i) => filePick(entryAt(i));
    zoneAt = (i) => entryAt(i).loan.borrower.timeZone;
  }
  const picks = positions.filter((i) => zoneHash(zoneAt(i)) % share.parts === share.part).map(pickAt);
  const single = picks.filter((p) => !p.onSchedule);
  const schedules = picks.filter((p) => p.onSchedule);
  const planned = schedules.slice(0, Math.ceil(maxIndividual / share.parts));
  const scheduleWeight = planned.length > 0 ? (weight * schedules.length) / planned.length : 0;
  const draw = paymentDraw(settings.payments, settings.seed);
  const instants: PaymentInstants = new Map();
  return [
    ...single.map((p) => sampled(p, settings, draw, instants, weight)),
    ...planned.map((p) => sampled(p, settings, draw, instants, scheduleWeight)),
  ];
}

/** Which of `parts` workers plans a sample's loans: by zone, so each shared plan is computed by one worker only. */
export interface SampleShare {
  part: number;
  parts: number;
}

/** Positions in the portfolio to plan: all of a file no larger than the sample, else `size` uniform draws. */
function pickIndices(portfolio: CapacityPortfolio, size: number, seed: number): number[] {
  const count = portfolio.kind === "synthetic" ? portfolio.options.count : portfolio.loans.length;
  if (count <= size) return Array.from({ length: count }, (_, i) => i);
  const random = seededRandom(mixSeed(seed ^ 0x9e3779b9, 0x5a17));
  return Array.from({ length: size }, () => Math.floor(random() * count));
}

/** The synthetic portfolio of a capacity plan: due dates spread over the month, zones round-robin. */
export function monthPortfolio(
  count: number,
  seed: number,
  startDate: string,
  days: number,
  installmentShare: number,
): CapacityPortfolio {
  return {
    kind: "synthetic",
    options: {
      count,
      seed,
      firstDueDate: startDate,
      dueDays: days,
      zones: SYNTHETIC_ZONES,
      installmentShare,
    },
  };
}

/**
 * Plans loans with the product's own domain (subscribe, then the workflow's step transition at every wake), and
 * hands back each loan's wakes and payments in time order. A loan with one due date follows the plan every
 * loan of its zone, due date and contact details shares, computed once from before its first step: subscribed
 * later, it sees the part after its subscription (the steps before are passed over), and a payment ends it. A loan on
 * a schedule is planned on its own, payments and re-plans included.
 */
export class LoanPlanner {
  private readonly shared = new Map<string, WakeRecord[]>();

  constructor(private readonly settings: PlanSettings) {}

  /** Plans that were computed with the domain so far. */
  get distinctPlans(): number {
    return this.shared.size;
  }

  wakes(s: SampledLoan): WakeRecord[] {
    const endMs = s.subscribeAt + PLANNED_LIFE_DAYS * DAY_MS;
    if (s.onSchedule) {
      const records: WakeRecord[] = [];
      const loan = { loan: s.loan(), paysAt: s.paysAt };
      simulateBorrower([loan], this.settings.policy, s.subscribeAt, endMs, (r) => records.push(r));
      return records;
    }
    const plan = this.sharedPlan(s);
    const payAt = s.paysAt[0] ?? Number.POSITIVE_INFINITY;
    const after = plan.filter((r) => r.at > s.subscribeAt && r.at < payAt && r.at < endMs);
    const next = plan.find((r) => r.at > s.subscribeAt)?.at ?? Number.POSITIVE_INFINITY;
    const out: WakeRecord[] = [
      { loan: 0, at: s.subscribeAt, kind: "subscribe", channels: [], next },
      ...after,
    ];
    if (payAt < endMs) {
      const never = Number.POSITIVE_INFINITY;
      out.push({ loan: 0, at: payAt, kind: "payment", channels: [], payment: "paid", next: never });
    }
    return out;
  }

  private sharedPlan(s: SampledLoan): WakeRecord[] {
    const key = `${s.zone}|${s.dueDate}|${s.reach}`;
    let plan = this.shared.get(key);
    if (!plan) {
      // Subscribed before the policy's earliest step, and never paying: every later subscription sees a part of it.
      const earliest = Math.min(0, ...this.settings.policy.steps.map((step) => step.offsetDays));
      const from = Date.parse(`${s.dueDate}T00:00:00Z`) + (earliest - 2) * DAY_MS;
      const records: WakeRecord[] = [];
      const loan = { loan: s.loan(), paysAt: [] };
      simulateBorrower([loan], this.settings.policy, from, from + PLANNED_LIFE_DAYS * DAY_MS, (r) => {
        if (r.kind !== "subscribe") records.push(r);
      });
      plan = records;
      this.shared.set(key, plan);
    }
    return plan;
  }
}
