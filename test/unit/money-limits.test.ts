import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { eventSchema, subscribeSchema } from "../../functions/contracts/requests.ts";
import { balanceOf, type Charges, MAX_CAP_PERCENT } from "../../functions/domain/charges.ts";
import { applyEvent } from "../../functions/domain/events.ts";
import {
  ceilingOf,
  exceedsMaxAmount,
  MAX_AMOUNT,
  MONEY_LIMIT,
  type Money,
  money,
  toDecimal,
} from "../../functions/domain/money.ts";
import { DEFAULT_POLICY } from "../../functions/domain/policy.ts";
import { validatePolicy } from "../../functions/domain/policy-validation.ts";
import { readPortfolio } from "../../functions/import/portfolio-file.ts";
import type { CaseRepository, OpenCase } from "../../functions/ports.ts";
import { agingReport } from "../../functions/usecases/reports.ts";
import { readPortfolio as readSimulatorPortfolio } from "../../simulator/orchestrator.ts";
import { ACTOR, newCase } from "./fixtures.ts";

/**
 * Amounts within the Money schema: every amount a client sends is at most MAX_AMOUNT, a case owes at most twice
 * its principal, and an aging total that Money cannot carry is capped and said to be.
 */

const openapi = JSON.parse(readFileSync(new URL("../../openapi/openapi.json", import.meta.url), "utf8"));
const schemas = openapi.components.schemas;
/** The Money pattern every answered amount must match. */
const MONEY_PATTERN = new RegExp(schemas.Money.properties.amount.pattern, "u");
/** The pattern PositiveMoney adds for what clients send. */
const ACCEPTED_PATTERN = new RegExp(schemas.PositiveMoney.allOf[1].properties.amount.pattern, "u");

const loan = (amount: string, currency = "CNY") => ({
  loanId: "L-1",
  borrower: { name: "Li Wei", email: "li.wei@example.com", locale: "zh-CN", timeZone: "Asia/Shanghai" },
  amountDue: { amount, currency },
  dueDate: "2026-01-15",
});

function issues(result: {
  success: boolean;
  error?: { issues: { path: PropertyKey[]; message: string }[] };
}) {
  return (result.error?.issues ?? []).map((issue) => ({
    path: issue.path.map(String).join("."),
    message: issue.message,
  }));
}

