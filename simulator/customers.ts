import {
  CUSTOMER_TYPES,
  type CustomerType,
  GRADES,
  type Grade,
} from "../functions/domain/strategies/strategy.ts";
import {
  borrowerGroup,
  mixSeed,
  type PortfolioLoan,
  type SyntheticPortfolioOptions,
  seededRandom,
} from "./portfolio.ts";

/**
 * What a lender knows of a borrower and a loan beyond its terms: a risk score and grade, the product, and why the
 * borrower is late. Strategies segment on it and the payment model may weigh it. A synthetic portfolio draws it per
 * borrower (score, customer type) and per loan (product), from streams of their own: the loans' other draws are the
 * same with or without it.
 */
export interface LoanProfile {
  risk?: { score: number; grade?: Grade };
  product?: string;
  customerType?: CustomerType;
}

/** Borrowers the lender has not assessed: their loans have no customer type. */
export const UNASSESSED = "unassessed";
export const MIX_KEYS = [...CUSTOMER_TYPES, UNASSESSED] as const;
export type CustomerMix = Record<(typeof MIX_KEYS)[number], number>;

/**
 * Most late borrowers are short for a while; some will not pay, some cannot for long, a few are bankrupt, and a
 * tenth have not been assessed (a strategy's rule on the customer type does not match them).
 */
export const DEFAULT_CUSTOMER_MIX: CustomerMix = {
  temporary: 0.55,
  malicious: 0.18,
  severe: 0.13,
  bankrupt: 0.04,
  unassessed: 0.1,
};

/** Products of synthetic loans and their shares. */
export const SYNTHETIC_PRODUCTS: readonly { product: string; share: number }[] = [
  { product: "personal", share: 0.5 },
  { product: "card", share: 0.25 },
  { product: "auto", share: 0.15 },
  { product: "sme", share: 0.1 },
];

/** The lowest score of each grade, best first. */
export const GRADE_FLOORS: readonly { grade: Grade; min: number }[] = [
  { grade: "A", min: 800 },
  { grade: "B", min: 700 },
  { grade: "C", min: 600 },
  { grade: "D", min: 500 },
  { grade: "E", min: 0 },
];

export function gradeOf(score: number): Grade {
  return (GRADE_FLOORS.find((floor) => score >= floor.min) ?? { grade: "E" }).grade;
}

/** Where each type's scores centre: the temporarily short have kept their record, the bankrupt have not. */
const SCORE_CENTRE: CustomerMix = {
  temporary: 720,
  malicious: 560,
  severe: 480,
  bankrupt: 320,
  unassessed: 620,
};
/** Scores spread up to this far either side of the centre, most of them near it. */
const SCORE_REACH = 240;

/** The entry a uniform draw `r` falls on, shares laid end to end; the last entry with a share takes the rest. */
function pick<T>(entries: readonly { value: T; share: number }[], r: number): T {
  let upTo = 0;
  for (const entry of entries) {
    upTo += entry.share;
    if (r < upTo) return entry.value;
  }
  return (entries.filter((entry) => entry.share > 0).at(-1) ?? (entries[0] as { value: T })).value;
}

/** The profile of synthetic loan `index`: its borrower's type and score, its own product. */
export function syntheticProfile(index: number, options: SyntheticPortfolioOptions): LoanProfile {
  const mix = options.customerMix ?? DEFAULT_CUSTOMER_MIX;
  const borrower = borrowerGroup(index, options.count).first;
  const draw = seededRandom(mixSeed(options.seed ^ 0x68e31da4, borrower));
  const kind = pick(
    MIX_KEYS.map((value) => ({ value, share: mix[value] })),
    draw(),
  );
  // Three uniform draws added: a bell around the type's centre.
  const bell = (draw() + draw() + draw()) / 1.5 - 1;
  const score = Math.min(1000, Math.max(0, Math.round(SCORE_CENTRE[kind] + bell * SCORE_REACH)));
  const product = pick(
    SYNTHETIC_PRODUCTS.map((p) => ({ value: p.product, share: p.share })),
    seededRandom(mixSeed(options.seed ^ 0x2f6b8c1d, index))(),
  );
  return {
    risk: { score, grade: gradeOf(score) },
    product,
    ...(kind !== UNASSESSED ? { customerType: kind } : {}),
  };
}

/** A supplied loan's profile, as its line states it (a risk without a grade has none, as in the product). */
export function profileOf(loan: PortfolioLoan): LoanProfile {
  return {
    ...(loan.risk ? { risk: loan.risk } : {}),
    ...(loan.product !== undefined ? { product: loan.product } : {}),
    ...(loan.customerType !== undefined ? { customerType: loan.customerType } : {}),
  };
}

/** Why a portfolio line's profile fields cannot be read (null when they can, or are absent). */
export function profileProblem(loan: PortfolioLoan): string | null {
  const risk: unknown = loan.risk;
  if (risk !== undefined) {
    const { score, grade } = (risk ?? {}) as { score?: unknown; grade?: unknown };
    if (typeof score !== "number" || !Number.isInteger(score) || score < 0 || score > 1000)
      return "risk.score: expected a whole number from 0 to 1000";
    if (grade !== undefined && !(GRADES as readonly unknown[]).includes(grade))
      return `risk.grade: expected one of ${GRADES.join(", ")}`;
  }
  const product: unknown = loan.product;
  if (product !== undefined && (typeof product !== "string" || product.length < 1 || product.length > 64))
    return "product: expected 1–64 characters";
  if (loan.customerType !== undefined && !(CUSTOMER_TYPES as readonly unknown[]).includes(loan.customerType))
    return `customerType: expected one of ${CUSTOMER_TYPES.join(", ")}`;
  return null;
}

/**
 * A customer mix as the command line gives it, `temporary=0.6,malicious=0.2,severe=0.15,bankrupt=0.05`: types left
 * out (and `unassessed`, borrowers of no type) have no borrowers; the shares add up to 1. Throws with what is wrong.
 */
export function parseCustomerMix(text: string): CustomerMix {
  const mix: CustomerMix = { temporary: 0, malicious: 0, severe: 0, bankrupt: 0, unassessed: 0 };
  const seen = new Set<string>();
  for (const part of text.split(",")) {
    const [type = "", value = ""] = part.split("=").map((s) => s.trim());
    if (!(MIX_KEYS as readonly string[]).includes(type))
      throw new Error(`"${type}" is no customer type; known: ${MIX_KEYS.join(", ")}`);
    if (seen.has(type)) throw new Error(`${type} is given twice`);
    seen.add(type);
    const share = Number(value);
    if (value === "" || !(share >= 0 && share <= 1)) throw new Error(`${type}: expected a share from 0 to 1`);
    mix[type as keyof CustomerMix] = share;
  }
  const total = MIX_KEYS.reduce((sum, type) => sum + mix[type], 0);
  if (Math.abs(total - 1) > 1e-6) throw new Error(`the shares add up to ${total}, not 1`);
  return mix;
}

/** A mix as the command line writes it, types without borrowers left out. */
export function mixLabel(mix: CustomerMix): string {
  return MIX_KEYS.filter((key) => mix[key] > 0)
    .map((key) => `${key}=${mix[key]}`)
    .join(",");
}
