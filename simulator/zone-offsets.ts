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

let mathInstalled = false;

/** Methods whose result depends only on the instance and arguments such as `{ days: -7 }`. */
const PURE_METHODS = ["plus", "minus", "set", "startOf", "endOf", "setZone", "toUTC", "toISO", "toISODate"];

/**
 * Memoises date arithmetic and formatting per DateTime, and DateTime.fromJSDate per instant. With fromISO memoised,
 * the domain builds each step instant (a due date in its zone, plus days, set to the time of day) from the same
 * instances again and again, and wakes fall on the same instants across loans. DateTimes are immutable, so the same
 * call on the same instance always gives an equal result: the cache changes the speed, never a result.
 */
export function memoiseDateMath(maxInstants = 5_000, maxResults = 20_000): void {
  if (mathInstalled) return;
  mathInstalled = true;
  let results = new WeakMap<object, Map<string, unknown>>();
  let held = 0;
  const proto = DateTime.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const name of PURE_METHODS) {
    const original = proto[name] as (...args: unknown[]) => unknown;
    proto[name] = function memoised(this: object, ...args: unknown[]): unknown {
      const key = argumentsKey(name, args);
      if (key === null) return original.apply(this, args);
      let cache = results.get(this);
      if (!cache) {
        cache = new Map();
        results.set(this, cache);
      }
      if (cache.has(key)) return cache.get(key);
      const value = original.apply(this, args);
      // Bounded: cached results keep their own DateTimes alive, so past the limit every cache starts over.
      if (++held > maxResults) {
        results = new WeakMap();
        held = 0;
      } else cache.set(key, value);
      return value;
    };
  }
  const fromJSDate = DateTime.fromJSDate;
  const instants = new Map<number, DateTime>();
  DateTime.fromJSDate = function memoisedFromJSDate(date: Date, opts?: DateTimeOptions): DateTime {
    if (opts !== undefined) return fromJSDate.call(DateTime, date, opts);
    let known = instants.get(date.getTime());
    if (!known) {
      known = fromJSDate.call(DateTime, date);
      if (instants.size >= maxInstants) instants.clear();
      instants.set(date.getTime(), known);
    }
    return known;
  } as typeof DateTime.fromJSDate;
}

type Plain = string | number | boolean | undefined;
const isPlain = (value: unknown): value is Plain =>
  value === undefined || ["string", "number", "boolean"].includes(typeof value);

/** A key for arguments made of plain values and flat plain objects of them; null for anything else (a Zone, a Duration). */
function argumentsKey(name: string, args: unknown[]): string | null {
  let key = name;
  for (const arg of args) {
    if (isPlain(arg)) {
      key += `|${typeof arg}:${String(arg)}`;
      continue;
    }
    if (typeof arg !== "object" || arg === null || Object.getPrototypeOf(arg) !== Object.prototype)
      return null;
    key += "|{";
    for (const [field, value] of Object.entries(arg)) {
      if (!isPlain(value)) return null;
      key += `${field}=${typeof value}:${String(value)},`;
    }
    key += "}";
  }
  return key;
}
