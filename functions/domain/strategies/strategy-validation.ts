import { compare, exceedsMaxAmount, isKnownCurrency, MAX_AMOUNT } from "../money.ts";
import type { PolicyIssue } from "../policy-validation.ts";
import { canonicalTimeZone } from "../time.ts";
import {
  type AmountRange,
  CHAMPION,
  CONDITION_FIELDS,
  CUSTOMER_TYPES,
  conditionsOf,
  GRADES,
  type Range,
  type SegmentConditions,
  type StrategyArm,
  type StrategyRule,
  type StrategyRules,
} from "./strategy.ts";

export type StrategyIssue = PolicyIssue;
type Report = (path: string, message: string) => void;

export const MAX_RULES = 50;
export const MIN_ARMS = 2;
export const MAX_ARMS = 5;
const NAME = /^[a-z0-9_-]{1,40}$/;
const DECIMAL = /^(0|[1-9]\d{0,14})(\.\d{1,8})?$/;
const COUNTRY = /^[A-Z]{2}$/;

/** The values each numeric condition may take; days past due start at the earliest pre-due step. */
const RANGE_BOUNDS = {
  score: { min: 0, max: 1000, whole: false },
  daysPastDue: { min: -60, max: 3650, whole: true },
  brokenPromises: { min: 0, max: 1000, whole: true },
} as const;
type RangeField = keyof typeof RANGE_BOUNDS;

/**
 * Every rule a strategy breaks, each with the path of the offending field (empty when it is valid): the rules
 * are well formed, name only policies in `knownPolicyIds`, and each can match some loan an earlier one does not.
 */
export function validateStrategy(rules: StrategyRules, knownPolicyIds: ReadonlySet<string>): StrategyIssue[] {
  const issues: StrategyIssue[] = [];
  const issue: Report = (path, message) => issues.push({ path, message });
  if (rules.rules.length === 0) issue("rules", "a strategy needs at least one rule");
  if (rules.rules.length > MAX_RULES) issue("rules", `a strategy has at most ${MAX_RULES} rules`);
  const seen = new Map<string, number>();
  const comparable: boolean[] = [];
  rules.rules.forEach((rule, i) => {
    const at = `rules[${i}]`;
    if (!NAME.test(rule.segment)) issue(`${at}.segment`, `must be 1–40 of a–z, 0–9, "_" and "-"`);
    const first = seen.get(rule.segment);
    if (first !== undefined)
      issue(`${at}.segment`, `duplicate segment "${rule.segment}" (also rules[${first}])`);
    else seen.set(rule.segment, i);
    checkTarget(rule, at, knownPolicyIds, issue);
    const before = issues.length;
    if (rule.when !== undefined) checkConditions(rule.when, `${at}.when`, issue);
    comparable.push(issues.length === before);
  });
  checkReachable(rules.rules, comparable, issue);
  return issues;
}

/** A rule runs one policy or a split, never both. */
function checkTarget(rule: StrategyRule, at: string, known: ReadonlySet<string>, issue: Report): void {
  if (rule.policyId !== undefined && rule.split !== undefined) {
    issue(at, "give either policyId or split, not both");
  } else if (rule.policyId === undefined && rule.split === undefined) {
    issue(at, "give a policyId or a split");
  }
  if (rule.policyId !== undefined && !known.has(rule.policyId))
    issue(`${at}.policyId`, `unknown policy "${rule.policyId}"`);
  if (rule.split !== undefined) checkSplit(rule.split, `${at}.split`, known, issue);
}

