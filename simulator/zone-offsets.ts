import { DateTime, type DateTimeOptions, IANAZone } from "luxon";

let installed = false;

/**
 * Memoises luxon's zone offset lookup (minutes east of UTC at an instant) in this process. The domain asks
 * for the same few instants again and again — every re-plan rebuilds each step's instant from the due date —
 * and each lookup is an Intl formatToParts call. An offset is a pure function of (zone, instant), so the
 * cache changes no result, only the speed; the simulator installs it in its own threads, never production.
 */
export function memoiseZoneOffsets(maxPerZone = 200_000): void {
  if (installed) return;
  installed = true;
  const original = IANAZone.prototype.offset;
  const caches = new WeakMap<object, Map<number, number>>();
  IANAZone.prototype.offset = function offset(this: IANAZone, ts: number): number {
    let cache = caches.get(this);
    if (!cache) {
      cache = new Map();
      caches.set(this, cache);
    }
    let minutes = cache.get(ts);
    if (minutes === undefined) {
      minutes = original.call(this, ts);
      // Bounded: a long run starts over rather than growing without end.
      if (cache.size >= maxPerZone) cache.clear();
      cache.set(ts, minutes);
    }
    return minutes;
  };
}

let isoInstalled = false;

/**
 * Memoises DateTime.fromISO(text, { zone }) — the domain parses each due date in its zone on every re-plan.
 * DateTimes are immutable, so handing out the same one again changes nothing but the speed.
 */
export function memoiseIsoParsing(maxEntries = 100_000): void {
  if (isoInstalled) return;
  isoInstalled = true;
  const original = DateTime.fromISO;
  const cache = new Map<string, DateTime>();
  DateTime.fromISO = function fromISO(text: string, opts?: DateTimeOptions): DateTime {
    const keys = opts ? Object.keys(opts) : [];
    if (keys.length > 1 || (keys.length === 1 && typeof opts?.zone !== "string"))
      return original.call(DateTime, text, opts);
    const key = `${text}|${opts?.zone ?? ""}`;
    let parsed = cache.get(key);
    if (!parsed) {
      parsed = original.call(DateTime, text, opts);
      if (cache.size >= maxEntries) cache.clear();
      cache.set(key, parsed);
    }
    return parsed;
  } as typeof DateTime.fromISO;
}