describe("the largest amount accepted", () => {
  it("is 1000000000, inclusive, in every currency", () => {
    expect(MAX_AMOUNT).toBe("1000000000");
    for (const [amount, currency] of [
      ["1000000000", "JPY"],
      ["1000000000.00", "CNY"],
      ["999999999.999", "KWD"],
    ] as const) {
      expect(subscribeSchema.safeParse(loan(amount, currency)).success, amount).toBe(true);
      expect(exceedsMaxAmount(amount)).toBe(false);
    }
  });

  it("refuses a larger loan naming the field and the limit", () => {
    for (const amount of ["1000000000.01", "1000000001", "999999999999999.99", "100000000000000000000"]) {
      const result = subscribeSchema.safeParse(loan(amount));
      expect(result.success, amount).toBe(false);
      expect(issues(result), amount).toEqual([
        { path: "amountDue.amount", message: "must be at most 1000000000, the largest amount accepted" },
      ]);
    }
  });

  it("still says what a malformed amount is", () => {
    expect(issues(subscribeSchema.safeParse(loan("1250,00")))).toContainEqual({
      path: "amountDue.amount",
      message: 'must be a decimal string such as "1250.00"',
    });
    expect(issues(subscribeSchema.safeParse(loan("1".repeat(40))))).toEqual([
      { path: "amountDue.amount", message: "must be at most 1000000000, the largest amount accepted" },
    ]);
  });

  it("bounds every amount an event carries", () => {
    const big = { amount: "1000000000.01", currency: "CNY" };
    const events = [
      { type: "payment", amount: big },
      { type: "payment_reversed", amount: big },
      { type: "promise_to_pay", amount: big, promisedDate: "2026-02-01" },
      { type: "settlement", amount: big, payBy: "2026-02-01" },
      { type: "installment_plan", installments: [{ dueDate: "2026-02-01", amount: big }] },
    ];
    for (const event of events) {
      const result = eventSchema.safeParse(event);
      expect(result.success, event.type).toBe(false);
      expect(issues(result)[0]?.message, event.type).toContain("at most 1000000000");
    }
    expect(issues(eventSchema.safeParse(events[4]))[0]?.path).toBe("installments.0.amount.amount");
  });

  it("is the bound the OpenAPI document states for what clients send", () => {
    for (const amount of [
      "1",
      "0.01",
      "999999999.99",
      "1000000000",
      "1000000000.00",
      "1000000000.01",
      "1000000001",
      "9999999999",
      "999999999999999.99",
    ]) {
      expect(ACCEPTED_PATTERN.test(amount), amount).toBe(subscribeSchema.safeParse(loan(amount)).success);
    }
  });

  it("bounds a policy's late fee, and its cap to 100 % of the principal", () => {
    const charges = (overrides: Partial<Charges>): Charges => ({
      lateFee: "50.00",
      lateFeeAfterDays: 1,
      dailyPenaltyRate: "0.0005",
      capPercentOfPrincipal: "25",
      ...overrides,
    });
    const problems = (c: Charges) => validatePolicy({ ...DEFAULT_POLICY, charges: c });
    expect(problems(charges({ lateFee: "1000000000" }))).toEqual([]);
    expect(problems(charges({ lateFee: "1000000000.01" }))).toEqual([
      { path: "charges.lateFee", message: "must be at most 1000000000, the largest amount accepted" },
    ]);
    expect(problems(charges({ capPercentOfPrincipal: "100.01" }))).toEqual([
      { path: "charges.capPercentOfPrincipal", message: `must be from 0 to ${MAX_CAP_PERCENT}` },
    ]);
  });

  it("keeps the import file's lines to it, naming the line and the field", async () => {
    const lines = [
      JSON.stringify(loan("1000000000")),
      JSON.stringify({ ...loan("1000000000.01"), loanId: "L-2" }),
    ];
    const records = [];
    for await (const record of readPortfolio(Readable.from([lines.join("\n")]), "jsonl"))
      records.push(record);
    expect(records[0]).toMatchObject({ line: 1, loan: { amountDue: { amount: "1000000000" } } });
    expect(records[1]).toMatchObject({
      line: 2,
      loanId: "L-2",
      error: { details: [{ path: "amountDue.amount", message: expect.stringContaining("1000000000") }] },
    });
    const csv = [
      "loanId,name,email,locale,timeZone,amount,currency,dueDate",
      "L-3,Li Wei,li.wei@example.com,zh-CN,Asia/Shanghai,999999999999999.99,CNY,2026-01-15",
    ].join("\n");
    const fromCsv = [];
    for await (const record of readPortfolio(Readable.from([csv]), "csv")) fromCsv.push(record);
    expect(fromCsv[0]).toMatchObject({ line: 2, error: { details: [{ path: "amountDue.amount" }] } });
  });

  it("keeps the simulator's portfolio to it", async () => {
    const folder = mkdtempSync(join(tmpdir(), "money-limits-"));
    try {
      const file = join(folder, "loans.jsonl");
      writeFileSync(file, `${JSON.stringify(loan("1000000000"))}\n`);
      expect(await readSimulatorPortfolio(file)).toMatchObject({ kind: "borrowers", loans: 1 });
      writeFileSync(
        file,
        `${JSON.stringify(loan("1000000000"))}\n${JSON.stringify(loan("1000000000.01"))}\n`,
      );
      await expect(readSimulatorPortfolio(file)).rejects.toThrow(
        `${file}:2: amountDue.amount must be at most 1000000000, the largest amount accepted`,
      );
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe("a balance", () => {
  /** The harshest charges a policy may set: the largest fee, 100 % a day, capped at 100 % of the principal. */
  const HARSHEST: Charges = {
    lateFee: MAX_AMOUNT,
    lateFeeAfterDays: 0,
    dailyPenaltyRate: "1",
    capPercentOfPrincipal: String(MAX_CAP_PERCENT),
  };

  it("never exceeds twice the largest amount, charges and reversals included", () => {
    const subscribed = newCase({ amountDue: money(MAX_AMOUNT, "CNY") });
    const late = new Date("2027-01-15T04:00:00Z");
    const paid = applyEvent(
      subscribed,
      { type: "payment", amount: money("1500000000", "CNY") },
      ACTOR,
      late,
      HARSHEST,
    );
    if ("duplicate" in paid) throw new Error("unexpected duplicate");
    expect(paid.next.balance.amount).toBe("500000000.00");
    const reversed = applyEvent(
      paid.next,
      { type: "payment_reversed", amount: money("1500000000", "CNY") },
      ACTOR,
      new Date("2027-06-15T04:00:00Z"),
      HARSHEST,
    );
    if ("duplicate" in reversed) throw new Error("unexpected duplicate");
    const owed = balanceOf(reversed.next);
    expect(owed.amount).toBe("2000000000.00");
    expect(reversed.next.balance.amount).toBe("2000000000.00");
    expect(MONEY_PATTERN.test(owed.amount)).toBe(true);
  });
});

describe("the aging report", () => {
  const cases = (balances: Money[]): CaseRepository =>
    ({
      async *openCases(): AsyncGenerator<OpenCase> {
        for (const [i, balance] of balances.entries()) {
          yield {
            loanId: `L-${i}`,
            status: "active",
            dueDate: "2026-01-15",
            balance,
            timeZone: "Asia/Shanghai",
          };
        }
      },
    }) as unknown as CaseRepository;
  const report = (balances: Money[]) =>
    agingReport(
      { cases: cases(balances), clock: { now: () => new Date("2026-01-05T00:00:00Z") } },
      { tenantId: "t", role: "lender", keyId: "k" },
    );

  it("adds up exactly while the total fits, and says nothing more", async () => {
    const largest = money("2000000000.00", "CNY");
    const { buckets } = await report([largest, largest, money("0.01", "CNY")]);
    expect(buckets[0]).toEqual({
      bucket: "current",
      count: 3,
      balances: [{ amount: "4000000000.01", currency: "CNY" }],
    });
  });

  it("caps a total Money cannot carry at its ceiling and lists the currency", async () => {
    const huge = money("999999999999999.99", "CNY");
    const { buckets } = await report([huge, huge, money("5", "JPY"), money("999999999999999", "JPY")]);
    expect(buckets[0]).toEqual({
      bucket: "current",
      count: 4,
      balances: [
        { amount: "999999999999999.99", currency: "CNY" },
        { amount: "999999999999999", currency: "JPY" },
      ],
      capped: ["CNY", "JPY"],
    });
    for (const total of buckets[0]?.balances ?? []) expect(MONEY_PATTERN.test(total.amount)).toBe(true);
  });

  it("stays exact up to 499,999 balances of the largest size", () => {
    const largestBalance = toDecimal(money(MAX_AMOUNT, "CNY")).times(2);
    expect(largestBalance.times(499_999).lessThan(MONEY_LIMIT)).toBe(true);
    expect(toDecimal(ceilingOf("CNY")).toFixed(2)).toBe("999999999999999.99");
    expect(ceilingOf("KWD").amount).toBe("999999999999999.999");
  });
});
