import { DateTime } from "luxon";
import type { Locale } from "../domain/policy.ts";

/** One loan as POST /v1/loans takes it: the line format of portfolio JSONL files. */
export interface PortfolioLoan {
  loanId: string;
  borrower: {
    name: string;
    email?: string;
    phone?: string;
    locale: Locale;
    timeZone: string;
  };
  amountDue: { amount: string; currency: string };
  dueDate: string;
  policyId?: string;
}

/**
 * Borrower zones of synthetic portfolios: 36 IANA zones on every continent, with and without DST, with
 * half- and quarter-hour offsets, and both hemispheres' DST seasons.
 */
export const SYNTHETIC_ZONES: readonly string[] = [
  "Asia/Shanghai",
  "Asia/Hong_Kong",
  "Asia/Taipei",
  "Asia/Tokyo",
  "Asia/Seoul",
  "Asia/Singapore",
  "Asia/Kolkata",
  "Asia/Kathmandu",
  "Asia/Dubai",
  "Asia/Tehran",
  "Asia/Jakarta",
  "Asia/Manila",
  "Australia/Sydney",
  "Australia/Adelaide",
  "Australia/Perth",
  "Pacific/Auckland",
  "Pacific/Chatham",
  "Pacific/Honolulu",
  "America/New_York",
  "America/Chicago",
  "America/Denver",
  "America/Phoenix",
  "America/Los_Angeles",
  "America/Anchorage",
  "America/St_Johns",
  "America/Sao_Paulo",
  "America/Santiago",
  "America/Mexico_City",
  "Europe/London",
  "Europe/Berlin",
  "Europe/Paris",
  "Europe/Moscow",
  "Europe/Istanbul",
  "Africa/Cairo",
  "Africa/Lagos",
  "Africa/Johannesburg",
];

/** A small, fast, seedable generator (mulberry32): the same seed always gives the same portfolio. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SyntheticPortfolioOptions {
  count: number;
  seed: number;
  /** Due dates are spread over `dueDays` calendar days starting here (YYYY-MM-DD). */
  firstDueDate: string;
  dueDays: number;
  zones?: readonly string[];
  policyId?: string;
  /** Prefix of every loanId, so two portfolios never collide. */
  idPrefix?: string;
}

/**
 * A deterministic synthetic portfolio: zones round-robin, due dates, amounts and contact details drawn
 * from the seed. About 10% of borrowers have only a phone and 10% only an email, so fallback is exercised.
 */
export function* syntheticPortfolio(options: SyntheticPortfolioOptions): Generator<PortfolioLoan> {
  const random = seededRandom(options.seed);
  const zones = options.zones ?? SYNTHETIC_ZONES;
  const firstDue = DateTime.fromISO(options.firstDueDate, { zone: "utc" });
  const prefix = options.idPrefix ?? "SIM";
  for (let i = 0; i < options.count; i++) {
    const zone = zones[i % zones.length] as string;
    const locale: Locale = zone.startsWith("Asia/") && random() < 0.7 ? "zh-CN" : "en-US";
    const reach = random();
    const n = String(i).padStart(8, "0");
    const phone = reach < 0.1 ? undefined : `+86138${n}`;
    const email = reach >= 0.9 ? undefined : `borrower${n}@example.com`;
    const dueDate = firstDue.plus({ days: Math.floor(random() * options.dueDays) }).toISODate() as string;
    const amount = (100 + Math.floor(random() * 9900) + Math.floor(random() * 100) / 100).toFixed(2);
    yield {
      loanId: `${prefix}-${n}`,
      borrower: {
        name: `Borrower ${n}`,
        ...(email ? { email } : {}),
        ...(phone ? { phone } : {}),
        locale,
        timeZone: zone,
      },
      amountDue: { amount, currency: "CNY" },
      dueDate,
      ...(options.policyId ? { policyId: options.policyId } : {}),
    };
  }
}
