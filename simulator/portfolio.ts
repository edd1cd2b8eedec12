import type { Locale } from "../functions/domain/policy.ts";
import type { CustomerType, Grade } from "../functions/domain/strategies/strategy.ts";

/** An amount as the API takes it: a decimal string and an ISO currency code. */
export interface PortfolioMoney {
  amount: string;
  currency: string;
}

/**
 * One loan as POST /v1/loans takes it: the line format of portfolio JSONL files. It has either one `dueDate` (and its
 * `amountDue`) or a repayment `schedule`, whose sum `amountDue` then states, if given. A line may also say what
 * strategies segment on and the payment model may weigh (`risk`, `product`, `customerType`); synthetic loans leave
 * them out, and the simulator draws them apart (see customers.ts).
 */
export interface PortfolioLoan {
  loanId: string;
  borrower: {
    name: string;
    email?: string;
    phone?: string;
    locale: Locale;
    timeZone: string;
  };
  amountDue?: PortfolioMoney;
  dueDate?: string;
  schedule?: { dueDate: string; amount: PortfolioMoney }[];
  policyId?: string;
  /** As POST /v1/loans takes it: a whole score from 0 to 1000, and the lender's grade if it gives one. */
  risk?: { score: number; grade?: Grade };
  product?: string;
  customerType?: CustomerType;
}

/** Loans sharing a borrower: the same phone, else the same email; a loan with neither stands alone. */
export function borrowerKey(loan: PortfolioLoan): string | null {
  return loan.borrower.phone
    ? `p:${loan.borrower.phone}`
    : loan.borrower.email
      ? `e:${loan.borrower.email}`
      : null;
}

/** The dates a loan falls due on: its one due date, or each installment's. */
export function dueDatesOf(loan: PortfolioLoan): string[] {
  return loan.schedule ? loan.schedule.map((i) => i.dueDate) : [loan.dueDate ?? ""];
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
  /** Share of loans (0 to 1) repaid in 3, 6 or 12 monthly installments instead of on one due date; default 0. */
  installmentShare?: number;
  /** Share of borrowers of each customer type (or none), together 1; default DEFAULT_CUSTOMER_MIX (customers.ts). */
  customerMix?: Record<CustomerType | "unassessed", number>;
}

/**
 * The share of installment loans `npm run simulate` generates unless told otherwise. Small on purpose: each one runs
 * through the domain on its own (its installments are paid on days of their own, so it shares no trajectory), at
 * about fifty times the cost of a loan that shares one; a larger share is an option away.
 */
export const DEFAULT_INSTALLMENT_SHARE = 0.01;
/** Installment counts of synthetic installment loans, equally likely. */
export const SYNTHETIC_INSTALLMENT_COUNTS: readonly number[] = [3, 6, 12];

/**
 * Synthetic borrowers come in blocks of this many loans. The last loans of every block belong to borrowers
 * with more than one loan (see borrowerGroup), so the per-borrower caps are exercised; a block never splits
 * a borrower, so block-aligned index ranges can be generated independently.
 */
export const BORROWER_BLOCK = 2000;
/** Offsets within a block where a multi-loan borrower starts, and how many loans it has (0.25% of loans). */
const MULTI_LOAN_GROUPS: readonly { at: number; size: number }[] = [
  { at: 1995, size: 2 },
  { at: 1997, size: 3 },
];

/** The first index and the loan count of the borrower that owns loan `index`. */
export function borrowerGroup(
  index: number,
  count = Number.POSITIVE_INFINITY,
): { first: number; size: number } {
  const offset = index % BORROWER_BLOCK;
  const base = index - offset;
  for (const group of MULTI_LOAN_GROUPS) {
    if (offset >= group.at && offset < group.at + group.size) {
      // A portfolio that ends inside a group cuts the borrower short.
      return { first: base + group.at, size: Math.min(group.size, count - base - group.at) };
    }
  }
  return { first: index, size: 1 };
}

