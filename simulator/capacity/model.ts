import { Worker } from "node:worker_threads";
import type { Channel } from "../../functions/domain/channels.ts";
import { WAKE_PER_RUN } from "../../functions/usecases/workflow-health.ts";
import { memoiseDateMath, memoiseIsoParsing, memoiseZoneOffsets } from "../zone-offsets.ts";
import { MonthLoad } from "./load.ts";
import { contactWindowMask, type Paced, paceSends, paceWaker, totalOf } from "./pacing.ts";
import type { QuotaId } from "./quotas.ts";
import { type CapacityInput, type LoadShare, loadShare, WAKER_PERIOD_MS } from "./share.ts";
import type { CapacityJob, FromCapacityWorker } from "./worker.ts";

/** The waker starts eight at a time: about a hundred a second at the API's usual latency. */
export const WAKER_STARTS_PER_SECOND = 100;

/** Taking a place of a paced minute: one conditional ADD on a small counter item. */
const PLACE_WRITE_UNITS = 1;

/** The figures the plan follows minute by minute: each quota's, plus SMS as messages (the quota counts parts). */
export type SeriesId = QuotaId | "smsMessages";

export interface PacingSummary extends Omit<Paced, "sent" | "extraRounds"> {
  perSecond: number;
}

export interface CapacityResult {
  originMs: number;
  minutes: number;
  /** Per minute of the month: levels (open executions, concurrency) or per-second averages over the minute. */
  series: Record<SeriesId, Float64Array>;
  pacing: Partial<Record<Channel, PacingSummary>>;
  sample: {
    planned: number;
    /** Plans computed with the domain (the rest replay a shared one). */
    distinctPlans: number;
    /** Loans on a schedule planned one by one. */
    individual: number;
  };
}

export interface RunOptions {
  /** Worker threads; 0 plans in this thread. */
  workers: number;
  onProgress?: (done: number, total: number) => void;
}

function runWorker(job: CapacityJob, onProgress: (done: number) => void): Promise<LoadShare> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./worker-entry.mjs", import.meta.url), { workerData: job });
    let settled = false;
    worker.on("message", (message: FromCapacityWorker) => {
      if (message.type === "progress") return onProgress(message.done);
      settled = true;
      void worker.terminate();
      if (message.type === "failed") return reject(new Error(`capacity worker failed: ${message.message}`));
      const load = new MonthLoad(job.input.startMs, job.input.days * 1440);
      load.merge(message.load);
      resolve({ ...message, load });
    });
    worker.on("error", (error) => {
      settled = true;
      reject(error);
    });
    worker.on("exit", (code) => {
      if (!settled) reject(new Error(`capacity worker exited with code ${code}`));
    });
  });
}

/** The sample planned and counted, in this thread or split by zone over worker threads, then added up. */
async function monthLoad(input: CapacityInput, options: RunOptions): Promise<LoadShare> {
  const total = Math.min(
    input.sample,
    input.portfolio.kind === "synthetic" ? input.portfolio.options.count : input.portfolio.loans.length,
  );
  if (options.workers <= 0) {
    memoiseZoneOffsets();
    memoiseIsoParsing();
    memoiseDateMath();
    const share = loadShare(input, { part: 0, parts: 1 }, (done) => options.onProgress?.(done, total));
    options.onProgress?.(total, total);
    return share;
  }
  const done = new Array<number>(options.workers).fill(0);
  const shares = await Promise.all(
    Array.from({ length: options.workers }, (_, part) =>
      runWorker({ input, share: { part, parts: options.workers } }, (n) => {
        done[part] = n;
        options.onProgress?.(
          done.reduce((a, b) => a + b, 0),
          total,
        );
      }),
    ),
  );
  // Loans on a schedule beyond the planned few are never planned: the bar ends full all the same.
  options.onProgress?.(total, total);
  const load = new MonthLoad(input.startMs, input.days * 1440);
  for (const share of shares) load.merge(share.load.toData());
  const sum = (of: (s: LoadShare) => number) => shares.reduce((n, s) => n + of(s), 0);
  return {
    load,
    planned: sum((s) => s.planned),
    distinctPlans: sum((s) => s.distinctPlans),
    individual: sum((s) => s.individual),
  };
}