/** A champion and one to four challengers, each on a whole percent, together every loan of the segment. */
function checkSplit(split: StrategyArm[], at: string, known: ReadonlySet<string>, issue: Report): void {
  if (split.length < MIN_ARMS || split.length > MAX_ARMS)
    issue(at, `a split has ${MIN_ARMS} to ${MAX_ARMS} arms: a "${CHAMPION}" and at least one challenger`);
  const seen = new Map<string, number>();
  split.forEach((arm, j) => {
    if (!NAME.test(arm.arm)) issue(`${at}[${j}].arm`, `must be 1–40 of a–z, 0–9, "_" and "-"`);
    const first = seen.get(arm.arm);
    if (first !== undefined) issue(`${at}[${j}].arm`, `duplicate arm "${arm.arm}" (also split[${first}])`);
    else seen.set(arm.arm, j);
    if (!known.has(arm.policyId)) issue(`${at}[${j}].policyId`, `unknown policy "${arm.policyId}"`);
    if (!Number.isInteger(arm.percent) || arm.percent < 1 || arm.percent > 100)
      issue(`${at}[${j}].percent`, "must be a whole percent from 1 to 100");
  });
  const champions = split.filter((arm) => arm.arm === CHAMPION).length;
  if (champions !== 1) issue(at, `a split needs exactly one arm named "${CHAMPION}" (found ${champions})`);
  const total = split.reduce((sum, arm) => sum + arm.percent, 0);
  if (split.every((arm) => Number.isInteger(arm.percent)) && total !== 100)
    issue(at, `the percents must add up to 100 (they add up to ${total})`);
}

function checkConditions(when: SegmentConditions, at: string, issue: Report): void {
  const known: readonly string[] = CONDITION_FIELDS;
  for (const field of Object.keys(when)) {
    if (!known.includes(field)) issue(`${at}.${field}`, `unknown condition; known: ${known.join(", ")}`);
  }
  for (const field of Object.keys(RANGE_BOUNDS) as RangeField[]) {
    const range = when[field];
    if (range !== undefined) checkRange(range, field, `${at}.${field}`, issue);
  }
  if (when.amount !== undefined) checkAmount(when.amount, `${at}.amount`, issue);
  checkList(when.grade, `${at}.grade`, issue, oneOf(GRADES));
  checkList(when.customerType, `${at}.customerType`, issue, oneOf(CUSTOMER_TYPES));
  checkList(when.product, `${at}.product`, issue, (v) =>
    v.length > 0 && v.length <= 64 ? null : "must be 1–64 characters",
  );
  checkList(when.country, `${at}.country`, issue, (v) =>
    COUNTRY.test(v) ? null : 'must be an ISO 3166 alpha-2 code such as "CN"',
  );
  // Borrowers' zones are stored in their canonical spelling, so a condition must use it to ever match.
  checkList(when.timeZone, `${at}.timeZone`, issue, (zone) => {
    const canonical = canonicalTimeZone(zone);
    if (canonical === null) return "must be an IANA time zone such as Asia/Shanghai";
    return canonical === zone ? null : `write "${canonical}", the zone's canonical spelling`;
  });
}

function oneOf(values: readonly string[]): (value: string) => string | null {
  return (value) => (values.includes(value) ? null : `must be one of ${values.join(", ")}`);
}

/** A range has a side or two, each a valid value, the lower below the upper. */
function checkSides<T extends number | string>(
  range: { min?: T; max?: T },
  at: string,
  issue: Report,
  invalid: (value: T) => string | null,
  less: (a: T, b: T) => boolean,
): void {
  if (range.min === undefined && range.max === undefined) issue(at, "give min, max or both");
  let valid = true;
  for (const side of ["min", "max"] as const) {
    const value = range[side];
    const problem = value === undefined ? null : invalid(value);
    if (problem !== null) {
      issue(`${at}.${side}`, problem);
      valid = false;
    }
  }
  if (valid && range.min !== undefined && range.max !== undefined && !less(range.min, range.max))
    issue(at, `min (${range.min}) must be less than max (${range.max}, which is excluded)`);
}

function checkRange(range: Range, field: RangeField, at: string, issue: Report): void {
  const { min, max, whole } = RANGE_BOUNDS[field];
  const invalid = (value: number) =>
    (whole ? Number.isInteger(value) : Number.isFinite(value)) && value >= min && value <= max
      ? null
      : `must be ${whole ? "a whole number" : "a number"} from ${min} to ${max}`;
  checkSides(range, at, issue, invalid, (a, b) => a < b);
}

function checkAmount(range: AmountRange, at: string, issue: Report): void {
  if (!isKnownCurrency(range.currency))
    issue(`${at}.currency`, 'must be an ISO 4217 currency code such as "CNY"');
  const invalid = (value: string) =>
    DECIMAL.test(value) && !exceedsMaxAmount(value)
      ? null
      : `must be a non-negative decimal string such as "5000.00", at most ${MAX_AMOUNT}`;
  checkSides(range, at, issue, invalid, (a, b) => lessAmount(a, b, range.currency));
}

