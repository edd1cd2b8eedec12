import { DateTime } from "luxon";
import { type Channel, type ChannelSpec, channelSpec } from "./channels.ts";
import { nextAllowedInstant } from "./contact-window.ts";
import type { ContactRules, Policy } from "./policy.ts";

/** A message that went out, kept on the case (and the borrower's record) for the frequency caps. */
export interface RecentContact {
  at: string;
  channel: Channel;
}

export type CapRule = NonNullable<ChannelSpec["dailyCap"]>["rule"] | "contacts_7_day_cap";
/** Why a due step waits: the rules of contact, or (`send_capacity`) no place left today in its channels' send rates. */
export type DeferRule = "contact_window" | "quiet_day" | CapRule | "send_capacity";

const DAY_MS = 24 * 60 * 60 * 1000;
/** The rolling window of the cross-channel cap. */
export const CAP_WINDOW_MS = 7 * DAY_MS;
/** How long a case, and a borrower's contact record, remember contacts: longer than any cap looks back. */
export const CONTACT_MEMORY_MS = 8 * DAY_MS;

const localOf = (instant: Date, zone: string) => DateTime.fromJSDate(instant).setZone(zone);

/** True when the borrower-local date of `instant` is a quiet date or falls on a quiet weekday. */
export function isQuietDay(instant: Date, zone: string, rules: ContactRules): boolean {
  const local = localOf(instant, zone);
  return rules.quietDates.includes(local.toISODate() ?? "") || rules.quietWeekdays.includes(local.weekday);
}

function startOfNextDay(instant: Date, zone: string): Date {
  return localOf(instant, zone).startOf("day").plus({ days: 1 }).startOf("day").toJSDate();
}

/** The window opening of the first day after `instant`'s borrower-local day that is not quiet. */
export function nextOpenDay(
  instant: Date,
  zone: string,
  window: Policy["contactWindow"],
  rules: ContactRules,
): Date {
  let at = nextAllowedInstant(startOfNextDay(instant, zone), zone, window);
  // Terminates: at most every quiet date plus one week of quiet weekdays (validation keeps one weekday open).
  for (let i = 0; i < rules.quietDates.length + 8 && isQuietDay(at, zone, rules); i++) {
    at = nextAllowedInstant(startOfNextDay(at, zone), zone, window);
  }
  return at;
}

const inCapWindow = (contact: RecentContact, now: Date) =>
  now.getTime() - Date.parse(contact.at) < CAP_WINDOW_MS;

/**
 * The cap that sending `channel` at `now` would break, on top of the recent contacts and the channels
 * already accepted for this step; null when it stays within both caps.
 */
export function capBroken(
  channel: Channel,
  accepted: readonly Channel[],
  recent: readonly RecentContact[],
  now: Date,
  zone: string,
  rules: ContactRules,
): CapRule | null {
  const daily = channelSpec(channel).dailyCap;
  if (daily) {
    const today = localOf(now, zone).toISODate();
    const sentToday = recent.filter(
      (c) => c.channel === channel && localOf(new Date(c.at), zone).toISODate() === today,
    ).length;
    const acceptedNow = accepted.filter((c) => c === channel).length;
    if (sentToday + acceptedNow + 1 > rules.caps[daily.limit]) return daily.rule;
  }
  const inWeek = recent.filter((c) => inCapWindow(c, now)).length;
  if (inWeek + accepted.length + 1 > rules.caps.contactsPer7Days) return "contacts_7_day_cap";
  return null;
}

/**
 * The earliest instant at or after `now` when `channel` alone may be sent: inside the window, on a day
 * that is not quiet, and within both caps.
 */
export function capFreesAt(
  channel: Channel,
  recent: readonly RecentContact[],
  now: Date,
  zone: string,
  window: Policy["contactWindow"],
  rules: ContactRules,
): Date {
  let at = now;
  for (let i = 0; i < 64; i++) {
    at = nextAllowedInstant(at, zone, window);
    if (isQuietDay(at, zone, rules)) {
      at = nextOpenDay(at, zone, window, rules);
      continue;
    }
    const rule = capBroken(channel, [], recent, at, zone, rules);
    if (!rule) return at;
    if (rule !== "contacts_7_day_cap") {
      // A daily cap frees at the borrower's next day.
      at = startOfNextDay(at, zone);
    } else {
      const times = recent
        .filter((c) => inCapWindow(c, at))
        .map((c) => Date.parse(c.at))
        .sort((a, b) => a - b);
      const drop = times.length + 1 - rules.caps.contactsPer7Days;
      at = new Date((times[drop - 1] ?? at.getTime()) + CAP_WINDOW_MS);
    }
  }
  return at;
}

/** The contacts worth remembering at `now`: those that may still count towards a cap. */
export function keepRecent<T extends RecentContact>(contacts: readonly T[], now: Date): T[] {
  return contacts.filter((c) => now.getTime() - Date.parse(c.at) < CONTACT_MEMORY_MS);
}
