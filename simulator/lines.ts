import { parsePhoneNumberFromString } from "libphonenumber-js/mobile";
import { add, type Money } from "../functions/domain/money.ts";
import type { Policy } from "../functions/domain/policy.ts";
import { segmentFacts } from "../functions/domain/strategies/case-segment.ts";
import {
  type Assignment,
  assign,
  CHAMPION,
  conditionsOf,
  type SegmentFacts,
  type StrategyRules,
} from "../functions/domain/strategies/strategy.ts";
import { canonicalTimeZone } from "../functions/domain/time.ts";
import type { LoanProfile } from "./customers.ts";
import { SIM_TENANT } from "./engine.ts";
import { paymentFactor } from "./payments.ts";
import { dueDatesOf, type PortfolioLoan } from "./portfolio.ts";
import type { RunSettings, StrategySettings } from "./settings.ts";

/**
 * What one tally of a run counts. Without a strategy, a line is a policy run over every loan (policies side by side);
 * with one, a line is a segment and arm of the strategy, over the loans assigned to it.
 */
export interface Line {
  policy: Policy;
  segment?: string;
  arm?: string;
}

/** The segment of loans that match no rule of the strategy, when a default policy takes them. */
export const UNMATCHED_SEGMENT = "(unmatched)";

/** The lines of a run, in an order every worker finds the same: the rules' order, each split's arms in order. */
export function linesOf(settings: RunSettings): Line[] {
  const chosen = settings.strategy;
  if (!chosen) return settings.policies.map((policy) => ({ policy }));
  const policy = (id: string): Policy => {
    const found = settings.policies.find((p) => p.id === id);
    if (!found) throw new Error(`strategy "${chosen.strategy.id}" names policy "${id}", which is not given`);
    return found;
  };
  const lines: Line[] = chosen.strategy.rules.flatMap(({ segment, policyId, split }) =>
    policyId !== undefined
      ? [{ segment, arm: CHAMPION, policy: policy(policyId) }]
      : (split ?? []).map((arm) => ({ segment, arm: arm.arm, policy: policy(arm.policyId) })),
  );
  if (chosen.fallbackPolicyId !== undefined)
    lines.push({ segment: UNMATCHED_SEGMENT, arm: CHAMPION, policy: policy(chosen.fallbackPolicyId) });
  return lines;
}

/** A line a loan runs on, and how much likelier than the model's shares it is to pay there (see paymentFactor). */
export interface Routed {
  line: number;
  factor: number;
}

/**
 * The lines of loan `index`: every line without a strategy, the one of its assignment with one. The loan and its
 * profile are asked for only when needed (a synthetic loan is built from its index).
 */
export type Router = (index: number, loan: () => PortfolioLoan, profile: () => LoanProfile) => Routed[];

export function routerOf(settings: RunSettings, lines: readonly Line[]): Router {
  const { payments, strategy } = settings;
  if (!strategy) {
    // Without customer types in the model every factor is 1: one answer serves every loan.
    const plain = lines.map((_, line) => ({ line, factor: 1 }));
    if (!payments.customerTypes) return () => plain;
    return (_index, _loan, profile) => {
      const { customerType } = profile();
      return lines.map((l, line) => ({ line, factor: paymentFactor(payments, customerType, l.policy.id) }));
    };
  }
  const lineOf = new Map(lines.map((l, n) => [`${l.segment}\n${l.arm}`, n]));
  const assigner = assignerOf(strategy, settings.startMs);
  return (_index, loan, profile) => {
    const built = loan();
    const known = profile();
    const assignment = assigner(built, known);
    const key = assignment ? `${assignment.segment}\n${assignment.arm}` : `${UNMATCHED_SEGMENT}\n${CHAMPION}`;
    const line = lineOf.get(key);
    if (line === undefined) throw new Error(unmatchedMessage(strategy, 1));
    const policyId = (lines[line] as Line).policy.id;
    return [{ line, factor: paymentFactor(payments, known.customerType, policyId) }];
  };
}

export function unmatchedMessage(chosen: StrategySettings, count: number, total?: number): string {
  const of = total === undefined ? "" : ` of ${total}`;
  return (
    `${count}${of} loan(s) match no rule of strategy "${chosen.strategy.id}" and no default policy is given: ` +
    "add a default policy (default.json in --policies) or a last rule without conditions"
  );
}

/** Whether a rule has no condition, so that every loan matches some rule. */
export function matchesEveryLoan(rules: StrategyRules): boolean {
  return rules.rules.some((rule) => conditionsOf(rule.when).length === 0);
}

/** Assigns a loan as the strategy assigns it when the loan is subscribed, at `startMs` (see factsOf). */
export function assignerOf(
  chosen: StrategySettings,
  startMs: number,
): (loan: PortfolioLoan, profile: LoanProfile) => Assignment | undefined {
  // The phone is parsed only when a rule asks for the country.
  const withCountry = chosen.strategy.rules.some((rule) => rule.when?.country !== undefined);
  const now = new Date(startMs);
  return (loan, profile) =>
    assign(chosen.strategy, SIM_TENANT, loan.loanId, factsOf(loan, profile, withCountry, now));
}

/**
 * What a strategy knows of a loan as it is subscribed at `now`, as the product works it out (segmentFacts): its
 * profile, its amount, its days past due (0 until the due date; the first installment's on a schedule),
 * no promise broken yet, its borrower's zone and, when asked for, the country of the borrower's phone.
 */
export function factsOf(
  loan: PortfolioLoan,
  profile: LoanProfile,
  withCountry: boolean,
  now: Date,
): SegmentFacts {
  const country = withCountry && loan.borrower.phone ? countryOf(loan.borrower.phone) : undefined;
  const timeZone = canonicalZone(loan.borrower.timeZone);
  const [dueDate = ""] = dueDatesOf(loan);
  return segmentFacts(
    { ...profile, amountDue: amountOf(loan), dueDate, borrower: { timeZone } },
    now,
    country,
  );
}

/** Canonical spellings by zone: working one out builds a formatter, far dearer than the rest of the facts. */
const canonicalZones = new Map<string, string>();

/** A zone as the product keeps a borrower's, in its canonical spelling (which rules on the zone name use). */
function canonicalZone(zone: string): string {
  let canonical = canonicalZones.get(zone);
  if (canonical === undefined) {
    canonical = canonicalTimeZone(zone) ?? zone;
    if (canonicalZones.size >= 1000) canonicalZones.clear();
    canonicalZones.set(zone, canonical);
  }
  return canonical;
}

function countryOf(phone: string): string | undefined {
  return parsePhoneNumberFromString(phone)?.country;
}

/** The amount a loan owes: its amountDue, or its schedule's sum. */
function amountOf(loan: PortfolioLoan): Money {
  if (loan.amountDue) return loan.amountDue;
  const [first, ...rest] = (loan.schedule ?? []).map((installment) => installment.amount);
  if (!first) throw new Error(`loan ${loan.loanId} has neither amountDue nor a schedule`);
  return rest.reduce<Money>((sum, amount) => add(sum, amount), first);
}
