import { DateTime } from "luxon";

/** Instants travel as ISO 8601 UTC with whole seconds: what Step Functions' TimestampPath accepts. */
export function toInstant(value: DateTime | Date): string {
  const dt = value instanceof Date ? DateTime.fromJSDate(value) : value;
  return dt.toUTC().startOf("second").toISO({ suppressMilliseconds: true }) as string;
}

export function parseInstant(iso: string): DateTime {
  return DateTime.fromISO(iso, { zone: "utc" });
}

/**
 * The canonical spelling of an IANA time zone (any case, links resolved: `us/eastern` → `America/New_York`), or
 * null for anything that is not one — a fixed offset such as `UTC+5`, or `local` and `system`, which would mean
 * whatever zone the server runs in.
 */
export function canonicalTimeZone(zone: string): string | null {
  if (zone.length === 0 || zone.length > 64) return null;
  try {
    const canonical = new Intl.DateTimeFormat("en-US", { timeZone: zone }).resolvedOptions().timeZone;
    return DateTime.now().setZone(canonical).isValid ? canonical : null;
  } catch {
    return null;
  }
}

export function isValidTimeZone(zone: string): boolean {
  return canonicalTimeZone(zone) !== null;
}

function parseHHmm(value: string): { hour: number; minute: number } {
  const [hour, minute] = value.split(":").map(Number);
  return { hour: hour ?? 0, minute: minute ?? 0 };
}

/** The instant of `HH:mm` local time on `dueDate + offsetDays` in `zone` (a skipped DST hour moves forward). */
export function localInstant(dueDate: string, offsetDays: number, hhmm: string, zone: string): DateTime {
  return DateTime.fromISO(dueDate, { zone })
    .plus({ days: offsetDays })
    .set({ ...parseHHmm(hhmm), second: 0, millisecond: 0 });
}

/** Calendar days after the due date in the borrower's zone; 0 on or before the due date. */
export function daysPastDue(dueDate: string, zone: string, now: Date): number {
  return Math.max(0, daysFromDue(dueDate, zone, now));
}

/** Calendar days from the due date to today in the borrower's zone: negative before it, 0 on it. */
export function daysFromDue(dueDate: string, zone: string, now: Date): number {
  const today = DateTime.fromJSDate(now).setZone(zone).startOf("day");
  const due = DateTime.fromISO(dueDate, { zone }).startOf("day");
  return Math.round(today.diff(due, "days").days);
}

/** The borrower-local calendar date and time of an instant, for evidence and messages. */
export function localTime(instant: Date, zone: string): string {
  return DateTime.fromJSDate(instant).setZone(zone).toISO({ suppressMilliseconds: true }) as string;
}
