import { Decimal } from "decimal.js";
import fc from "fast-check";
import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import {
  accrue,
  allocatePayment,
  balanceOf,
  type Charges,
  freshOutstanding,
  NO_CHARGES,
  type Outstanding,
} from "../../functions/domain/charges.ts";
import {
  add,
  compare,
  type Money,
  minorUnits,
  money,
  subtract,
  toDecimal,
} from "../../functions/domain/money.ts";
import { daysPastDue } from "../../functions/domain/time.ts";
import { ZONES } from "./fixtures.ts";

/** A lender's lawful charges: 50.00 late fee from D+1, 0.05 % a day, fees + interest at most 25 % of principal. */
const POLICY_CHARGES: Charges = {
  lateFee: "50.00",
  lateFeeAfterDays: 1,
  dailyPenaltyRate: "0.0005",
  capPercentOfPrincipal: "25",
};

const cny = (amount: string) => money(amount, "CNY");

/** CNY 1000.00 due 2026-01-15 in Shanghai (the fixtures' default loan). */
const TERMS = { dueDate: "2026-01-15", timeZone: "Asia/Shanghai", amountDue: cny("1000.00") };
const FRESH = freshOutstanding(TERMS.amountDue);

/** Noon in Shanghai on 2026-01-15 + `days` (04:00Z). */
function shanghaiNoon(days: number): Date {
  return DateTime.fromISO("2026-01-15T12:00:00", { zone: "Asia/Shanghai" }).plus({ days }).toJSDate();
}

function outstanding(principal: string, fees: string, interest: string, currency = "CNY"): Outstanding {
  return {
    principal: money(principal, currency),
    fees: money(fees, currency),
    interest: money(interest, currency),
    charged: add(money(fees, currency), money(interest, currency)),
    accruedThrough: null,
    lateFeeCharged: !toDecimal(money(fees, currency)).isZero(),
  };
}

/** Zones whose clocks skip local midnight on a DST change (the day starts at 01:00). */
const MIDNIGHT_DST_ZONES = [
  "America/Santiago",
  "America/Havana",
  "Asia/Beirut",
  "Africa/Cairo",
  "Atlantic/Azores",
] as const;
const REGULAR_ZONES = ZONES.filter((z) => !(MIDNIGHT_DST_ZONES as readonly string[]).includes(z));

const CURRENCIES = ["CNY", "USD", "KWD", "BHD", "JPY"] as const;

/** An amount of `currency` from its minor units. */
function fromMinor(minor: number, currency: string): Money {
  const places = minorUnits(currency);
  return money(new Decimal(minor).dividedBy(new Decimal(10).pow(places)).toFixed(places), currency);
}

function capOf(amountDue: Money, charges: Charges): Decimal {
  return new Decimal(amountDue.amount).times(charges.capPercentOfPrincipal).dividedBy(100);
}

function chargedSum(o: Outstanding): Decimal {
  return toDecimal(o.fees).plus(toDecimal(o.interest));
}

const DUE_DATES = fc
  .date({ min: new Date("2026-01-01T00:00:00Z"), max: new Date("2027-12-31T00:00:00Z"), noInvalidDate: true })
  .map((d) => d.toISOString().slice(0, 10));

/**
 * Random lawful charges for a currency. For JPY the principal is whole hundreds of yen and the cap a whole
 * percentage, so the cap itself is whole yen (fractional-yen caps crash, see the JPY it.fails below).
 */
const accrualCase = fc.constantFrom(...CURRENCIES).chain((currency) =>
  fc.record({
    currency: fc.constant(currency),
    principal: fc
      .integer({ min: 1, max: 1_000_000_000 })
      .map((n) => fromMinor(currency === "JPY" ? n * 100 : n, currency)),
    lateFee: fc.integer({ min: 0, max: 10_000_000 }).map((n) => fromMinor(n, currency).amount),
    lateFeeAfterDays: fc.integer({ min: 1, max: 30 }),
    // 0 to 2 % a day, up to 7 decimals.
    dailyPenaltyRate: fc
      .integer({ min: 0, max: 200_000 })
      .map((n) => new Decimal(n).dividedBy(1e7).toFixed()),
    capPercentOfPrincipal: (currency === "JPY"
      ? fc.integer({ min: 0, max: 100 })
      : fc.integer({ min: 0, max: 10_000 }).map((n) => n / 100)
    ).map((n) => new Decimal(n).toFixed()),
    zone: fc.constantFrom(...REGULAR_ZONES),
    dueDate: DUE_DATES,
  }),
);

