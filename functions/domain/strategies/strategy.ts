import { sha256 } from "@noble/hashes/sha2.js";
import { utf8ToBytes } from "@noble/hashes/utils.js";
import { compare, type Money } from "../money.ts";

/**
 * A strategy chooses the dunning policy a loan runs from what is known about it (its segment), and may split a
 * segment between a champion policy and challengers to compare them. Pure: it hashes with a portable SHA-256 so
 * the console can show the same assignment the server makes.
 */

/** What the lender knows about why a borrower is late. */
export const CUSTOMER_TYPES = ["temporary", "malicious", "severe", "bankrupt"] as const;
export type CustomerType = (typeof CUSTOMER_TYPES)[number];

export const GRADES = ["A", "B", "C", "D", "E"] as const;
export type Grade = (typeof GRADES)[number];

/** Numbers from `min` (inclusive) to `max` (exclusive); an absent side is open. */
export interface Range {
  min?: number;
  max?: number;
}

/** Amounts in one currency, as decimal strings, from `min` (inclusive) to `max` (exclusive). */
export interface AmountRange {
  currency: string;
  min?: string;
  max?: string;
}

/** Every condition given must hold; a condition on a fact the loan lacks does not hold. */
export interface SegmentConditions {
  score?: Range;
  grade?: Grade[];
  product?: string[];
  amount?: AmountRange;
  daysPastDue?: Range;
  customerType?: CustomerType[];
  brokenPromises?: Range;
  timeZone?: string[];
  /** ISO 3166 alpha-2, e.g. "CN". */
  country?: string[];
}

export const CONDITION_FIELDS = [
  "score",
  "grade",
  "product",
  "amount",
  "daysPastDue",
  "customerType",
  "brokenPromises",
  "timeZone",
  "country",
] as const satisfies readonly (keyof SegmentConditions)[];

/** The arm every split has: the policy in use, which challengers are measured against. */
export const CHAMPION = "champion";

export interface StrategyArm {
  arm: string;
  policyId: string;
  /** Whole percent of the segment's loans on this arm. */
  percent: number;
}

/** A segment and what its loans run: one policy, or a split between a champion and challengers. */
export interface StrategyRule {
  segment: string;
  /** Absent or empty: every loan. */
  when?: SegmentConditions;
  policyId?: string;
  split?: StrategyArm[];
}

export interface StrategyRules {
  /** Tried in order: a loan belongs to the first segment it matches (none: it keeps its policy). */
  rules: StrategyRule[];
  description?: string;
}

export interface Strategy extends StrategyRules {
  id: string;
  version: number;
  createdAt: string;
  createdBy: string;
}

export interface SegmentFacts {
  score?: number;
  grade?: Grade;
  product?: string;
  amount: Money;
  daysPastDue: number;
  customerType?: CustomerType;
  brokenPromises: number;
  timeZone: string;
  country?: string;
}

/** The policy a strategy gives a loan, and why. */
export interface Assignment {
  strategy: { id: string; version: number };
  segment: string;
  arm: string;
  policyId: string;
  reason: string;
}

/** Buckets per loan: a percent is 100 of them, so splits are exact to the percent. */
export const BUCKETS = 10_000;

function inRange(value: number, range: Range): boolean {
  return (range.min === undefined || value >= range.min) && (range.max === undefined || value < range.max);
}

function inAmountRange(value: Money, range: AmountRange): boolean {
  if (value.currency !== range.currency) return false;
  const side = (amount: string) => compare(value, { amount, currency: range.currency });
  return (
    (range.min === undefined || side(range.min) >= 0) && (range.max === undefined || side(range.max) < 0)
  );
}

function listed<T>(value: T | undefined, list: readonly T[]): boolean {
  return value !== undefined && list.includes(value);
}

function ranged(value: number | undefined, range: Range): boolean {
  return value !== undefined && inRange(value, range);
}