/** Messages per minute on one channel: as planned, or through a paced sender (with the rounds it adds). */
function sentPerMinute(
  load: MonthLoad,
  channel: Channel,
  input: CapacityInput,
): { sent: Float64Array; extraRounds?: Float64Array; pacing?: PacingSummary } {
  const arrivals = load.sends.get(channel) ?? new Map<string, Float64Array>();
  const rate = input.sendRates[channel];
  if (rate === undefined) return { sent: totalOf(arrivals.values(), load.minutes) };
  const window = input.settings.policy.contactWindow;
  const windows = new Map(
    [...arrivals.keys()].map((zone) => [zone, contactWindowMask(zone, window, load.originMs, load.minutes)]),
  );
  const { sent, extraRounds, ...summary } = paceSends(arrivals, windows, rate, load.minutes);
  return { sent, extraRounds, pacing: { ...summary, perSecond: rate } };
}

const perSecond = (perMinute: Float64Array) => perMinute.map((n) => n / 60);

/** Minute by minute over a month that repeats: what a portfolio asks of each AWS quota. */
export async function planCapacity(input: CapacityInput, options: RunOptions): Promise<CapacityResult> {
  const { load, planned, distinctPlans, individual } = await monthLoad(input, options);
  const c = input.costs;
  const sms = sentPerMinute(load, "sms", input);
  const email = sentPerMinute(load, "email", input);
  // A paced step sent later than planned goes round once more: one more task and three more transitions.
  const rounds = (m: number) => (sms.extraRounds?.[m] ?? 0) + (email.extraRounds?.[m] ?? 0);
  const period = WAKER_PERIOD_MS / 60_000;
  const woken = paceWaker(load.wakerStarts, WAKE_PER_RUN, WAKER_STARTS_PER_SECOND * 60, period);
  const starts = load.starts.map((n, m) => n + (woken[m] as number));
  const tasks = load.stepTasks.map(
    (n, m) => n + (load.planTasks[m] as number) + (woken[m] as number) + rounds(m),
  );
  const transitions = load.transitions.map(
    (n, m) => n + c.transitionsPerStep * rounds(m) + c.transitionsAtRestart * (woken[m] as number),
  );
  // Lambda: step and Plan tasks, one delivery-function run per email (its SES event), the API's calls.
  const lambdaSeconds = tasks.map(
    (n, m) => ((n + (email.sent[m] as number)) * c.taskMs + (load.apiCalls[m] as number) * c.apiMs) / 1000,
  );
  // A round to a later second re-reads the case and takes a place (one counter write); the step's own writes stay.
  const units = (perTask: number, perApi: number, perRound: number) =>
    tasks.map((n, m) => {
      const round = rounds(m);
      return ((n - round) * perTask + round * perRound + (load.apiCalls[m] as number) * perApi) / 60;
    });
  const pacing: Partial<Record<Channel, PacingSummary>> = {};
  if (sms.pacing) pacing.sms = sms.pacing;
  if (email.pacing) pacing.email = email.pacing;
  return {
    originMs: input.startMs,
    minutes: load.minutes,
    series: {
      openExecutions: load.openExecutions(),
      startExecution: perSecond(starts),
      stopExecution: perSecond(load.stops),
      stateTransitions: perSecond(transitions),
      // Concurrency is invocations per second times how long each runs.
      lambdaConcurrency: perSecond(lambdaSeconds),
      smsMessages: perSecond(sms.sent),
      smsParts: sms.sent.map((n) => (n / 60) * c.smsPartsPerSms),
      emails: perSecond(email.sent),
      dynamoWrites: units(c.writeUnitsPerStep, c.writeUnitsPerApiCall, PLACE_WRITE_UNITS),
      dynamoReads: units(c.readUnitsPerStep, c.readUnitsPerApiCall, c.readUnitsPerStep),
    },
    pacing,
    sample: { planned, distinctPlans, individual },
  };
}