function chargesOf(c: {
  lateFee: string;
  lateFeeAfterDays: number;
  dailyPenaltyRate: string;
  capPercentOfPrincipal: string;
}): Charges {
  return {
    lateFee: c.lateFee,
    lateFeeAfterDays: c.lateFeeAfterDays,
    dailyPenaltyRate: c.dailyPenaltyRate,
    capPercentOfPrincipal: c.capPercentOfPrincipal,
  };
}

/** An instant `hours` after local midnight of the due date in `zone`. */
function afterDue(dueDate: string, zone: string, hours: number): Date {
  return DateTime.fromISO(dueDate, { zone }).plus({ hours }).toJSDate();
}

describe("accrue: nothing is charged on or before the due date", () => {
  it("charges nothing before the due date", () => {
    expect(accrue(FRESH, TERMS, POLICY_CHARGES, shanghaiNoon(-3))).toEqual(FRESH);
  });

  it("charges nothing through 23:59:59 of the due date in the borrower's zone (Shanghai, 15:59:59Z)", () => {
    const result = accrue(FRESH, TERMS, POLICY_CHARGES, new Date("2026-01-15T15:59:59Z"));
    expect(result).toEqual(FRESH);
    expect(result.accruedThrough).toBeNull();
  });

  it("starts at the borrower's local midnight, not UTC midnight (Shanghai 16:00Z is D+1)", () => {
    const result = accrue(FRESH, TERMS, POLICY_CHARGES, new Date("2026-01-15T16:00:00Z"));
    expect(result).toEqual({
      principal: cny("1000.00"),
      fees: cny("50.00"),
      interest: cny("0.50"),
      charged: cny("50.50"),
      accruedThrough: "2026-01-16",
      lateFeeCharged: true,
    });
  });

  it("a New York borrower is still on the due date at 04:59:59Z the next UTC day, and D+1 at 05:00Z", () => {
    const terms = { dueDate: "2026-01-15", timeZone: "America/New_York", amountDue: money("1000.00", "USD") };
    const fresh = freshOutstanding(terms.amountDue);
    expect(accrue(fresh, terms, POLICY_CHARGES, new Date("2026-01-16T04:59:59Z"))).toEqual(fresh);
    expect(accrue(fresh, terms, POLICY_CHARGES, new Date("2026-01-16T05:00:00Z"))).toMatchObject({
      fees: { amount: "50.00" },
      interest: { amount: "0.50" },
      accruedThrough: "2026-01-16",
    });
  });

  it("NO_CHARGES charges nothing however late, and keeps the outstanding unchanged but for accruedThrough", () => {
    const result = accrue(FRESH, TERMS, NO_CHARGES, shanghaiNoon(400));
    expect(result).toEqual({ ...FRESH, accruedThrough: "2027-02-19" });
  });
});

