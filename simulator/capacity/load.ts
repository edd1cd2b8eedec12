import type { Channel } from "../../functions/domain/channels.ts";
import type { WakeRecord } from "../engine.ts";
import type { ActionCosts } from "./costs.ts";

export const MINUTE_MS = 60_000;

/**
 * What the product asks of AWS in each minute of a month that repeats: every instant is taken modulo the month, so
 * each minute carries the work of every cohort alive then — last month's soft collection and hand-offs with this
 * month's reminders and next month's subscriptions — as a steady state does. Counts are weighted (a sampled loan
 * stands for many).
 */
export class MonthLoad {
  /** Open executions as a difference array over the minutes (one more slot for the end). */
  readonly openDelta: Float64Array;
  /** Executions held through whole months: open in every minute. */
  openWhole = 0;
  readonly starts: Float64Array;
  readonly stops: Float64Array;
  readonly transitions: Float64Array;
  /** Dunning step tasks (send, hand-off: one per wake). */
  readonly stepTasks: Float64Array;
  /** Plan tasks of fresh executions and hand-overs to the next execution. */
  readonly planTasks: Float64Array;
  /** API calls that change a case: subscriptions and payments. */
  readonly apiCalls: Float64Array;
  /** Parked cases due to be started by the waker, at the run that finds them (paced by the model). */
  readonly wakerStarts: Float64Array;
  /** Messages by channel and borrower zone, at the minute the workflow sends them. */
  readonly sends = new Map<Channel, Map<string, Float64Array>>();

  constructor(
    readonly originMs: number,
    readonly minutes: number,
  ) {
    this.openDelta = new Float64Array(minutes + 1);
    this.starts = new Float64Array(minutes);
    this.stops = new Float64Array(minutes);
    this.transitions = new Float64Array(minutes);
    this.stepTasks = new Float64Array(minutes);
    this.planTasks = new Float64Array(minutes);
    this.apiCalls = new Float64Array(minutes);
    this.wakerStarts = new Float64Array(minutes);
  }

  /** The minute of the month an instant falls in. */
  minuteOf(at: number): number {
    const m = Math.floor((at - this.originMs) / MINUTE_MS) % this.minutes;
    return m < 0 ? m + this.minutes : m;
  }

  add(series: Float64Array, at: number, n: number): void {
    const m = this.minuteOf(at);
    series[m] = (series[m] as number) + n;
  }

  send(channel: Channel, zone: string, at: number, n: number): void {
    let byZone = this.sends.get(channel);
    if (!byZone) {
      byZone = new Map();
      this.sends.set(channel, byZone);
    }
    let series = byZone.get(zone);
    if (!series) {
      series = new Float64Array(this.minutes);
      byZone.set(zone, series);
    }
    this.add(series, at, n);
  }

  /** An execution open from `from` to `to` (epoch ms), counted in the minutes it is open at their start. */
  hold(from: number, to: number, n: number): void {
    const first = Math.ceil((from - this.originMs) / MINUTE_MS);
    const length = Math.ceil((to - this.originMs) / MINUTE_MS) - first;
    if (length <= 0) return;
    this.openWhole += Math.floor(length / this.minutes) * n;
    const rest = length % this.minutes;
    if (rest === 0) return;
    const start = ((first % this.minutes) + this.minutes) % this.minutes;
    const end = start + rest;
    const d = this.openDelta;
    d[start] = (d[start] as number) + n;
    if (end <= this.minutes) d[end] = (d[end] as number) - n;
    else {
      d[this.minutes] = (d[this.minutes] as number) - n;
      d[0] = (d[0] as number) + n;
      d[end - this.minutes] = (d[end - this.minutes] as number) - n;
    }
  }

  /** Everything counted, as plain data a worker thread can post. */
  toData(): MonthLoadData {
    const { openDelta, openWhole, starts, stops, transitions, stepTasks, planTasks, apiCalls, wakerStarts } =
      this;
    const sends = [...this.sends].map(([channel, byZone]): [Channel, [string, Float64Array][]] => [
      channel,
      [...byZone],
    ]);
    return {
      ...{ openDelta, openWhole, starts, stops, transitions, stepTasks, planTasks, apiCalls, wakerStarts },
      sends,
    };
  }

