import type { Policy } from "../functions/domain/policy.ts";

/**
 * The independent contact-rules checker: it re-derives borrower-local time with Intl.DateTimeFormat (not
 * luxon, not the domain's functions) and counts every contact that breaks a rule, so a zero in the report
 * does not merely repeat what the code under test believes.
 */

/** Bits of a contact's violation mask. */
export const VIOLATION = { WINDOW: 1, QUIET_DAY: 2, SMS_DAILY_CAP: 4, CONTACTS_7_DAY_CAP: 8 } as const;

export interface CheckedContact {
  /** Epoch ms the message was sent. */
  at: number;
  sms: boolean;
}

/** The rules as plain numbers and sets, read from the policy document itself. */
export interface CheckRules {
  windowStart: number;
  windowEnd: number;
  quietDates: ReadonlySet<string>;
  quietWeekdays: ReadonlySet<number>;
  smsPerDay: number;
  contactsPer7Days: number;
}

const minutes = (hhmm: string): number => {
  const [h, m] = hhmm.split(":");
  return Number(h) * 60 + Number(m);
};

/** Defaults as domain.md states them (≤ 1 SMS a day, ≤ 7 contacts in any 7 days), not as code fills them. */
export function checkRulesOf(policy: Policy): CheckRules {
  const r = policy.contactRules;
  return {
    windowStart: minutes(policy.contactWindow.start),
    windowEnd: minutes(policy.contactWindow.end),
    quietDates: new Set(r?.quietDates ?? []),
    quietWeekdays: new Set(r?.quietWeekdays ?? []),
    smsPerDay: r?.caps?.smsPerDay ?? 1,
    contactsPer7Days: r?.caps?.contactsPer7Days ?? 7,
  };
}

interface LocalParts {
  date: string;
  minute: number;
  weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

/** Borrower-local date, minute of day and ISO weekday of an instant. */
export function localParts(at: number, zone: string): LocalParts {
  let format = formatters.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      weekday: "short",
    });
    formatters.set(zone, format);
  }
  const part: Record<string, string> = {};
  for (const p of format.formatToParts(at)) part[p.type] = p.value;
  return {
    date: `${part.year}-${part.month}-${part.day}`,
    // Some engines print midnight as 24 even with h23.
    minute: (Number(part.hour) % 24) * 60 + Number(part.minute),
    weekday: WEEKDAYS[part.weekday ?? ""] ?? 0,
  };
}

const WEEK_MS = 7 * 86_400_000;

/**
 * One violation mask per contact of a borrower (contacts in time order). The caps count earlier contacts
 * only, so the masks of a prefix of the list are the prefix of the masks.
 */
export function checkContacts(
  contacts: readonly CheckedContact[],
  zone: string,
  rules: CheckRules,
): Uint8Array {
  const masks = new Uint8Array(contacts.length);
  const smsPerDate = new Map<string, number>();
  let weekStart = 0;
  for (let i = 0; i < contacts.length; i++) {
    const c = contacts[i] as CheckedContact;
    const local = localParts(c.at, zone);
    let mask = 0;
    if (local.minute < rules.windowStart || local.minute >= rules.windowEnd) mask |= VIOLATION.WINDOW;
    if (rules.quietDates.has(local.date) || rules.quietWeekdays.has(local.weekday))
      mask |= VIOLATION.QUIET_DAY;
    if (c.sms) {
      const n = (smsPerDate.get(local.date) ?? 0) + 1;
      smsPerDate.set(local.date, n);
      if (n > rules.smsPerDay) mask |= VIOLATION.SMS_DAILY_CAP;
    }
    // Any 7-day window: the contacts sent in the 7 days up to and including this one.
    while ((contacts[weekStart] as CheckedContact).at <= c.at - WEEK_MS) weekStart++;
    if (i - weekStart + 1 > rules.contactsPer7Days) mask |= VIOLATION.CONTACTS_7_DAY_CAP;
    masks[i] = mask;
  }
  return masks;
}