describe("accrue: the late fee", () => {
  const charges = { ...POLICY_CHARGES, lateFeeAfterDays: 3, dailyPenaltyRate: "0" };

  it("is not charged before lateFeeAfterDays", () => {
    const result = accrue(FRESH, TERMS, charges, shanghaiNoon(2));
    expect(result.fees).toEqual(cny("0.00"));
    expect(result.lateFeeCharged).toBe(false);
  });

  it("is charged on the day the case is lateFeeAfterDays past due", () => {
    const result = accrue(FRESH, TERMS, charges, shanghaiNoon(3));
    expect(result.fees).toEqual(cny("50.00"));
    expect(result.lateFeeCharged).toBe(true);
  });

  it("is charged once however many times accrual runs", () => {
    let o = FRESH;
    for (let day = 1; day <= 40; day++) o = accrue(o, TERMS, charges, shanghaiNoon(day));
    expect(o.fees).toEqual(cny("50.00"));
    expect(accrue(o, TERMS, charges, shanghaiNoon(41)).fees).toEqual(cny("50.00"));
  });

  it("is not charged again after the borrower paid it", () => {
    const charged = accrue(FRESH, TERMS, charges, shanghaiNoon(5));
    const paid = allocatePayment(charged, cny("50.00")).outstanding;
    expect(paid.fees).toEqual(cny("0.00"));
    expect(accrue(paid, TERMS, charges, shanghaiNoon(30)).fees).toEqual(cny("0.00"));
  });

  it("a zero fee is neither charged nor marked as charged", () => {
    const result = accrue(FRESH, TERMS, { ...charges, lateFee: "0" }, shanghaiNoon(10));
    expect(result.fees).toEqual(cny("0.00"));
    expect(result.lateFeeCharged).toBe(false);
  });
});

describe("accrue: daily penalty interest", () => {
  const interestOnly = { ...POLICY_CHARGES, lateFee: "0" };

  it("is principal × rate per day × days past due (1000.00 × 0.0005 × 10 = 5.00)", () => {
    expect(accrue(FRESH, TERMS, interestOnly, shanghaiNoon(10)).interest).toEqual(cny("5.00"));
  });

  it("rounds the daily amount before multiplying by the days (1234.50 × 0.0005 = 0.61725 → 0.62, × 7 = 4.34)", () => {
    const terms = { ...TERMS, amountDue: cny("1234.50") };
    const result = accrue(freshOutstanding(terms.amountDue), terms, interestOnly, shanghaiNoon(7));
    expect(result.interest).toEqual(cny("4.34"));
  });

  it("rounds the daily amount half-even (0.025 → 0.02, 0.035 → 0.04)", () => {
    const rate = { ...interestOnly, dailyPenaltyRate: "0.00005" };
    const at = (principal: string) => {
      const terms = { ...TERMS, amountDue: cny(principal) };
      return accrue(freshOutstanding(terms.amountDue), terms, rate, shanghaiNoon(10)).interest;
    };
    expect(at("500.00")).toEqual(cny("0.20")); // 0.025 → 0.02 a day (half-up would give 0.30)
    expect(at("700.00")).toEqual(cny("0.40")); // 0.035 → 0.04 a day
    expect(at("100.00")).toEqual(cny("0.00")); // 0.005 → 0.00 a day
  });

  it("continues from accruedThrough: two calls on successive days equal one call over both days", () => {
    const once = accrue(FRESH, TERMS, POLICY_CHARGES, shanghaiNoon(11));
    const twice = accrue(
      accrue(FRESH, TERMS, POLICY_CHARGES, shanghaiNoon(10)),
      TERMS,
      POLICY_CHARGES,
      shanghaiNoon(11),
    );
    expect(twice).toEqual(once);
    expect(once).toMatchObject({ fees: cny("50.00"), interest: cny("5.50"), accruedThrough: "2026-01-26" });
  });

  it("charges nothing more when called again on the same local day", () => {
    const first = accrue(FRESH, TERMS, POLICY_CHARGES, shanghaiNoon(10));
    // 23:59 the same day in Shanghai.
    const again = accrue(first, TERMS, POLICY_CHARGES, new Date("2026-01-25T15:59:00Z"));
    expect(again).toEqual(first);
  });

  it("accrues on the outstanding principal: after a principal payment the daily amount falls", () => {
    const day5 = accrue(FRESH, TERMS, interestOnly, shanghaiNoon(5)); // 5 × 0.50
    const paid = allocatePayment(day5, cny("402.50")).outstanding; // 2.50 interest, 400.00 principal
    expect(paid).toMatchObject({ principal: cny("600.00"), interest: cny("0.00") });
    const day10 = accrue(paid, TERMS, interestOnly, shanghaiNoon(10)); // 5 × 0.30
    expect(day10.interest).toEqual(cny("1.50"));
  });

  it("records accruedThrough as the borrower-local date", () => {
    // 2026-01-20T17:00Z is 2026-01-21 01:00 in Shanghai.
    expect(accrue(FRESH, TERMS, POLICY_CHARGES, new Date("2026-01-20T17:00:00Z")).accruedThrough).toBe(
      "2026-01-21",
    );
  });

  // BUG (questionable, needs the clock to step back): accruedThrough is overwritten with `today` even when
  // `today` is before it, so the days between are charged a second time on the next accrual. Two writers
  // with slightly skewed clocks around local midnight are enough. Inputs: accrue at D+10, then at D+5, then
  // at D+10 again → interest 7.50 instead of 5.00.
  it("never moves accruedThrough backwards, so no day is charged twice", () => {
    const day10 = accrue(FRESH, TERMS, interestOnly, shanghaiNoon(10));
    const back = accrue(day10, TERMS, interestOnly, shanghaiNoon(5));
    expect(back.accruedThrough).toBe("2026-01-25");
    expect(accrue(back, TERMS, interestOnly, shanghaiNoon(10)).interest).toEqual(cny("5.00"));
  });

  // BUG: on a day that starts at 01:00 (DST at midnight: Santiago, Havana, Beirut, Cairo, Azores),
  // `startOf("day")` of the due date is 01:00 and Math.floor(diff) loses a day. Inputs: America/Santiago,
  // due 2026-09-06 (clocks go 00:00 → 01:00), now 2026-09-07 00:30 local (03:30Z): time.ts daysPastDue says 1,
  // accrue charges nothing; at 2026-09-08 00:30 it charges 1 day of interest instead of 2.
  it("counts days past due like daysPastDue on a due date whose midnight is skipped (Santiago)", () => {
    const terms = { dueDate: "2026-09-06", timeZone: "America/Santiago", amountDue: cny("1000.00") };
    const d1 = new Date("2026-09-07T03:30:00Z");
    expect(daysPastDue(terms.dueDate, terms.timeZone, d1)).toBe(1);
    expect(accrue(FRESH, terms, POLICY_CHARGES, d1)).toMatchObject({
      fees: cny("50.00"),
      interest: cny("0.50"),
    });
    expect(accrue(FRESH, terms, POLICY_CHARGES, new Date("2026-09-08T03:30:00Z")).interest).toEqual(
      cny("1.00"),
    );
  });
});