  /** Adds what another share of the sample counted (the same month). */
  merge(data: MonthLoadData): void {
    const addInto = (into: Float64Array, from: Float64Array) => {
      for (let m = 0; m < into.length; m++) into[m] = (into[m] as number) + (from[m] as number);
    };
    addInto(this.openDelta, data.openDelta);
    this.openWhole += data.openWhole;
    const series = [
      "starts",
      "stops",
      "transitions",
      "stepTasks",
      "planTasks",
      "apiCalls",
      "wakerStarts",
    ] as const;
    for (const key of series) {
      addInto(this[key], data[key]);
    }
    for (const [channel, byZone] of data.sends) {
      for (const [zone, series] of byZone) {
        series.forEach((n, m) => {
          if (n !== 0) this.send(channel, zone, this.originMs + m * MINUTE_MS, n);
        });
      }
    }
  }

  /** Open executions in each minute. */
  openExecutions(): Float64Array {
    const out = new Float64Array(this.minutes);
    let level = this.openWhole;
    for (let m = 0; m < this.minutes; m++) {
      level += this.openDelta[m] as number;
      out[m] = level;
    }
    return out;
  }
}

/** A MonthLoad's counts as data (see MonthLoad.toData). */
export interface MonthLoadData {
  openDelta: Float64Array;
  openWhole: number;
  starts: Float64Array;
  stops: Float64Array;
  transitions: Float64Array;
  stepTasks: Float64Array;
  planTasks: Float64Array;
  apiCalls: Float64Array;
  wakerStarts: Float64Array;
  sends: [Channel, [string, Float64Array][]][];
}

/** How executions come and go around a loan's plan. */
export interface ExecutionRules {
  /** A case whose next action is further away holds no execution (ms; +Infinity: no horizon). */
  horizonMs: number;
  /** The waker starts executions for cases whose action came within the horizon, at this period (ms). */
  wakerPeriodMs: number;
  /** An execution hands over to the next one after this long (ms). */
  maxExecutionMs: number;
  costs: ActionCosts;
}

/**
 * Counts one loan's wakes and payments (in time order, from its subscription) into the month: API calls,
 * executions started and stopped and how long each is open, state transitions, tasks and messages.
 */
export function countLoan(
  load: MonthLoad,
  records: readonly WakeRecord[],
  zone: string,
  weight: number,
  rules: ExecutionRules,
): void {
  const { costs } = rules;
  const w = weight;
  let open = false;
  let startedAt = 0;
  let wakeBy: number | null = null;
  const start = (at: number, fresh: boolean, byWaker = false) => {
    // The waker's starts are paced over its runs by the model: their call, Plan task and transitions are counted then.
    if (byWaker) load.add(load.wakerStarts, at, w);
    else {
      load.add(load.starts, at, w);
      load.add(load.transitions, at, w * (fresh ? costs.transitionsAtStart : costs.transitionsAtRestart));
      if (!fresh) load.add(load.planTasks, at, w);
    }
    open = true;
    startedAt = at;
    wakeBy = null;
  };
  const end = (at: number) => {
    if (open) load.hold(startedAt, at, w);
    open = false;
  };
  // Before anything at `at`: the waker's start of a parked case, a year-long execution's hand-over.
  const catchUp = (at: number) => {
    if (wakeBy !== null && wakeBy <= at) start(wakeBy, false, true);
    while (open && at > startedAt + rules.maxExecutionMs) {
      const handOver = startedAt + rules.maxExecutionMs;
      load.add(load.planTasks, handOver, w);
      load.add(load.transitions, handOver, w * costs.transitionsAtHandOver);
      end(handOver);
      start(handOver, false);
    }
  };
  // After a change at `at`: an execution waits for `next`, or the case parks until the waker starts one.
  const waitFor = (at: number, next: number, fresh: boolean) => {
    if (next === Number.POSITIVE_INFINITY) return end(at);
    if (next - at <= rules.horizonMs) {
      if (!open) start(at, fresh);
      return;
    }
    end(at);
    const earliest = next - rules.horizonMs;
    wakeBy = Math.ceil(earliest / rules.wakerPeriodMs) * rules.wakerPeriodMs;
  };
  for (const r of records) {
    catchUp(r.at);
    if (r.kind === "subscribe" || r.kind === "payment") {
      load.add(load.apiCalls, r.at, w);
      if (r.kind === "subscribe") waitFor(r.at, r.next, true);
      else if (r.payment !== "none") {
        if (open) load.add(load.stops, r.at, w);
        end(r.at);
        wakeBy = null;
        if (r.payment === "replan") waitFor(r.at, r.next, false);
      }
      continue;
    }
    if (!open) start(r.at, false);
    load.add(load.stepTasks, r.at, w);
    load.add(load.transitions, r.at, w * costs.transitionsPerStep);
    for (const channel of r.channels) load.send(channel, zone, r.at, w);
    waitFor(r.at, r.next, false);
  }
  const last = records.at(-1);
  if (open && last) end(Math.max(last.at, last.next === Number.POSITIVE_INFINITY ? last.at : last.next));
}
