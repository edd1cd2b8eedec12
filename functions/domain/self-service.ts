import { Decimal as BaseDecimal } from "decimal.js";
import { DateTime } from "luxon";
import { type Money, minorUnits, money } from "./money.ts";

/** The same precision as the money module: nothing here may round silently. */
const Decimal = BaseDecimal.clone({ precision: 40 });

/** An installment plan a borrower may ask for on the page: so many monthly installments, none below a floor. */
export interface PlanOffer {
  months: number;
  /** The least one installment may be, in the loan's currency (a decimal string). */
  minInstallment: string;
}

/** What a policy lets a borrower do on the self-service page. */
export interface SelfService {
  /** The latest a promise to pay may name, in days from the borrower's today. */
  maxPromiseDays: number;
  /** Days a personal link works after the message it came with. */
  linkDays: number;
  planOffers: PlanOffer[];
  /** A plan asked for is applied at once, or recorded for the lender to approve (then applied through the API). */
  planApproval: "automatic" | "lender";
}

export const DEFAULT_SELF_SERVICE: SelfService = {
  maxPromiseDays: 14,
  linkDays: 30,
  planOffers: [
    { months: 3, minInstallment: "100.00" },
    { months: 6, minInstallment: "100.00" },
    { months: 12, minInstallment: "100.00" },
  ],
  planApproval: "lender",
};

export function selfServiceOf(policy: { selfService?: SelfService | undefined }): SelfService {
  return policy.selfService ?? DEFAULT_SELF_SERVICE;
}

/** The policy's self-service values, each refused with its path and what it must be. */
export function checkSelfService(rules: SelfService, issue: (path: string, message: string) => void): void {
  const whole = (path: string, value: number, min: number, max: number) => {
    if (!Number.isInteger(value) || value < min || value > max)
      issue(path, `must be a whole number from ${min} to ${max}`);
  };
  whole("selfService.maxPromiseDays", rules.maxPromiseDays, 1, 60);
  whole("selfService.linkDays", rules.linkDays, 1, 90);
  if (rules.planOffers.length > 6) issue("selfService.planOffers", "at most 6 offers");
  const seen = new Set<number>();
  rules.planOffers.forEach((offer, i) => {
    whole(`selfService.planOffers[${i}].months`, offer.months, 2, 36);
    if (seen.has(offer.months)) issue(`selfService.planOffers[${i}].months`, "offered twice");
    seen.add(offer.months);
    if (!/^\d{1,12}(\.\d{1,3})?$/.test(offer.minInstallment) || new Decimal(offer.minInstallment).lte(0))
      issue(`selfService.planOffers[${i}].minInstallment`, 'must be a positive amount such as "100.00"');
  });
  if (!["automatic", "lender"].includes(rules.planApproval))
    issue("selfService.planApproval", 'must be "automatic" or "lender"');
}

/**
 * `balance` in `months` monthly installments from a month after `today` (borrower-local): equal in the currency's
 * minor units, the remainder on the last, so they add up to the balance exactly.
 */
export function monthlySchedule(
  balance: Money,
  months: number,
  today: string,
): { dueDate: string; amount: Money }[] {
  const places = minorUnits(balance.currency);
  const total = new Decimal(balance.amount);
  const each = total.dividedBy(months).toDecimalPlaces(places, Decimal.ROUND_DOWN);
  const last = total.minus(each.times(months - 1));
  const start = DateTime.fromISO(today);
  return Array.from({ length: months }, (_, i) => ({
    dueDate: start.plus({ months: i + 1 }).toISODate() as string,
    amount: money(i === months - 1 ? last : each, balance.currency),
  }));
}

/** The offers a balance allows: those whose installment stays at or above the offer's floor. */
export function plansFor(balance: Money, offers: PlanOffer[]): { months: number; installment: Money }[] {
  return offers
    .map((offer) => ({
      months: offer.months,
      installment: money(
        new Decimal(balance.amount)
          .dividedBy(offer.months)
          .toDecimalPlaces(minorUnits(balance.currency), Decimal.ROUND_DOWN),
        balance.currency,
      ),
      floor: offer.minInstallment,
    }))
    .filter((plan) => new Decimal(plan.installment.amount).gte(plan.floor))
    .map(({ months, installment }) => ({ months, installment }));
}