describe("accrue: the cap", () => {
  const steep = { ...POLICY_CHARGES, dailyPenaltyRate: "0.01" }; // 10.00 a day

  it("stops fees plus interest at capPercentOfPrincipal % of amountDue (25 % of 1000.00 = 250.00)", () => {
    const result = accrue(FRESH, TERMS, steep, shanghaiNoon(100));
    expect(result).toMatchObject({ fees: cny("50.00"), interest: cny("200.00") });
    expect(balanceOf(result)).toEqual(cny("1250.00"));
  });

  it("reaches the cap exactly day by day too", () => {
    let o = FRESH;
    for (let day = 1; day <= 40; day++) o = accrue(o, TERMS, steep, shanghaiNoon(day));
    expect(o).toMatchObject({ fees: cny("50.00"), interest: cny("200.00") });
  });

  it("caps the late fee itself when the cap is below it (2 % of 1000.00 = 20.00)", () => {
    const result = accrue(FRESH, TERMS, { ...steep, capPercentOfPrincipal: "2" }, shanghaiNoon(30));
    expect(result).toMatchObject({ fees: cny("20.00"), interest: cny("0.00"), lateFeeCharged: true });
  });

  it("rounds a fractional cap down, never over it (12.345 % of 1000.01 = 123.4512... → 123.45)", () => {
    const terms = { ...TERMS, amountDue: cny("1000.01") };
    const result = accrue(
      freshOutstanding(terms.amountDue),
      terms,
      { ...steep, capPercentOfPrincipal: "12.345" },
      shanghaiNoon(100),
    );
    expect(toDecimal(result.fees).plus(toDecimal(result.interest)).toFixed(2)).toBe("123.45");
  });

  it("a 0 % cap allows no charge at all", () => {
    const result = accrue(FRESH, TERMS, { ...steep, capPercentOfPrincipal: "0" }, shanghaiNoon(30));
    expect(balanceOf(result)).toEqual(cny("1000.00"));
  });

  it("is a percentage of the original principal, not of what is still outstanding", () => {
    const o = { ...FRESH, principal: cny("100.00") };
    const result = accrue(o, TERMS, { ...POLICY_CHARGES, dailyPenaltyRate: "0.1" }, shanghaiNoon(100));
    expect(chargedSum(result).toFixed(2)).toBe("250.00");
  });

  // BUG: the cap is measured against the fees and interest still *outstanding*, not against everything ever
  // charged, so paying the charges re-opens the room and the borrower can be charged the cap again and again.
  // Inputs: CNY 1000.00, fee 50.00, 1 %/day, cap 25 %; at D+60 fees 50.00 + interest 200.00 (the cap);
  // pay 250.00; at D+120 another 250.00 of interest is charged → 500.00 charged on 1000.00 (50 %).
  it("cannot be exceeded by paying the charges and accruing again", () => {
    const capped = accrue(FRESH, TERMS, steep, shanghaiNoon(60));
    expect(chargedSum(capped).toFixed(2)).toBe("250.00");
    const paid = allocatePayment(capped, cny("250.00")).outstanding;
    const later = accrue(paid, TERMS, steep, shanghaiNoon(120));
    const everCharged = chargedSum(capped).plus(chargedSum(later));
    expect(everCharged.lte(250)).toBe(true);
  });

  // QUESTIONABLE: the fee/interest split depends on how often accrual ran once the cap binds. Run daily,
  // interest fills the room before the fee is due; run once, the fee goes first. The totals agree.
  // Inputs: CNY 1000.00, fee 50.00 after 2 days, 8 %/day (80.00), cap 10 % (100.00):
  // daily → fees 20.00 + interest 80.00; once at D+2 → fees 50.00 + interest 50.00.
  it.fails("gives the same fees and interest whether accrual ran daily or once (cap binding)", () => {
    const charges = {
      ...POLICY_CHARGES,
      lateFeeAfterDays: 2,
      dailyPenaltyRate: "0.08",
      capPercentOfPrincipal: "10",
    };
    const daily = accrue(accrue(FRESH, TERMS, charges, shanghaiNoon(1)), TERMS, charges, shanghaiNoon(2));
    const once = accrue(FRESH, TERMS, charges, shanghaiNoon(2));
    expect(balanceOf(daily)).toEqual(balanceOf(once));
    expect(daily).toEqual(once);
  });
});

