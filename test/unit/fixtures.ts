import { DateTime } from "luxon";
import type { Borrower, LoanCase, SubscriptionRequest } from "../../functions/domain/loan-case.ts";
import { subscribe } from "../../functions/domain/loan-case.ts";
import { money } from "../../functions/domain/money.ts";
import { DEFAULT_POLICY, type Policy } from "../../functions/domain/policy.ts";
import { exampleBorrower, subscriptionRequest } from "../support/fixtures.ts";

/**
 * IANA zones for property tests: whole, half- and quarter-hour offsets, northern and southern DST,
 * DST switching at midnight (Santiago, Havana, Beirut, Cairo), half-hour DST (Lord_Howe), negative DST
 * (Dublin), two-hour DST (Troll), Ramadan DST (Casablanca) and the extremes of the offset range.
 */
export const ZONES = [
  "UTC",
  "Asia/Shanghai",
  "Asia/Tokyo",
  "Asia/Kolkata",
  "Asia/Kathmandu",
  "Asia/Tehran",
  "Asia/Kabul",
  "Asia/Yangon",
  "Asia/Dubai",
  "Asia/Karachi",
  "Asia/Jakarta",
  "Asia/Manila",
  "Asia/Beirut",
  "Australia/Adelaide",
  "Australia/Sydney",
  "Australia/Darwin",
  "Australia/Lord_Howe",
  "Australia/Eucla",
  "Pacific/Auckland",
  "Pacific/Chatham",
  "Pacific/Kiritimati",
  "Pacific/Pago_Pago",
  "Pacific/Honolulu",
  "America/St_Johns",
  "America/New_York",
  "America/Chicago",
  "America/Denver",
  "America/Phoenix",
  "America/Los_Angeles",
  "America/Anchorage",
  "America/Sao_Paulo",
  "America/Santiago",
  "America/Havana",
  "America/Mexico_City",
  "America/Caracas",
  "America/Scoresbysund",
  "Atlantic/Azores",
  "Europe/London",
  "Europe/Dublin",
  "Europe/Berlin",
  "Europe/Moscow",
  "Africa/Cairo",
  "Africa/Casablanca",
  "Africa/Lagos",
  "Africa/Johannesburg",
  "Antarctica/Troll",
] as const;

export const TENANT = "tenant-1";
export const ACTOR = "api:lender";

/** The example borrower (test/support/fixtures.ts) with a phone number of the unit tests' own. */
export function borrower(overrides: Partial<Borrower> = {}): Borrower {
  return exampleBorrower({ phone: "+8613800000000", ...overrides });
}

/** The example loan as loan-1, of CNY 1000.00, owed by `borrower()`. */
export function subscription(overrides: Partial<SubscriptionRequest> = {}): SubscriptionRequest {
  return subscriptionRequest("loan-1", {
    borrower: borrower(),
    amountDue: money("1000.00", "CNY"),
    ...overrides,
  });
}

/** A freshly subscribed case (default: CNY 1000.00 due 2026-01-15 in Shanghai, subscribed 2026-01-05T00:00Z). */
export function newCase(
  overrides: Partial<SubscriptionRequest> = {},
  at = "2026-01-05T00:00:00Z",
  policy: Policy = DEFAULT_POLICY,
): LoanCase {
  return subscribe(TENANT, subscription(overrides), policy, "sub-hash", ACTOR, new Date(at)).next;
}

/** Borrower-local wall clock of an ISO instant, e.g. "2026-01-08 10:00" (and the UTC offset in minutes). */
export function wallClock(instant: string | Date, zone: string): { local: string; offset: number } {
  const dt = (typeof instant === "string" ? DateTime.fromISO(instant) : DateTime.fromJSDate(instant)).setZone(
    zone,
  );
  return { local: dt.toFormat("yyyy-MM-dd HH:mm"), offset: dt.offset };
}

/** Minutes after local midnight of an instant in a zone. */
export function localMinutes(instant: string | Date, zone: string): number {
  const dt = (typeof instant === "string" ? DateTime.fromISO(instant) : DateTime.fromJSDate(instant)).setZone(
    zone,
  );
  return dt.hour * 60 + dt.minute;
}
