import type { Channel } from "../../functions/domain/channels.ts";
import { MAX_EXECUTION_DAYS } from "../../functions/usecases/workflow-steps.ts";
import type { ActionCosts } from "./costs.ts";
import { countLoan, type ExecutionRules, MINUTE_MS, MonthLoad } from "./load.ts";
import {
  type CapacityPortfolio,
  LoanPlanner,
  type PlanSettings,
  type SampleShare,
  sampleLoans,
} from "./plan.ts";

const DAY_MS = 86_400_000;
/** The scheduled waker runs this often (rate(5 minutes)). */
export const WAKER_PERIOD_MS = 5 * MINUTE_MS;
/** Loans on a schedule planned one by one at most (each stands for its share of the sample's schedule loans). */
export const MAX_INDIVIDUAL_PLANS = 200;

/** What a capacity plan is asked; plain data, so a worker thread can be given it. */
export interface CapacityInput {
  /** Loans subscribed in a month (the portfolio the sample is drawn from). */
  loans: number;
  /** Loans actually planned; each stands for loans / sample. */
  sample: number;
  portfolio: CapacityPortfolio;
  settings: PlanSettings;
  /** The month: its first instant and its length in days. */
  startMs: number;
  days: number;
  /** A case whose next action is further away holds no execution; 0: no horizon. */
  horizonDays: number;
  /** Paced sending, messages per second per channel; a channel left out sends at its planned minute. */
  sendRates: Partial<Record<Channel, number>>;
  costs: ActionCosts;
  maxIndividualPlans?: number;
}

export interface LoadShare {
  load: MonthLoad;
  planned: number;
  /** Plans computed with the domain (the rest replay a shared one). */
  distinctPlans: number;
  /** Loans on a schedule planned one by one. */
  individual: number;
}

/** Plans one share of the sample with the domain and counts it into the month: the slow part, run per worker. */
export function loadShare(
  input: CapacityInput,
  share: SampleShare,
  onProgress?: (done: number) => void,
): LoadShare {
  const load = new MonthLoad(input.startMs, input.days * 1440);
  const sample = sampleLoans(
    input.portfolio,
    input.loans,
    input.sample,
    input.settings,
    input.maxIndividualPlans ?? MAX_INDIVIDUAL_PLANS,
    share,
  );
  const planner = new LoanPlanner(input.settings);
  const rules: ExecutionRules = {
    horizonMs: input.horizonDays > 0 ? input.horizonDays * DAY_MS : Number.POSITIVE_INFINITY,
    wakerPeriodMs: WAKER_PERIOD_MS,
    maxExecutionMs: MAX_EXECUTION_DAYS * DAY_MS,
    costs: input.costs,
  };
  sample.forEach((s, i) => {
    countLoan(load, planner.wakes(s), s.zone, s.weight, rules);
    if (onProgress && (i % 1000 === 999 || i === sample.length - 1)) onProgress(i + 1);
  });
  const individual = sample.filter((s) => s.onSchedule).length;
  return { load, planned: sample.length, distinctPlans: planner.distinctPlans, individual };
}