describe("accrue: currencies without and with more minor units", () => {
  it("JPY (0 decimals): whole-yen fee, interest rounded half-even to the yen", () => {
    const charges = {
      lateFee: "1000",
      lateFeeAfterDays: 1,
      dailyPenaltyRate: "0.0001",
      capPercentOfPrincipal: "25",
    };
    const at = (principal: string, days: number) => {
      const terms = { dueDate: "2026-01-15", timeZone: "Asia/Tokyo", amountDue: money(principal, "JPY") };
      return accrue(freshOutstanding(terms.amountDue), terms, charges, shanghaiNoon(days));
    };
    expect(at("100000", 10)).toMatchObject({
      fees: { amount: "1000", currency: "JPY" },
      interest: { amount: "100", currency: "JPY" },
    });
    expect(at("25000", 10).interest.amount).toBe("20"); // 2.5 → 2 a day
    expect(at("35000", 10).interest.amount).toBe("40"); // 3.5 → 4 a day
    expect(at("12300", 10).interest.amount).toBe("10"); // 1.23 → 1 a day
    expect(at("100000", 3000)).toMatchObject({ fees: { amount: "1000" }, interest: { amount: "24000" } });
  });

  // BUG: capRoom rounds the cap to 2 decimal places whatever the currency and builds a JPY amount from it:
  // money("2500.25", "JPY") throws RangeError. Inputs: JPY 10001 due 2026-01-15 Tokyo, fee 500, cap 25 %,
  // any day past due → RangeError "JPY amounts have at most 0 decimal places" (a 500 on every event/view).
  it("JPY with a cap that is not whole yen (25 % of 10001 = 2500.25) charges up to 2500", () => {
    const terms = { dueDate: "2026-01-15", timeZone: "Asia/Tokyo", amountDue: money("10001", "JPY") };
    const charges = {
      lateFee: "500",
      lateFeeAfterDays: 1,
      dailyPenaltyRate: "0.01",
      capPercentOfPrincipal: "25",
    };
    const result = accrue(freshOutstanding(terms.amountDue), terms, charges, shanghaiNoon(100));
    expect(result).toMatchObject({ fees: { amount: "500" }, interest: { amount: "2000" } });
  });

  it("KWD (3 decimals): fee, interest and cap in fils", () => {
    const terms = { dueDate: "2026-01-15", timeZone: "Asia/Kuwait", amountDue: money("1234.567", "KWD") };
    const charges = {
      lateFee: "5.250",
      lateFeeAfterDays: 1,
      dailyPenaltyRate: "0.0005",
      capPercentOfPrincipal: "25",
    };
    const fresh = freshOutstanding(terms.amountDue);
    // 1234.567 × 0.0005 = 0.6172835 → 0.617 a day.
    expect(accrue(fresh, terms, charges, shanghaiNoon(10))).toMatchObject({
      fees: { amount: "5.250", currency: "KWD" },
      interest: { amount: "6.170", currency: "KWD" },
    });
    // Cap: 25 % of 1234.567 = 308.64175 → 308.64 (see the it.fails below: it should be 308.641).
    const capped = accrue(fresh, terms, { ...charges, dailyPenaltyRate: "0.01" }, shanghaiNoon(100));
    expect(chargedSum(capped).lte(capOf(terms.amountDue, charges))).toBe(true);
    expect(capped.fees.amount).toBe("5.250");
  });

  // BUG (minor): the cap is rounded down to 2 decimal places for every currency, so a 3-decimal currency is
  // capped up to 0.009 short. Inputs: KWD 1.005, fee 1.000, cap 25 % → 0.25125 should cap at 0.251, gives 0.250.
  it("rounds the KWD cap down to the fils, not to 2 decimals (25 % of 1.005 = 0.251)", () => {
    const terms = { dueDate: "2026-01-15", timeZone: "Asia/Kuwait", amountDue: money("1.005", "KWD") };
    const charges = {
      lateFee: "1.000",
      lateFeeAfterDays: 1,
      dailyPenaltyRate: "0",
      capPercentOfPrincipal: "25",
    };
    expect(accrue(freshOutstanding(terms.amountDue), terms, charges, shanghaiNoon(5)).fees.amount).toBe(
      "0.251",
    );
  });
});

