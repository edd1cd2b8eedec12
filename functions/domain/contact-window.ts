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
  const opening = (day: DateTime) =>
    day.startOf("day").set({ hour: Math.floor(start / 60), minute: start % 60 });
  const today = opening(local);
  return (today > local ? today : opening(local.plus({ days: 1 }))).toJSDate();
}
