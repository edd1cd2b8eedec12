/**
 * How far ahead a workflow execution may wait. A case whose next action lies further away holds no execution:
 * it is parked, with its wake instant in the wake index, and a scheduled waker starts an execution as that
 * instant comes within the horizon. Open executions are an account-wide quota (1,000,000 per Region by
 * default); a book whose first reminders are months away would otherwise hold one per loan from the start.
 */
export const DEFAULT_HORIZON_DAYS = 30;

const DAY_MS = 86_400_000;

/** Whether a case next due at `wakeAt` parks instead of waiting in an execution. A horizon of 0 never parks. */
export function parksUntil(wakeAt: string | null | undefined, now: Date, horizonDays: number): boolean {
  if (!wakeAt || horizonDays <= 0) return false;
  return Date.parse(wakeAt) > now.getTime() + horizonDays * DAY_MS;
}

/**
 * The first instant (epoch ms) at which the waker finds a case parked until `wakeMs`: just past the one at which it
 * stops being beyond the horizon, since the waker reads the wakes strictly before horizonEnd.
 */
export function wakeableFrom(wakeMs: number, horizonDays: number): number {
  return wakeMs - horizonDays * DAY_MS + 1;
}

/** The latest wake instant that is within the horizon at `now`: parked cases due before it are woken. */
export function horizonEnd(now: Date, horizonDays: number): Date {
  return new Date(now.getTime() + horizonDays * DAY_MS);
}
