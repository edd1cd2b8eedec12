import { DateTime, Duration } from "luxon";
import { CHANNELS, type Channel } from "./channels.ts";
import { FIRST_NOTICE_STEP, type Policy } from "./policy.ts";

/**
 * Paced sending, the arithmetic. A tenant may cap each channel at `rate` messages a second (its provider's
 * throughput). Each (tenant, channel, minute) has rate × 60 places handed out in order; place p of minute m
 * goes out in second m·60 + ⌊(p − 1) / rate⌋, so no second ever holds more than `rate` of them. Where the
 * places are counted (DynamoDB) is the adapter's business; this module only says what a place means.
 */

/** Messages per second per channel; a channel left out is not paced. */
export type SendRates = Partial<Record<Channel, number>>;

/** The highest rate a channel may be given: one counter item takes about this many writes a second. */
export const MAX_SEND_RATE = 1000;

/** How long a minute's counter outlives its minute (the state table's TTL removes it after). */
export const PACING_RETENTION_SECONDS = 3 * 86_400;

/** The place a step's messages were given: the second they go out and the channels it was taken on. */
export interface SendSlot {
  /** The instant of the second, ISO 8601 UTC in whole seconds. */
  at: string;
  channels: Channel[];
}

/** Places in one minute of a channel paced at `rate`. */
export const minuteCapacity = (rate: number): number => rate * 60;

/** The minute (whole minutes since the epoch) an epoch second falls in. */
export const minuteOf = (second: number): number => Math.floor(second / 60);

/** The epoch second an instant falls in. */
export const secondOf = (instant: Date): number => Math.floor(instant.getTime() / 1000);

/** The instant of an epoch second, as the workflow carries instants. */
export const instantOfSecond = (second: number): string =>
  DateTime.fromSeconds(second, { zone: "utc" }).toISO({ suppressMilliseconds: true }) as string;

/** The epoch second place `position` (1-based) of `minute` goes out in. */
export function slotSecond(minute: number, position: number, rate: number): number {
  return minute * 60 + Math.floor((position - 1) / rate);
}

/**
 * The first place of `minute` that goes out at or after `second`: 1 for a minute that starts after it; past
 * the minute's capacity for a minute that ends before it. The places before it are in the past (or before
 * the second several channels agreed on) and stay unused.
 */
export function firstPlaceFrom(minute: number, second: number, rate: number): number {
  const offset = second - minute * 60;
  return offset <= 0 ? 1 : offset * rate + 1;
}

/** The channels of a step the tenant paces, in the step's order. */
export function pacedChannels(channels: readonly Channel[], rates: SendRates): Channel[] {
  return channels.filter((channel) => (rates[channel] ?? 0) > 0);
}

/** Whether a place taken earlier covers every paced channel of the step now being sent. */
export function slotCovers(slot: SendSlot | undefined, paced: readonly Channel[]): slot is SendSlot {
  return slot !== undefined && paced.every((channel) => slot.channels.includes(channel));
}

/** The end of the contact window `now` falls in, in the borrower's zone (`now` is inside the window). */
export function windowEnd(now: Date, zone: string, window: Policy["contactWindow"]): Date {
  const local = DateTime.fromJSDate(now).setZone(zone);
  const [hour = 0, minute = 0] = window.end.split(":").map(Number);
  const end = DateTime.fromObject(
    { year: local.year, month: local.month, day: local.day, hour, minute },
    { zone },
  );
  return end.toJSDate();
}

/**
 * The instant before which a place must lie for the step to still go out: the end of today's contact window,
 * or earlier when the policy's `maxLateness` would skip the step by then (the first notice is never too late).
 */
export function reservationEnd(
  now: Date,
  zone: string,
  policy: Pick<Policy, "contactWindow" | "maxLateness">,
  step: { id: string; plannedAt: string },
): Date {
  const end = windowEnd(now, zone, policy.contactWindow);
  if (!policy.maxLateness || step.id === FIRST_NOTICE_STEP) return end;
  const limit = Duration.fromISO(policy.maxLateness);
  if (!limit.isValid) return end;
  // decideStep skips a step later than plannedAt + maxLateness: the last second it still goes is that one.
  const late = Date.parse(step.plannedAt) + limit.toMillis() + 1000;
  return new Date(Math.min(end.getTime(), late));
}

/** The rates with only the channels the product knows, each a whole number from 1 to MAX_SEND_RATE. */
export function knownRates(rates: Record<string, unknown>): SendRates {
  const known: SendRates = {};
  for (const channel of CHANNELS) {
    const rate = rates[channel];
    if (typeof rate === "number" && Number.isInteger(rate) && rate >= 1 && rate <= MAX_SEND_RATE) {
      known[channel] = rate;
    }
  }
  return known;
}
