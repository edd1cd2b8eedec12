import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  add,
  compare,
  formatMoney,
  isKnownCurrency,
  isZero,
  type Money,
  minorUnits,
  money,
  subtract,
  toDecimal,
} from "../../functions/domain/money.ts";

const CURRENCIES = ["CNY", "USD", "EUR", "JPY", "KRW", "KWD", "BHD", "GBP"] as const;

/** A random amount with exactly the currency's minor units (up to 10^12 major units). */
function amountIn(currency: string): fc.Arbitrary<Money> {
  const places = minorUnits(currency);
  return fc
    .bigInt({ min: -(10n ** BigInt(12 + places)), max: 10n ** BigInt(12 + places) })
    .map((minor) => money(places === 0 ? minor.toString() : `${minor}e-${places}`, currency));
}

function decimalsOf(value: Money): number {
  const [, fraction = ""] = value.amount.split(".");
  return fraction.length;
}

describe("minorUnits", () => {
  it.each([
    ["CNY", 2],
    ["USD", 2],
    ["JPY", 0],
    ["KRW", 0],
    ["KWD", 3],
    ["BHD", 3],
  ])("%s has %i decimal places", (currency, places) => {
    expect(minorUnits(currency)).toBe(places);
  });
});

describe("isKnownCurrency", () => {
  it("accepts ISO 4217 codes and refuses malformed or unknown ones", () => {
    expect(isKnownCurrency("CNY")).toBe(true);
    expect(isKnownCurrency("KWD")).toBe(true);
    expect(isKnownCurrency("cny")).toBe(false);
    expect(isKnownCurrency("XYZ")).toBe(false);
    expect(isKnownCurrency("US")).toBe(false);
  });
});

describe("money()", () => {
  it("pads to the currency's minor units", () => {
    expect(money("12.5", "CNY")).toEqual({ amount: "12.50", currency: "CNY" });
    expect(money("12", "KWD")).toEqual({ amount: "12.000", currency: "KWD" });
    expect(money("1200", "JPY")).toEqual({ amount: "1200", currency: "JPY" });
    expect(money("0", "USD")).toEqual({ amount: "0.00", currency: "USD" });
  });

  it("accepts trailing zeros beyond the minor units because they carry no precision", () => {
    expect(money("12.500", "CNY").amount).toBe("12.50");
    expect(money("100.0", "JPY").amount).toBe("100");
  });

  it.each([
    ["12.345", "CNY"],
    ["0.001", "USD"],
    ["100.5", "JPY"],
    ["1.0001", "KWD"],
  ])("rejects %s %s (more precision than the currency has)", (amount, currency) => {
    expect(() => money(amount, currency)).toThrow(RangeError);
  });

  it("refuses a float that is not representable exactly (0.1 + 0.2 as a number)", () => {
    expect(() => money(0.1 + 0.2, "CNY")).toThrow(RangeError);
  });

  it("keeps amounts beyond float precision exact", () => {
    expect(money("12345678901234567.89", "USD").amount).toBe("12345678901234567.89");
  });

  it("rejects a string that is not a number", () => {
    expect(() => money("ten", "USD")).toThrow();
  });
});

describe("add / subtract / compare", () => {
  it("adds exactly: 0.10 + 0.20 = 0.30", () => {
    expect(add(money("0.1", "CNY"), money("0.2", "CNY"))).toEqual({ amount: "0.30", currency: "CNY" });
  });

  it("subtracts exactly: 0.30 - 0.10 = 0.20", () => {
    expect(subtract(money("0.3", "CNY"), money("0.1", "CNY"))).toEqual({ amount: "0.20", currency: "CNY" });
  });

  it("keeps three decimals for KWD and none for JPY", () => {
    expect(add(money("1.001", "KWD"), money("2.002", "KWD")).amount).toBe("3.003");
    expect(subtract(money("1000", "JPY"), money("1", "JPY")).amount).toBe("999");
  });

  it("can go negative", () => {
    expect(subtract(money("1.00", "USD"), money("1.01", "USD")).amount).toBe("-0.01");
  });

  it("compares by value, not by string", () => {
    expect(compare(money("10.00", "CNY"), money("9.99", "CNY"))).toBe(1);
    expect(compare(money("9.99", "CNY"), money("10.00", "CNY"))).toBe(-1);
    expect(compare(money("10", "CNY"), money("10.00", "CNY"))).toBe(0);
    expect(compare(money("0.3", "CNY"), add(money("0.1", "CNY"), money("0.2", "CNY")))).toBe(0);
  });

  it("isZero is true for 0.00 and false for 0.01", () => {
    expect(isZero(money("0", "CNY"))).toBe(true);
    expect(isZero(subtract(money("5.55", "CNY"), money("5.55", "CNY")))).toBe(true);
    expect(isZero(money("0.01", "CNY"))).toBe(false);
  });

  it.each([
    ["add", add],
    ["subtract", subtract],
    ["compare", compare],
  ] as const)("%s throws on a currency mismatch", (_name, operation) => {
    expect(() => operation(money("1.00", "CNY"), money("1.00", "USD"))).toThrow(RangeError);
  });

  it("stays exact above 20 significant digits", () => {
    expect(add(money("12345678901234567890.01", "USD"), money("0.01", "USD")).amount).toBe(
      "12345678901234567890.02",
    );
  });
});

describe("formatMoney", () => {
  it("formats CNY for zh-CN with the yuan sign, grouping and two decimals", () => {
    const text = formatMoney(money("1234.5", "CNY"), "zh-CN");
    expect(text).toMatch(/¥\s?1,234\.50/);
  });

  it("formats USD for en-US with the dollar sign", () => {
    const text = formatMoney(money("1234567.89", "USD"), "en-US");
    expect(text).toMatch(/\$\s?1,234,567\.89/);
  });

  it("formats JPY without decimals and KWD with three", () => {
    expect(formatMoney(money("1500", "JPY"), "en-US")).toMatch(/1,500(?![.\d])/);
    expect(formatMoney(money("1.5", "KWD"), "en-US")).toMatch(/1\.500/);
  });

  it("does not go through a float (17 significant digits survive)", () => {
    expect(formatMoney(money("12345678901234567.89", "USD"), "en-US")).toContain("12,345,678,901,234,567.89");
  });
});

describe("money properties", () => {
  it("subtract(add(a, b), b) equals a", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...CURRENCIES).chain((currency) => fc.tuple(amountIn(currency), amountIn(currency))),
        ([a, b]) => {
          expect(subtract(add(a, b), b)).toEqual(a);
        },
      ),
    );
  });

  it("add is commutative and compare agrees with subtraction's sign", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...CURRENCIES).chain((currency) => fc.tuple(amountIn(currency), amountIn(currency))),
        ([a, b]) => {
          expect(add(a, b)).toEqual(add(b, a));
          expect(compare(a, b)).toBe(toDecimal(subtract(a, b)).comparedTo(0));
        },
      ),
    );
  });

  it("results always have exactly the currency's minor units as decimals", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...CURRENCIES).chain((currency) => fc.tuple(amountIn(currency), amountIn(currency))),
        ([a, b]) => {
          const places = minorUnits(a.currency);
          for (const result of [a, b, add(a, b), subtract(a, b)]) {
            expect(decimalsOf(result)).toBe(places);
            expect(result.currency).toBe(a.currency);
          }
        },
      ),
    );
  });
});