describe("allocatePayment: fees, then interest, then principal", () => {
  const owed = outstanding("1000.00", "50.00", "12.34");

  it("pays part of the fees first", () => {
    const { outstanding: after, allocation } = allocatePayment(owed, cny("30.00"));
    expect(allocation).toEqual({ fees: cny("30.00"), interest: cny("0.00"), principal: cny("0.00") });
    expect(after).toMatchObject({ fees: cny("20.00"), interest: cny("12.34"), principal: cny("1000.00") });
  });

  it("then the interest", () => {
    const { outstanding: after, allocation } = allocatePayment(owed, cny("62.33"));
    expect(allocation).toEqual({ fees: cny("50.00"), interest: cny("12.33"), principal: cny("0.00") });
    expect(after).toMatchObject({ fees: cny("0.00"), interest: cny("0.01"), principal: cny("1000.00") });
  });

  it("then the principal, with the exact remainder", () => {
    const { outstanding: after, allocation } = allocatePayment(owed, cny("100.01"));
    expect(allocation).toEqual({ fees: cny("50.00"), interest: cny("12.34"), principal: cny("37.67") });
    expect(after).toMatchObject({ fees: cny("0.00"), interest: cny("0.00"), principal: cny("962.33") });
    expect(balanceOf(after)).toEqual(cny("962.33"));
  });

  it("the whole balance leaves zero everywhere", () => {
    const { outstanding: after } = allocatePayment(owed, cny("1062.34"));
    expect(balanceOf(after)).toEqual(cny("0.00"));
  });

  it("keeps accruedThrough and lateFeeCharged", () => {
    const o = { ...owed, accruedThrough: "2026-01-20", lateFeeCharged: true };
    expect(allocatePayment(o, cny("60.00")).outstanding).toMatchObject({
      accruedThrough: "2026-01-20",
      lateFeeCharged: true,
    });
  });

  it("works in fils (KWD) and whole yen (JPY)", () => {
    const kwd = allocatePayment(outstanding("10.000", "0.250", "0.017", "KWD"), money("0.300", "KWD"));
    expect(kwd.allocation).toEqual({
      fees: money("0.250", "KWD"),
      interest: money("0.017", "KWD"),
      principal: money("0.033", "KWD"),
    });
    expect(kwd.outstanding.principal.amount).toBe("9.967");
    const jpy = allocatePayment(outstanding("10000", "500", "7", "JPY"), money("600", "JPY"));
    expect(jpy.allocation).toEqual({
      fees: money("500", "JPY"),
      interest: money("7", "JPY"),
      principal: money("93", "JPY"),
    });
  });
});

