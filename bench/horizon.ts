import { DEFAULT_POLICY } from "../functions/domain/policy.ts";
import { DEFAULT_HORIZON_DAYS } from "../functions/domain/workflow-horizon.ts";
import { MAX_EXECUTION_DAYS } from "../functions/usecases/workflow-steps.ts";
import { simulateBorrower } from "../simulator/engine.ts";
import { type PortfolioLoan, SYNTHETIC_ZONES } from "../simulator/portfolio.ts";

const DAY_MS = 86_400_000;
/** The waker runs every five minutes (the reconciler's schedule). */
const WAKER_PERIOD_MS = 5 * 60_000;
/** Open executions are sampled once an hour over the run. */
const SAMPLE_MS = 3_600_000;
/** Time zones the portfolio's borrowers live in. */
const ZONES = 4;

/** One execution's life: from its start to its end (ms). */
interface Interval {
  from: number;
  to: number;
}

export interface HorizonRun {
  loans: number;
  /** Distinct (zone, due date) plans the portfolio shares. */
  plans: number;
  days: number;
  withHorizon: OpenFigures;
  withoutHorizon: OpenFigures;
}

export interface OpenFigures {
  horizonDays: number;
  peakOpen: number;
  meanOpen: number;
  /** StartExecution calls over the run: subscriptions, wakes and hand-overs. */
  starts: number;
  /** Loans that held no execution when they were subscribed. */
  parkedAtSubscription: number;
}

/**
 * When a loan's workflow acts, by the product's own planning on the default policy: every wake of a loan due on
 * `dueDate` in `zone`, subscribed at `startMs`, that never pays (the longest life: through to the hand-off).
 */
function actionsOf(zone: string, dueDate: string, startMs: number, endMs: number): number[] {
  const loan: PortfolioLoan = {
    loanId: `${zone}-${dueDate}`,
    borrower: {
      name: "Li Wei",
      phone: "+8613800138000",
      email: "li.wei@example.com",
      locale: "zh-CN",
      timeZone: zone,
    },
    amountDue: { amount: "1250.00", currency: "CNY" },
    dueDate,
  };
  const wakes: number[] = [];
  simulateBorrower([{ loan, paysAt: [] }], DEFAULT_POLICY, startMs, endMs, (record) => {
    if (record.next !== Number.POSITIVE_INFINITY && !wakes.includes(record.next)) wakes.push(record.next);
  });
  return wakes.sort((a, b) => a - b);
}

/**
 * The executions a loan holds, as the workflow runs it: without a horizon, one from its subscription to its last
 * action (handing over every 350 days); with one, an execution only from the waker run that finds the next action
 * within the horizon until that action, parking again whenever the following action is beyond it.
 */
export function executionsOf(subscribedAt: number, actions: number[], horizonDays: number): Interval[] {
  const last = actions.at(-1);
  if (last === undefined) return [];
  if (horizonDays <= 0) {
    const out: Interval[] = [];
    for (let from = subscribedAt; from < last; from += MAX_EXECUTION_DAYS * DAY_MS) {
      out.push({ from, to: Math.min(last, from + MAX_EXECUTION_DAYS * DAY_MS) });
    }
    return out;
  }
  const horizonMs = horizonDays * DAY_MS;
  const out: Interval[] = [];
  let at = subscribedAt;
  let open: number | null = null;
  for (const action of actions) {
    if (open === null) {
      // Parked: the first waker run at or after the action's entry into the horizon starts it.
      const entry = action - horizonMs;
      open = entry <= at ? at : Math.ceil(entry / WAKER_PERIOD_MS) * WAKER_PERIOD_MS;
    }
    at = action;
    const following = actions[actions.indexOf(action) + 1];
    if (following === undefined || following - action > horizonMs) {
      out.push({ from: open, to: action });
      open = null;
    }
  }
  return out;
}

function openFigures(
  portfolio: { subscribedAt: number; actions: number[]; weight: number }[],
  horizonDays: number,
  span: Interval,
): OpenFigures {
  const samples = new Float64Array(Math.ceil((span.to - span.from) / SAMPLE_MS) + 1);
  let starts = 0;
  let parkedAtSubscription = 0;
  for (const { subscribedAt, actions, weight } of portfolio) {
    const executions = executionsOf(subscribedAt, actions, horizonDays);
    starts += executions.length * weight;
    if ((executions[0]?.from ?? Number.POSITIVE_INFINITY) > subscribedAt) parkedAtSubscription += weight;
    for (const { from, to } of executions) {
      const first = Math.max(0, Math.ceil((from - span.from) / SAMPLE_MS));
      const end = Math.min(samples.length, Math.ceil((to - span.from) / SAMPLE_MS));
      for (let i = first; i < end; i++) samples[i] = (samples[i] as number) + weight;
    }
  }
  let peak = 0;
  let sum = 0;
  for (const n of samples) {
    peak = Math.max(peak, n);
    sum += n;
  }
  return { horizonDays, peakOpen: peak, meanOpen: sum / samples.length, starts, parkedAtSubscription };
}

/**
 * `loans` subscribed on one day, due dates spread evenly over the following year, borrowers spread over the
 * simulator's time zones: how many executions are open at once, with the horizon and without it. Loans sharing a
 * zone and a due date share a plan, so the product's planning runs once per (zone, day).
 */
export function measureHorizon(loans: number, start = "2026-01-05"): HorizonRun & { seconds: number } {
  const began = performance.now();
  const startMs = Date.parse(`${start}T00:00:00Z`);
  const days = 365;
  const endMs = startMs + (days + 120) * DAY_MS;
  // A few zones of the simulator's list: a zone moves the plan by its offset, which the hourly samples hardly see.
  const zones = SYNTHETIC_ZONES.slice(0, ZONES);
  const plans = new Map<string, { subscribedAt: number; actions: number[]; weight: number }>();
  for (let i = 0; i < loans; i++) {
    const zone = zones[i % zones.length] as string;
    const due = new Date(startMs + (1 + Math.floor((i / loans) * days)) * DAY_MS).toISOString().slice(0, 10);
    const key = `${zone}|${due}`;
    const plan = plans.get(key);
    if (plan) plan.weight++;
    else plans.set(key, { subscribedAt: startMs, actions: actionsOf(zone, due, startMs, endMs), weight: 1 });
  }
  const portfolio = [...plans.values()];
  const span = { from: startMs, to: endMs };
  return {
    loans,
    plans: portfolio.length,
    days,
    withHorizon: openFigures(portfolio, DEFAULT_HORIZON_DAYS, span),
    withoutHorizon: openFigures(portfolio, 0, span),
    seconds: (performance.now() - began) / 1000,
  };
}