/** Whether one condition holds for the loan's facts. */
function holds(
  when: SegmentConditions,
  field: (typeof CONDITION_FIELDS)[number],
  facts: SegmentFacts,
): boolean {
  switch (field) {
    case "score":
    case "daysPastDue":
    case "brokenPromises":
      return ranged(facts[field], when[field] as Range);
    case "amount":
      return inAmountRange(facts.amount, when.amount as AmountRange);
    default:
      return listed(facts[field], when[field] as readonly string[]);
  }
}

/** The conditions a rule actually sets (an undefined value sets none). */
export function conditionsOf(when: SegmentConditions | undefined): (typeof CONDITION_FIELDS)[number][] {
  return CONDITION_FIELDS.filter((field) => when?.[field] !== undefined);
}

export function ruleMatches(rule: StrategyRule, facts: SegmentFacts): boolean {
  const when = rule.when ?? {};
  return conditionsOf(when).every((field) => holds(when, field, facts));
}

/** The first rule whose every condition holds for the loan; a rule with none matches every loan. */
export function matchRule(rules: StrategyRules, facts: SegmentFacts): StrategyRule | undefined {
  return rules.rules.find((rule) => ruleMatches(rule, facts));
}

/**
 * The loan's bucket (0–9999) in a segment of a strategy: the same loan always lands in the same bucket, and the
 * strategy and segment are hashed in so one loan is not on the challenger of every split at once.
 */
export function bucketOf(tenantId: string, loanId: string, strategyId: string, segment: string): number {
  const digest = sha256(utf8ToBytes(`${tenantId}\n${loanId}\n${strategyId}\n${segment}`));
  return new DataView(digest.buffer, digest.byteOffset, 4).getUint32(0) % BUCKETS;
}

/** The arm a bucket falls on: the split's percents laid end to end in the order listed. */
export function chooseArm(rule: StrategyRule, bucket: number): StrategyArm {
  if (rule.policyId !== undefined) return { arm: CHAMPION, policyId: rule.policyId, percent: 100 };
  const split = rule.split ?? [];
  let upTo = 0;
  for (const arm of split) {
    upTo += arm.percent * (BUCKETS / 100);
    if (bucket < upTo) return arm;
  }
  const last = split.at(-1);
  if (!last) throw new RangeError(`segment "${rule.segment}" has neither a policy nor a split`);
  return last;
}

function describeRange(range: Range | AmountRange): string {
  const unit = "currency" in range ? `${range.currency} ` : "";
  const sides = [
    range.min === undefined ? null : `≥ ${unit}${range.min}`,
    range.max === undefined ? null : `< ${unit}${range.max}`,
  ];
  return sides.filter((side) => side !== null).join(" and ");
}

/** A rule's conditions in a few words: `customerType malicious`, `daysPastDue ≥ 90`, or `every loan`. */
export function describeConditions(when: SegmentConditions | undefined): string {
  const parts = conditionsOf(when).map((field) => {
    const value = when?.[field];
    return `${field} ${Array.isArray(value) ? value.join("|") : describeRange(value as Range | AmountRange)}`;
  });
  return parts.length === 0 ? "every loan" : parts.join(", ");
}

/**
 * The policy the strategy gives a loan now, or undefined when it matches no segment (the loan keeps its policy).
 * Sticky: while the loan stays in the segment of its previous assignment by this strategy, it keeps that
 * assignment, whatever later versions say, so a comparison between arms is never muddled by loans crossing over.
 */
export function assign(
  strategy: Strategy,
  tenantId: string,
  loanId: string,
  facts: SegmentFacts,
  previous?: Assignment,
): Assignment | undefined {
  const rule = matchRule(strategy, facts);
  if (!rule) return undefined;
  if (previous && previous.strategy.id === strategy.id && previous.segment === rule.segment) return previous;
  const chosen = chooseArm(rule, bucketOf(tenantId, loanId, strategy.id, rule.segment));
  const split = rule.split ? ` of a ${rule.split.map((arm) => arm.percent).join("/")} split` : "";
  return {
    strategy: { id: strategy.id, version: strategy.version },
    segment: rule.segment,
    arm: chosen.arm,
    policyId: chosen.policyId,
    reason: `segment "${rule.segment}" (${describeConditions(rule.when)}), arm "${chosen.arm}"${split}`,
  };
}