function lessAmount(a: string, b: string, currency: string): boolean {
  return compare({ amount: a, currency }, { amount: b, currency }) < 0;
}

/** A list condition names at least one value, each once, each a value the fact can take. */
function checkList(
  list: readonly string[] | undefined,
  at: string,
  issue: Report,
  invalid: (value: string) => string | null,
): void {
  if (list === undefined) return;
  if (list.length === 0) issue(at, "list at least one value");
  list.forEach((value, k) => {
    const problem = typeof value === "string" ? invalid(value) : "must be a string";
    if (problem !== null) issue(`${at}[${k}]`, problem);
  });
  if (new Set(list).size !== list.length) issue(at, "a value is listed twice");
}

/**
 * A rule no loan can reach: an earlier rule matches every loan it matches. Only one earlier rule is compared at
 * a time (two that together cover it are not found), and rules with invalid conditions are left out.
 */
function checkReachable(rules: StrategyRule[], comparable: boolean[], issue: Report): void {
  rules.forEach((later, j) => {
    if (!comparable[j]) return;
    const i = rules.findIndex((earlier, k) => k < j && comparable[k] && covers(earlier.when, later.when));
    const earlier = rules[i];
    if (!earlier) return;
    issue(
      later.when === undefined ? `rules[${j}]` : `rules[${j}].when`,
      `unreachable: rules[${i}] ("${earlier.segment}") already matches every loan this rule matches`,
    );
  });
}

/** True when every loan `narrow` matches is matched by `wide`: each condition of `wide` is as wide in `narrow`. */
export function covers(wide: SegmentConditions | undefined, narrow: SegmentConditions | undefined): boolean {
  return conditionsOf(wide).every((field) => {
    const a = wide?.[field];
    const b = narrow?.[field];
    if (b === undefined) return false;
    if (Array.isArray(a)) return (b as readonly string[]).every((value) => (a as string[]).includes(value));
    if (field === "amount") return amountInside(b as AmountRange, a as AmountRange);
    return rangeInside(b as Range, a as Range);
  });
}

function rangeInside(inner: Range, outer: Range): boolean {
  const min = outer.min === undefined || (inner.min !== undefined && inner.min >= outer.min);
  const max = outer.max === undefined || (inner.max !== undefined && inner.max <= outer.max);
  return min && max;
}

function amountInside(inner: AmountRange, outer: AmountRange): boolean {
  if (inner.currency !== outer.currency) return false;
  const less = (a: string, b: string) => lessAmount(a, b, outer.currency);
  const min = outer.min === undefined || (inner.min !== undefined && !less(inner.min, outer.min));
  const max = outer.max === undefined || (inner.max !== undefined && !less(outer.max, inner.max));
  return min && max;
}

/**
 * The rules with a split segment settled on one arm: its rule runs that arm's policy alone. Loans already on
 * another arm keep their assignment (assignments are sticky); new loans of the segment all get the promoted policy.
 */
export function promote(
  strategy: StrategyRules,
  segment: string,
  arm: string,
): StrategyRules | StrategyIssue {
  const i = strategy.rules.findIndex((rule) => rule.segment === segment);
  const rule = strategy.rules[i];
  if (!rule) return { path: "segment", message: `no rule for segment "${segment}"` };
  if (!rule.split)
    return {
      path: `rules[${i}]`,
      message: `segment "${segment}" runs one policy; it has no split to promote from`,
    };
  const chosen = rule.split.find((a) => a.arm === arm);
  if (!chosen) {
    const arms = rule.split.map((a) => a.arm).join(", ");
    return { path: "arm", message: `no arm "${arm}" in segment "${segment}"; arms: ${arms}` };
  }
  if (arm === CHAMPION)
    return { path: "arm", message: `"${arm}" is already the champion of segment "${segment}"` };
  const { split: _split, ...kept } = rule;
  const promoted: StrategyRule = { ...kept, policyId: chosen.policyId };
  return { ...strategy, rules: strategy.rules.map((r, k) => (k === i ? promoted : r)) };
}
