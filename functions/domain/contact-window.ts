import { DateTime } from "luxon";
import type { Policy } from "./policy.ts";

function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(":").map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

/** True when `instant` falls inside the policy's contact window in the borrower's zone. */
export function isInsideWindow(instant: Date, zone: string, window: Policy["contactWindow"]): boolean {
  const local = DateTime.fromJSDate(instant).setZone(zone);
  const minute = local.hour * 60 + local.minute;
  return minute >= minutesOf(window.start) && minute < minutesOf(window.end);
}

/** `instant` itself when contact is allowed then, otherwise the next opening of the window. */
export function nextAllowedInstant(instant: Date, zone: string, window: Policy["contactWindow"]): Date {
  if (isInsideWindow(instant, zone, window)) return instant;
  const local = DateTime.fromJSDate(instant).setZone(zone);
  const start = minutesOf(window.start);
  // The opening on a calendar date, built from the date itself: adding a day to a local time that falls into a
  // zone's gap (America/Scoresbysund skipped 2025-03-29 23:00) would land a day too far.
  const opening = (date: { year: number; month: number; day: number }) =>
    DateTime.fromObject(
      { year: date.year, month: date.month, day: date.day, hour: Math.floor(start / 60), minute: start % 60 },
      { zone },
    );
  const today = opening(local);
  if (today > local) return today.toJSDate();
  const tomorrow = DateTime.utc(local.year, local.month, local.day).plus({ days: 1 });
  return opening(tomorrow).toJSDate();
}
