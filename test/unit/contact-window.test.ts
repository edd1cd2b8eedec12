import fc from "fast-check";
import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import { isInsideWindow, nextAllowedInstant } from "../../functions/domain/contact-window.ts";
import { DEFAULT_POLICY } from "../../functions/domain/policy.ts";
import { localMinutes, wallClock, ZONES } from "./fixtures.ts";

const WINDOW = DEFAULT_POLICY.contactWindow;
const DAY_MS = 24 * 60 * 60 * 1000;

/** The instant of a borrower-local wall-clock time. */
function at(local: string, zone: string): Date {
  const dt = DateTime.fromISO(local, { zone });
  if (!dt.isValid) throw new Error(`bad local time ${local}`);
  return dt.toJSDate();
}

describe("isInsideWindow (08:00 inclusive to 21:00 exclusive, borrower local)", () => {
  it.each([
    ["07:59", false],
    ["08:00", true],
    ["12:00", true],
    ["20:59", true],
    ["21:00", false],
    ["23:30", false],
    ["00:00", false],
  ])("%s in Shanghai -> %s", (time, expected) => {
    expect(isInsideWindow(at(`2026-01-08T${time}`, "Asia/Shanghai"), "Asia/Shanghai", WINDOW)).toBe(expected);
  });

  it("is judged on the borrower's clock, not UTC", () => {
    // 2026-01-08T01:00Z is 09:00 in Shanghai and 20:00 the day before in New York, 01:00 in UTC.
    const instant = new Date("2026-01-08T01:00:00Z");
    expect(isInsideWindow(instant, "Asia/Shanghai", WINDOW)).toBe(true);
    expect(isInsideWindow(instant, "America/New_York", WINDOW)).toBe(true);
    expect(isInsideWindow(instant, "UTC", WINDOW)).toBe(false);
  });

  it("handles a half-hour zone (Asia/Kolkata 07:59 / 08:00)", () => {
    expect(isInsideWindow(new Date("2026-01-08T02:29:00Z"), "Asia/Kolkata", WINDOW)).toBe(false);
    expect(isInsideWindow(new Date("2026-01-08T02:30:00Z"), "Asia/Kolkata", WINDOW)).toBe(true);
  });

  it("respects a policy's own window", () => {
    const china = { start: "08:00", end: "22:00" };
    const instant = at("2026-01-08T21:30", "Asia/Shanghai");
    expect(isInsideWindow(instant, "Asia/Shanghai", china)).toBe(true);
    expect(isInsideWindow(instant, "Asia/Shanghai", WINDOW)).toBe(false);
  });
});

describe("nextAllowedInstant", () => {
  it("returns the instant itself inside the window", () => {
    const instant = at("2026-01-08T14:15:30", "Asia/Shanghai");
    expect(nextAllowedInstant(instant, "Asia/Shanghai", WINDOW).getTime()).toBe(instant.getTime());
  });

  it("moves 22:30 local to 08:00 local the next day", () => {
    const next = nextAllowedInstant(at("2026-01-08T22:30", "Asia/Shanghai"), "Asia/Shanghai", WINDOW);
    expect(next.toISOString()).toBe("2026-01-09T00:00:00.000Z");
    expect(wallClock(next, "Asia/Shanghai").local).toBe("2026-01-09 08:00");
  });

  it("moves 21:00 local (window end is exclusive) to 08:00 the next day", () => {
    const next = nextAllowedInstant(at("2026-01-08T21:00", "Asia/Shanghai"), "Asia/Shanghai", WINDOW);
    expect(wallClock(next, "Asia/Shanghai").local).toBe("2026-01-09 08:00");
  });

  it("moves 03:00 local to 08:00 local the same day", () => {
    const next = nextAllowedInstant(at("2026-01-08T03:00", "Asia/Shanghai"), "Asia/Shanghai", WINDOW);
    expect(next.toISOString()).toBe("2026-01-08T00:00:00.000Z");
  });

  it("moves 07:59:59 local to 08:00:00 the same day", () => {
    const next = nextAllowedInstant(at("2026-01-08T07:59:59", "Asia/Shanghai"), "Asia/Shanghai", WINDOW);
    expect(next.toISOString()).toBe("2026-01-08T00:00:00.000Z");
  });

  it("lands on 08:00 EDT on the New York spring-forward day (2026-03-08)", () => {
    // 2026-03-08 01:30 EST (06:30Z): the clock skips 02:00-03:00; opening is 08:00 EDT = 12:00Z, 4.5 h later.
    const next = nextAllowedInstant(new Date("2026-03-08T06:30:00Z"), "America/New_York", WINDOW);
    expect(next.toISOString()).toBe("2026-03-08T12:00:00.000Z");
    expect(wallClock(next, "America/New_York")).toEqual({ local: "2026-03-08 08:00", offset: -240 });
  });

  it("lands on 08:00 EDT the day of the change when asked at 22:00 EST the evening before", () => {
    // 2026-03-07 22:00 EST = 03-08T03:00Z; 08:00 EDT on 03-08 = 12:00Z, 9 h later (not 10 h).
    const next = nextAllowedInstant(new Date("2026-03-08T03:00:00Z"), "America/New_York", WINDOW);
    expect(next.toISOString()).toBe("2026-03-08T12:00:00.000Z");
  });

  it("lands on 08:00 EST on the New York fall-back day (2026-11-01)", () => {
    // 01:30 EDT (05:30Z), before the repeat hour; opening is 08:00 EST = 13:00Z.
    const next = nextAllowedInstant(new Date("2026-11-01T05:30:00Z"), "America/New_York", WINDOW);
    expect(next.toISOString()).toBe("2026-11-01T13:00:00.000Z");
  });

  it("opens the next calendar day's window even when the evening before falls into a zone's gap", () => {
    // America/Scoresbysund moved its clocks at 2025-03-29 23:00 local (-02:00 → -01:00).
    const next = nextAllowedInstant(new Date("2025-03-29T01:00:00Z"), "America/Scoresbysund", WINDOW);
    expect(next.toISOString()).toBe("2025-03-29T10:00:00.000Z");
  });

  it("property: the result is inside the window, not before the input and less than 24 h later", () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date("2020-01-01T00:00:00Z"),
          max: new Date("2032-12-31T23:59:59Z"),
          noInvalidDate: true,
        }),
        fc.constantFrom(...ZONES),
        (instant, zone) => {
          const next = nextAllowedInstant(instant, zone, WINDOW);
          expect(isInsideWindow(next, zone, WINDOW)).toBe(true);
          expect(next.getTime()).toBeGreaterThanOrEqual(instant.getTime());
          expect(next.getTime() - instant.getTime()).toBeLessThan(DAY_MS);
          if (next.getTime() !== instant.getTime()) {
            // When it moves, it moves to an opening of the window: 08:00 local exactly.
            expect(localMinutes(next, zone)).toBe(8 * 60);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
