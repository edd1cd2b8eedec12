import { DateTime } from "luxon";
import { InputOutOfRangeError } from "./errors.ts";
import { add, compare, exceedsMaxAmount, isPositive, MAX_AMOUNT, type Money, money } from "./money.ts";

/**
 * The terms a loan is subscribed with: one `dueDate` and its `amountDue`, or a repayment `schedule`. Kept apart
 * from the case model so the API edge checks a request with the very rules the domain applies.
 */

/** One payment of a schedule as the lender sends it. */
export interface ScheduledPayment {
  dueDate: string;
  amount: Money;
}

export interface LoanTerms {
  /** Required with `dueDate`; with a schedule, optional and then equal to its sum. */
  amountDue?: Money | undefined;
  /** Exactly one of `dueDate` and `schedule`. */
  dueDate?: string | undefined;
  schedule?: ScheduledPayment[] | undefined;
}

export interface TermsIssue {
  path: string;
  message: string;
}

/** One payment is a `dueDate`; 360 is thirty years of monthly installments. */
export const MIN_SCHEDULE_INSTALLMENTS = 2;
export const MAX_SCHEDULE_INSTALLMENTS = 360;
/** How far from today a loan's due date may be: further is a typo (2062 for 2026), not a loan to collect. */
export const MAX_DUE_DATE_YEARS = 10;

/** True once an installment is covered. */
export function isSettled(installment: { amount: Money; paid: Money }): boolean {
  return compare(installment.paid, installment.amount) >= 0;
}

/**
 * Every rule the terms break, each with the path of the offending field (empty when they hold): which form, the
 * number of installments, their order, one currency, amounts above zero, and a sum equal to `amountDue`.
 */
export function termsIssues(terms: LoanTerms): TermsIssue[] {
  const { schedule, dueDate, amountDue } = terms;
  if (schedule && dueDate !== undefined)
    return [{ path: "schedule", message: "send either dueDate or schedule, not both" }];
  if (!schedule) {
    if (dueDate === undefined)
      return [{ path: "dueDate", message: "is required unless a schedule is given" }];
    return amountDue ? [] : [{ path: "amountDue", message: "is required with dueDate" }];
  }
  if (schedule.length < MIN_SCHEDULE_INSTALLMENTS || schedule.length > MAX_SCHEDULE_INSTALLMENTS) {
    const range = `${MIN_SCHEDULE_INSTALLMENTS} to ${MAX_SCHEDULE_INSTALLMENTS} installments`;
    return [{ path: "schedule", message: `must have ${range} (a single payment is a dueDate)` }];
  }
  const issues = scheduleIssues(schedule);
  if (issues.length > 0) return issues;
  const currency = (schedule[0] as ScheduledPayment).amount.currency;
  const total = sumOf(schedule);
  if (exceedsMaxAmount(total.amount))
    return [
      { path: "schedule", message: `must add up to at most ${MAX_AMOUNT}, the largest amount accepted` },
    ];
  if (!amountDue) return [];
  if (amountDue.currency !== currency)
    return [{ path: "amountDue.currency", message: `must be ${currency}, the schedule's currency` }];
  if (compare(money(amountDue.amount, currency), total) !== 0)
    return [{ path: "amountDue.amount", message: `must equal the sum of the schedule, ${total.amount}` }];
  return [];
}

/** Per installment: after the previous one, in the first one's currency, above zero. */
function scheduleIssues(schedule: ScheduledPayment[]): TermsIssue[] {
  const issues: TermsIssue[] = [];
  const currency = (schedule[0] as ScheduledPayment).amount.currency;
  schedule.forEach(({ dueDate, amount }, index) => {
    const previous = schedule[index - 1];
    if (previous && dueDate <= previous.dueDate)
      issues.push({
        path: `schedule.${index}.dueDate`,
        message: `must be after the previous installment's (${previous.dueDate})`,
      });
    if (amount.currency !== currency)
      issues.push({
        path: `schedule.${index}.amount.currency`,
        message: `must be ${currency}, the first installment's currency`,
      });
    else if (!isPositive(amount))
      issues.push({ path: `schedule.${index}.amount.amount`, message: "must be greater than zero" });
  });
  return issues;
}

function sumOf(schedule: ScheduledPayment[]): Money {
  const currency = (schedule[0] as ScheduledPayment).amount.currency;
  return schedule.reduce((sum, i) => add(sum, money(i.amount.amount, currency)), money(0, currency));
}

/** The terms as the case holds them: the due date collection starts from, the amount due, the installments. */
export interface CaseTerms {
  dueDate: string;
  amountDue: Money;
  installments: { dueDate: string; amount: Money; paid: Money }[] | null;
}

/**
 * The terms of a subscription, amounts in their currency's minor units ("1250.5" CNY becomes "1250.50"). Throws
 * InputOutOfRangeError when they break a rule, or when a due date lies more than MAX_DUE_DATE_YEARS from today.
 */
export function caseTerms(terms: LoanTerms, zone: string, now: Date): CaseTerms {
  const issues = termsIssues(terms);
  if (issues.length > 0) throw new InputOutOfRangeError("the loan's terms are not valid", issues);
  if (!terms.schedule) {
    const { dueDate, amountDue } = terms as Required<Pick<LoanTerms, "dueDate" | "amountDue">>;
    assertDueDateInRange("dueDate", dueDate, zone, now);
    return { dueDate, amountDue: money(amountDue.amount, amountDue.currency), installments: null };
  }
  terms.schedule.forEach((i, index) => {
    assertDueDateInRange(`schedule.${index}.dueDate`, i.dueDate, zone, now);
  });
  const installments = terms.schedule.map((i) => {
    const amount = money(i.amount.amount, i.amount.currency);
    return { dueDate: i.dueDate, amount, paid: money(0, amount.currency) };
  });
  const first = installments[0] as { dueDate: string };
  return { dueDate: first.dueDate, amountDue: sumOf(terms.schedule), installments };
}

function assertDueDateInRange(path: string, dueDate: string, zone: string, now: Date): void {
  const today = DateTime.fromJSDate(now, { zone });
  const earliest = today.minus({ years: MAX_DUE_DATE_YEARS }).toISODate() as string;
  const latest = today.plus({ years: MAX_DUE_DATE_YEARS }).toISODate() as string;
  if (dueDate < earliest || dueDate > latest) {
    throw new InputOutOfRangeError(`${path} ${dueDate} is more than ${MAX_DUE_DATE_YEARS} years from today`, [
      { path, message: `must be from ${earliest} to ${latest}` },
    ]);
  }
}
