import { IANAZone } from "luxon";
import type { Policy } from "../../functions/domain/policy.ts";
import { MINUTE_MS } from "./load.ts";

const minutesOf = (hhmm: string) => {
  const [h, m] = hhmm.split(":").map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
};

/** Offsets are looked up at this step: every zone's clock changes on a quarter hour. */
const OFFSET_STEP_MINUTES = 15;

/**
 * For each minute of the month, whether the policy's contact window is open in `zone` (1) or not (0): borrower-local
 * time from the zone's offset, looked up every quarter hour so a change of clocks mid-month is followed.
 */
export function contactWindowMask(
  zone: string,
  window: Policy["contactWindow"],
  originMs: number,
  minutes: number,
): Uint8Array {
  const tz = IANAZone.create(zone);
  const from = minutesOf(window.start);
  const to = minutesOf(window.end);
  const mask = new Uint8Array(minutes);
  let offset = 0;
  for (let m = 0; m < minutes; m++) {
    const at = originMs + m * MINUTE_MS;
    if (m % OFFSET_STEP_MINUTES === 0) offset = tz.offset(at);
    const local = (((Math.floor(at / MINUTE_MS) + offset) % 1440) + 1440) % 1440;
    mask[m] = local >= from && local < to ? 1 : 0;
  }
  return mask;
}

export interface Paced {
  /** Messages handed to the provider in each minute of the month (steady state). */
  sent: Float64Array;
  /**
   * Steps that go round once more (Choice → Wait → Task) to send at a later second than planned, by the minute
   * they send in: every message after the first second's worth of its minute. Counted per message, so a step
   * with two paced channels late on both counts twice.
   */
  extraRounds: Float64Array;
  /** Messages still waiting at the end of the month: more than a month earlier means the rate cannot keep up. */
  backlogAtEnd: number;
  /** Whether the backlog grows from one month to the next: the rate is below the month's volume. */
  fallingBehind: boolean;
  /** The longest any message waited, in minutes. */
  maxDelayMinutes: number;
}

/** Several per-minute series added up. */
export function totalOf(series: Iterable<Float64Array>, minutes: number): Float64Array {
  const total = new Float64Array(minutes);
  for (const one of series) {
    for (let m = 0; m < minutes; m++) total[m] = (total[m] as number) + (one[m] as number);
  }
  return total;
}

interface Queue {
  minute: number[];
  count: number[];
  head: number;
}

/**
 * A paced sender: each minute hands at most `perSecond × 60` messages to the provider, oldest first across zones,
 * and a message only while its borrower's contact window is open; what does not fit waits for the next minutes of
 * the window (the next day's, when today's has closed). The month repeats, so two months run and the second is kept:
 * what the first left over is what a steady state carries in.
 */
export function paceSends(
  arrivals: ReadonlyMap<string, Float64Array>,
  windows: ReadonlyMap<string, Uint8Array>,
  perSecond: number,
  minutes: number,
): Paced {
  const zones = [...arrivals.keys()];
  const queues: Queue[] = zones.map(() => ({ minute: [], count: [], head: 0 }));
  const sent = new Float64Array(minutes);
  const extraRounds = new Float64Array(minutes);
  // The share of each minute's messages that cannot go in the second they were planned for.
  const arrived = totalOf(arrivals.values(), minutes);
  const lateShare = arrived.map((n) => (n > perSecond ? 1 - perSecond / n : 0));
  const capacity = perSecond * 60;
  let backlog = 0;
  let backlogAfterFirst = 0;
  let maxDelay = 0;
  for (let t = 0; t < 2 * minutes; t++) {
    const m = t % minutes;
    zones.forEach((zone, z) => {
      const n = (arrivals.get(zone) as Float64Array)[m] as number;
      if (n <= 0) return;
      const q = queues[z] as Queue;
      q.minute.push(t);
      q.count.push(n);
      backlog += n;
    });
    const ready = zones
      .map((zone, z) => ({ z, q: queues[z] as Queue, open: (windows.get(zone) as Uint8Array)[m] === 1 }))
      .filter(({ q, open }) => open && q.head < q.minute.length)
      .sort((a, b) => (a.q.minute[a.q.head] as number) - (b.q.minute[b.q.head] as number));
    let room = capacity;
    for (const { q } of ready) {
      while (room > 1e-9 && q.head < q.minute.length) {
        const take = Math.min(room, q.count[q.head] as number);
        room -= take;
        backlog -= take;
        if (t >= minutes) {
          const from = q.minute[q.head] as number;
          sent[m] = (sent[m] as number) + take;
          extraRounds[m] = (extraRounds[m] as number) + take * (lateShare[from % minutes] as number);
          maxDelay = Math.max(maxDelay, t - from);
        }
        q.count[q.head] = (q.count[q.head] as number) - take;
        if ((q.count[q.head] as number) <= 1e-9) q.head++;
      }
      if (room <= 1e-9) break;
    }
    if (t === minutes - 1) backlogAfterFirst = backlog;
  }
  return {
    sent,
    extraRounds,
    backlogAtEnd: backlog,
    fallingBehind: backlog > backlogAfterFirst * 1.01 + 1,
    maxDelayMinutes: maxDelay,
  };
}

/**
 * The waker's starts, minute by minute: each run (every `periodMinutes`) starts at most `perRun` of the parked cases
 * due, earliest first, at most `perMinute` a minute; the rest wait for the next run. Two months, the second kept.
 */
export function paceWaker(
  due: Float64Array,
  perRun: number,
  perMinute: number,
  periodMinutes: number,
): Float64Array {
  const minutes = due.length;
  const started = new Float64Array(minutes);
  let backlog = 0;
  let runLeft = 0;
  for (let t = 0; t < 2 * minutes; t++) {
    const m = t % minutes;
    backlog += due[m] as number;
    if (t % periodMinutes === 0) runLeft = perRun;
    const now = Math.min(backlog, perMinute, runLeft);
    backlog -= now;
    runLeft -= now;
    if (t >= minutes) started[m] = now;
  }
  return started;
}