/** Mixes a seed and an index into an independent 32-bit seed (so loan i does not depend on loan i − 1). */
export function mixSeed(seed: number, index: number): number {
  let h = Math.imul((seed ^ 0x9e3779b9) >>> 0, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Which contact details a borrower gave: 1 = phone, 2 = email, 3 = both. */
export type Reach = 1 | 2 | 3;

/** What the simulation needs of a synthetic loan, without building its strings. */
export interface SyntheticShape {
  zoneIndex: number;
  /** Days after firstDueDate. */
  dueDay: number;
  reach: Reach;
  /** First loan index of its borrower (itself for single-loan borrowers). */
  borrower: number;
  borrowerLoans: number;
  /** Monthly installments, the first on `dueDay`; 0 for a loan repaid on one due date. */
  installments: number;
}

/** Zone of loan `index`: its borrower's, round-robin over the zones (cheap: no random draw). */
export function syntheticZoneIndex(index: number, zoneCount: number): number {
  return borrowerGroup(index).first % zoneCount;
}

/**
 * The shape of loan `index`. A borrower's zone and contact details come from its first loan; the other
 * loans of a multi-loan borrower fall due within two days of the first, so their schedules overlap.
 */
export function syntheticShape(index: number, options: SyntheticPortfolioOptions): SyntheticShape {
  const zones = options.zones ?? SYNTHETIC_ZONES;
  const group = borrowerGroup(index, options.count);
  const lead = seededRandom(mixSeed(options.seed, group.first));
  lead(); // the locale draw, see syntheticLoan
  const r = lead();
  const reach: Reach = r < 0.1 ? 1 : r >= 0.9 ? 2 : 3;
  const leadDue = Math.floor(lead() * options.dueDays);
  const dueDay =
    index === group.first
      ? leadDue
      : Math.min(options.dueDays - 1, leadDue + Math.floor(seededRandom(mixSeed(options.seed, index))() * 3));
  return {
    zoneIndex: group.first % zones.length,
    dueDay,
    reach,
    borrower: group.first,
    borrowerLoans: group.size,
    installments: syntheticInstallments(index, options),
  };
}

/**
 * How many installments loan `index` is repaid in (0: one due date). A stream of its own, so turning installment
 * loans on changes no other draw: every loan that keeps one due date keeps its zone, date, amount and payment.
 */
function syntheticInstallments(index: number, options: SyntheticPortfolioOptions): number {
  const share = options.installmentShare ?? 0;
  if (share <= 0) return 0;
  const draw = seededRandom(mixSeed(options.seed ^ 0x1b873593, index));
  if (draw() >= share) return 0;
  const counts = SYNTHETIC_INSTALLMENT_COUNTS;
  return counts[Math.floor(draw() * counts.length)] as number;
}

const DAY_MS = 86_400_000;

/** YYYY-MM-DD `days` after `date` (calendar arithmetic in UTC, no zone involved). */
export function plusDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/** YYYY-MM-DD `months` calendar months after `date`, on the same day or the month's last when it has none. */
export function plusMonths(date: string, months: number): string {
  const [year, month, day] = date.split("-").map(Number) as [number, number, number];
  const lastDay = new Date(Date.UTC(year, month - 1 + months + 1, 0)).getUTCDate();
  return new Date(Date.UTC(year, month - 1 + months, Math.min(day, lastDay))).toISOString().slice(0, 10);
}

/** `total` (two decimals) in `count` monthly installments from `first`: equal cents, the last takes the rest. */
function monthlySchedule(total: string, currency: string, first: string, count: number) {
  const cents = Math.round(Number(total) * 100);
  const each = Math.floor(cents / count);
  const asAmount = (c: number) => `${Math.floor(c / 100)}.${String(c % 100).padStart(2, "0")}`;
  return Array.from({ length: count }, (_, k) => ({
    dueDate: plusMonths(first, k),
    amount: { amount: asAmount(k === count - 1 ? cents - each * (count - 1) : each), currency },
  }));
}

/** Loan `index` of a synthetic portfolio, in the subscribe body's shape. */
export function syntheticLoan(index: number, options: SyntheticPortfolioOptions): PortfolioLoan {
  const zones = options.zones ?? SYNTHETIC_ZONES;
  const shape = syntheticShape(index, options);
  const zone = zones[shape.zoneIndex] as string;
  const lead = seededRandom(mixSeed(options.seed, shape.borrower));
  const locale: Locale = zone.startsWith("Asia/") && lead() < 0.7 ? "zh-CN" : "en-US";
  const own = seededRandom(mixSeed(options.seed ^ 0x5bd1e995, index));
  const b = String(shape.borrower).padStart(8, "0");
  const amount = (100 + Math.floor(own() * 9900) + Math.floor(own() * 100) / 100).toFixed(2);
  const dueDate = plusDays(options.firstDueDate, shape.dueDay);
  return {
    loanId: `${options.idPrefix ?? "SIM"}-${String(index).padStart(8, "0")}`,
    borrower: {
      name: `Borrower ${b}`,
      ...(shape.reach & 2 ? { email: `borrower${b}@example.com` } : {}),
      ...(shape.reach & 1 ? { phone: `+86138${b}` } : {}),
      locale,
      timeZone: zone,
    },
    amountDue: { amount, currency: "CNY" },
    ...(shape.installments > 0
      ? { schedule: monthlySchedule(amount, "CNY", dueDate, shape.installments) }
      : { dueDate }),
    ...(options.policyId ? { policyId: options.policyId } : {}),
  };
}

/**
 * The synthetic portfolio of a run starting on `start` for `days`, as `npm run simulate` and the simulation function
 * make it: due dates from the day after the start, spread over `dueDays` (default min(30, days)).
 */
export function syntheticOptions(
  start: string,
  days: number,
  asked: { loans: number; seed: number; dueDays?: number | undefined; installmentShare?: number | undefined },
): SyntheticPortfolioOptions {
  return {
    count: asked.loans,
    seed: asked.seed,
    firstDueDate: plusDays(start, 1),
    dueDays: asked.dueDays ?? Math.min(30, days),
    installmentShare: asked.installmentShare ?? DEFAULT_INSTALLMENT_SHARE,
  };
}

/**
 * Gathers supplied loans into borrowers (loans that share a borrowerKey), each loan with its position in the
 * portfolio, which seeds its payments: the same loans in the same order always draw the same payments.
 */
export function borrowerGrouping() {
  const keyed = new Map<string, { loans: { index: number; loan: PortfolioLoan }[] }>();
  const borrowers: { loans: { index: number; loan: PortfolioLoan }[] }[] = [];
  let loans = 0;
  return {
    add(loan: PortfolioLoan): void {
      const entry = { index: loans++, loan };
      const key = borrowerKey(loan);
      const borrower = key ? keyed.get(key) : undefined;
      if (borrower) borrower.loans.push(entry);
      else {
        const fresh = { loans: [entry] };
        borrowers.push(fresh);
        if (key) keyed.set(key, fresh);
      }
    },
    done: () => ({ borrowers, loans }),
  };
}

/**
 * A deterministic synthetic portfolio: zones round-robin, due dates, amounts and contact details drawn
 * from the seed per loan index (so any index range can be generated on its own). About 10% of borrowers
 * have only a phone and 10% only an email, so fallback is exercised; 0.25% of loans belong to borrowers with
 * two or three loans (same contact details), so the per-borrower caps are exercised. With `installmentShare`, that
 * share of loans is repaid monthly from its due date in 3, 6 or 12 installments.
 */
export function* syntheticPortfolio(options: SyntheticPortfolioOptions): Generator<PortfolioLoan> {
  for (let i = 0; i < options.count; i++) yield syntheticLoan(i, options);
}
