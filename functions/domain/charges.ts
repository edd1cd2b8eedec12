import { DateTime } from "luxon";
import { add, compare, type Money, money, subtract, toDecimal } from "./money.ts";

/** Late fee and penalty interest (罚息) a policy charges after the due date, with a lawful cap. */
export interface Charges {
  /** Flat fee in the loan's currency, charged once when the case is `lateFeeAfterDays` past due. */
  lateFee: string;
  lateFeeAfterDays: number;
  /** Daily penalty rate on the outstanding principal, e.g. "0.0005" for 0.05 % a day. */
  dailyPenaltyRate: string;
  /** Fees plus interest never exceed this percentage of the original principal (at most MAX_CAP_PERCENT). */
  capPercentOfPrincipal: string;
}

/**
 * The highest cap a policy may set. With it a case never owes more than twice its principal, so with amounts
 * bounded by MAX_AMOUNT every balance stays far inside the Money schema.
 */
export const MAX_CAP_PERCENT = 100;

export const NO_CHARGES: Charges = {
  lateFee: "0",
  lateFeeAfterDays: 1,
  dailyPenaltyRate: "0",
  capPercentOfPrincipal: "0",
};

/** What the borrower owes, split the way payments are allocated. */
export interface Outstanding {
  principal: Money;
  fees: Money;
  interest: Money;
  /** Every fee and interest amount ever charged (paid or not): the cap applies to this. */
  charged: Money;
  /** Borrower-local date through which penalty interest has been charged; null before any. */
  accruedThrough: string | null;
  lateFeeCharged: boolean;
}

export function balanceOf(o: Pick<Outstanding, "principal" | "fees" | "interest">): Money {
  return add(add(o.principal, o.fees), o.interest);
}

export function freshOutstanding(principal: Money): Outstanding {
  const zero = money(0, principal.currency);
  return {
    principal,
    fees: zero,
    interest: zero,
    charged: zero,
    accruedThrough: null,
    lateFeeCharged: false,
  };
}

interface AccrualTerms {
  dueDate: string;
  timeZone: string;
  /** The original principal, base of the cap. */
  amountDue: Money;
}

function places(currency: string): number {
  return money(0, currency).amount.split(".")[1]?.length ?? 0;
}

/** Calendar days from one ISO date to another, free of time zones and DST (some zones skip midnight). */
function daysBetween(from: string, to: string): number {
  return Math.round(
    DateTime.fromISO(to, { zone: "utc" }).diff(DateTime.fromISO(from, { zone: "utc" }), "days").days,
  );
}

function capRoom(o: Outstanding, terms: AccrualTerms, charges: Charges): Money {
  const currency = terms.amountDue.currency;
  const cap = toDecimal(terms.amountDue)
    .times(charges.capPercentOfPrincipal)
    .dividedBy(100)
    .toDecimalPlaces(places(currency), 1 /* ROUND_DOWN: never over the cap */);
  const room = cap.minus(toDecimal(o.charged));
  return money(room.isPositive() ? room.toFixed(places(currency)) : 0, currency);
}

function capped(amount: Money, room: Money): Money {
  return compare(amount, room) > 0 ? room : amount;
}

/**
 * Charges the late fee and the daily penalty interest up to `now` (borrower-local calendar days after the
 * due date). Interest is the outstanding principal times the daily rate, rounded half-even to the
 * currency's minor unit each day. Everything ever charged stays under the cap, however much was paid.
 */
export function accrue(o: Outstanding, terms: AccrualTerms, charges: Charges, now: Date): Outstanding {
  const today = DateTime.fromJSDate(now).setZone(terms.timeZone).toISODate() as string;
  const daysPastDue = daysBetween(terms.dueDate, today);
  if (daysPastDue <= 0) return o;
  const currency = o.principal.currency;
  let next = { ...o };

  if (
    !next.lateFeeCharged &&
    daysPastDue >= charges.lateFeeAfterDays &&
    toDecimal({ amount: charges.lateFee, currency }).gt(0)
  ) {
    const fee = capped(money(charges.lateFee, currency), capRoom(next, terms, charges));
    next = { ...next, fees: add(next.fees, fee), charged: add(next.charged, fee), lateFeeCharged: true };
  }

  const from =
    next.accruedThrough && next.accruedThrough > terms.dueDate ? next.accruedThrough : terms.dueDate;
  const days = daysBetween(from, today);
  if (days <= 0) return next; // already charged through today (or the clock stepped back): nothing more
  if (toDecimal({ amount: charges.dailyPenaltyRate, currency }).gt(0)) {
    const daily = toDecimal(next.principal)
      .times(charges.dailyPenaltyRate)
      .toDecimalPlaces(places(currency), 6 /* HALF_EVEN */);
    const interest = capped(
      money(daily.times(days).toFixed(places(currency)), currency),
      capRoom(next, terms, charges),
    );
    next = { ...next, interest: add(next.interest, interest), charged: add(next.charged, interest) };
  }
  return { ...next, accruedThrough: today };
}

export interface Allocation {
  fees: Money;
  interest: Money;
  principal: Money;
}

/** Allocates a payment to fees, then interest, then principal. The caller ensures it fits the balance. */
export function allocatePayment(
  o: Outstanding,
  amount: Money,
): { outstanding: Outstanding; allocation: Allocation } {
  let left = amount;
  const take = (owed: Money): Money => {
    const part = compare(left, owed) > 0 ? owed : left;
    left = subtract(left, part);
    return part;
  };
  const fees = take(o.fees);
  const interest = take(o.interest);
  const principal = take(o.principal);
  return {
    outstanding: {
      ...o,
      fees: subtract(o.fees, fees),
      interest: subtract(o.interest, interest),
      principal: subtract(o.principal, principal),
    },
    allocation: { fees, interest, principal },
  };
}