/** A random outstanding in a random currency, and a payment from 1 minor unit up to its balance. */
const allocationCase = fc.constantFrom(...CURRENCIES).chain((currency) =>
  fc
    .record({
      principal: fc.integer({ min: 0, max: 1_000_000_000 }),
      fees: fc.integer({ min: 0, max: 10_000_000 }),
      interest: fc.integer({ min: 0, max: 10_000_000 }),
    })
    .filter((o) => o.principal + o.fees + o.interest > 0)
    .chain((o) =>
      fc.record({
        o: fc.constant({
          principal: fromMinor(o.principal, currency),
          fees: fromMinor(o.fees, currency),
          interest: fromMinor(o.interest, currency),
          charged: add(fromMinor(o.fees, currency), fromMinor(o.interest, currency)),
          accruedThrough: null,
          lateFeeCharged: o.fees > 0,
        } satisfies Outstanding),
        payment: fc
          .oneof(
            fc.integer({ min: 1, max: o.principal + o.fees + o.interest }),
            fc
              .constantFrom(o.fees, o.fees + o.interest, o.principal + o.fees + o.interest)
              .filter((n) => n > 0),
          )
          .map((n) => fromMinor(n, currency)),
      }),
    ),
);

describe("allocatePayment properties", () => {
  it("the parts add up to the payment, each at most what was owed and never negative", () => {
    fc.assert(
      fc.property(allocationCase, ({ o, payment }) => {
        const { allocation } = allocatePayment(o, payment);
        expect(balanceOf(allocation)).toEqual(payment);
        for (const part of ["fees", "interest", "principal"] as const) {
          expect(compare(allocation[part], o[part])).toBeLessThanOrEqual(0);
          expect(toDecimal(allocation[part]).isNegative()).toBe(false);
        }
        // Nothing reaches interest before the fees are paid, nor principal before the interest is.
        if (compare(allocation.fees, o.fees) < 0) expect(toDecimal(allocation.interest).isZero()).toBe(true);
        if (compare(allocation.interest, o.interest) < 0) {
          expect(toDecimal(allocation.principal).isZero()).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("the balance after the allocation is the balance before minus the payment", () => {
    fc.assert(
      fc.property(allocationCase, ({ o, payment }) => {
        const { outstanding: after } = allocatePayment(o, payment);
        expect(balanceOf(after)).toEqual(subtract(balanceOf(o), payment));
        for (const part of ["fees", "interest", "principal"] as const) {
          expect(toDecimal(after[part]).isNegative()).toBe(false);
          expect(after[part].currency).toBe(o[part].currency);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe("accrue properties (random currencies, rates, fees, caps, zones and days)", () => {
  it("never decreases a component, never touches the principal and never passes the cap", () => {
    fc.assert(
      fc.property(
        accrualCase,
        fc.array(fc.integer({ min: 0, max: 24 * 60 }), { minLength: 1, maxLength: 8 }),
        (c, steps) => {
          const charges = chargesOf(c);
          const terms = { dueDate: c.dueDate, timeZone: c.zone, amountDue: c.principal };
          const cap = capOf(c.principal, charges);
          let o = freshOutstanding(c.principal);
          let hours = -48;
          for (const step of steps) {
            hours += step;
            const next = accrue(o, terms, charges, afterDue(c.dueDate, c.zone, hours));
            expect(next.principal).toEqual(o.principal);
            expect(compare(next.fees, o.fees)).toBeGreaterThanOrEqual(0);
            expect(compare(next.interest, o.interest)).toBeGreaterThanOrEqual(0);
            if (o.lateFeeCharged) expect(next.lateFeeCharged).toBe(true);
            if (o.accruedThrough)
              expect(next.accruedThrough && next.accruedThrough >= o.accruedThrough).toBe(true);
            expect(chargedSum(next).lte(cap)).toBe(true);
            expect(next.fees.currency).toBe(c.currency);
            expect(next.interest.currency).toBe(c.currency);
            o = next;
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("charges the late fee exactly when daysPastDue reaches lateFeeAfterDays, and interest for every day", () => {
    fc.assert(
      fc.property(accrualCase, fc.integer({ min: -48, max: 24 * 60 }), (c, hours) => {
        const charges = { ...chargesOf(c), capPercentOfPrincipal: "100000000000" }; // no cap in the way
        const terms = { dueDate: c.dueDate, timeZone: c.zone, amountDue: c.principal };
        const now = afterDue(c.dueDate, c.zone, hours);
        const dpd = daysPastDue(c.dueDate, c.zone, now);
        const result = accrue(freshOutstanding(c.principal), terms, charges, now);
        const feeDue = dpd >= c.lateFeeAfterDays && new Decimal(c.lateFee).gt(0);
        expect(result.lateFeeCharged).toBe(feeDue);
        expect(result.fees.amount).toBe(
          feeDue ? money(c.lateFee, c.currency).amount : money(0, c.currency).amount,
        );
        const places = minorUnits(c.currency);
        const daily = toDecimal(c.principal)
          .times(c.dailyPenaltyRate)
          .toDecimalPlaces(places, Decimal.ROUND_HALF_EVEN);
        expect(result.interest.amount).toBe(daily.times(dpd).toFixed(places));
      }),
      { numRuns: 300 },
    );
  });

  it("accruing at t1 then at t2 equals accruing once at t2 (the fee already charged at t1)", () => {
    fc.assert(
      fc.property(
        accrualCase,
        fc.integer({ min: 0, max: 24 * 90 }),
        fc.integer({ min: 0, max: 24 * 90 }),
        (c, a, b) => {
          // Calendar day D+1 first, so the fee is due at t1 even on a 25-hour due date.
          const dayAfter = DateTime.fromISO(c.dueDate, { zone: c.zone }).plus({ days: 1 });
          const t1 = dayAfter.plus({ hours: a }).toJSDate();
          const t2 = dayAfter.plus({ hours: a + b }).toJSDate();
          const charges = { ...chargesOf(c), lateFeeAfterDays: 1 };
          const terms = { dueDate: c.dueDate, timeZone: c.zone, amountDue: c.principal };
          const fresh = freshOutstanding(c.principal);
          const twice = accrue(accrue(fresh, terms, charges, t1), terms, charges, t2);
          expect(twice).toEqual(accrue(fresh, terms, charges, t2));
        },
      ),
      { numRuns: 300 },
    );
  });
});
