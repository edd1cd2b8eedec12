import { Decimal as BaseDecimal } from "decimal.js";

/** Money never rounds silently: 40 significant digits is far beyond any amount the API accepts. */
const Decimal = BaseDecimal.clone({ precision: 40 });
type Decimal = InstanceType<typeof Decimal>;

/** An amount of money: a decimal string (never a float) and an ISO 4217 currency code. */
export interface Money {
  amount: string;
  currency: string;
}

/** Minor units by currency: building an Intl.NumberFormat costs more than all the arithmetic it serves. */
const MINOR_UNITS = new Map<string, number>();

/** Digits after the decimal point for a currency, as Intl knows them (JPY 0, CNY 2, KWD 3...). */
export function minorUnits(currency: string): number {
  let units = MINOR_UNITS.get(currency);
  if (units === undefined) {
    units =
      new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ??
      2;
    // Only codes Intl accepted get here (an unknown one throws above), so the map stays small.
    MINOR_UNITS.set(currency, units);
  }
  return units;
}

export function isKnownCurrency(currency: string): boolean {
  if (!/^[A-Z]{3}$/.test(currency)) return false;
  return (Intl.supportedValuesOf("currency") as string[]).includes(currency);
}

/** Normalises a money value to its currency's minor units; rejects more precision than the currency has. */
export function money(amount: BaseDecimal.Value, currency: string): Money {
  const value = new Decimal(amount);
  if (!value.isFinite()) throw new RangeError("an amount must be a finite number");
  const places = minorUnits(currency);
  if (value.decimalPlaces() > places) {
    throw new RangeError(`${currency} amounts have at most ${places} decimal places`);
  }
  return { amount: value.toFixed(places), currency };
}

/**
 * The largest amount the product accepts, in the currency's major unit: a loan, a payment, a promise, a
 * settlement, an installment or a policy's late fee. A case owes at most its principal plus charges capped at
 * 100 % of it, so no balance exceeds twice this.
 */
export const MAX_AMOUNT = "1000000000";

/**
 * Every amount the API answers is below this: the Money schema allows at most 15 digits before the decimal point.
 * Report totals that would reach it are capped (see `ceilingOf`).
 */
export const MONEY_LIMIT = "1000000000000000";

/** True when a decimal string is above MAX_AMOUNT. */
export function exceedsMaxAmount(amount: string): boolean {
  return new Decimal(amount).greaterThan(MAX_AMOUNT);
}

/** The largest amount the Money schema can carry in a currency: 999999999999999.99 for CNY, …999 for JPY. */
export function ceilingOf(currency: string): Money {
  const places = minorUnits(currency);
  return money(new Decimal(MONEY_LIMIT).minus(new Decimal(10).pow(-places)), currency);
}

export function toDecimal(value: Money): Decimal {
  return new Decimal(value.amount);
}

function sameCurrency(a: Money, b: Money): void {
  if (a.currency !== b.currency) throw new RangeError(`currency ${b.currency} does not match ${a.currency}`);
}

export function subtract(a: Money, b: Money): Money {
  sameCurrency(a, b);
  return money(toDecimal(a).minus(toDecimal(b)), a.currency);
}

export function add(a: Money, b: Money): Money {
  sameCurrency(a, b);
  return money(toDecimal(a).plus(toDecimal(b)), a.currency);
}

export function compare(a: Money, b: Money): number {
  sameCurrency(a, b);
  return toDecimal(a).comparedTo(toDecimal(b));
}

export function isPositive(a: Money): boolean {
  return toDecimal(a).greaterThan(0);
}

export function isZero(a: Money): boolean {
  return toDecimal(a).isZero();
}

/** Locale formatting; the string form keeps Intl from going through a float. */
export function formatMoney(value: Money, locale: string): string {
  const format = new Intl.NumberFormat(locale, {
    style: "currency",
    currency: value.currency,
  }) as unknown as {
    format(v: string): string;
  };
  return format.format(value.amount);
}
