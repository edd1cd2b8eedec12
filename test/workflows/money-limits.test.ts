import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loanRequest } from "./client.ts";
import { startTestStack, type TestStack } from "./test-stack.ts";

/**
 * Amounts within the Money schema, over HTTP on the local stack: an amount above the largest accepted is refused
 * with 400 naming the field and the limit and changes nothing; the largest loan under the harshest charges owes at
 * most twice its amount, and the aging report's totals stay within the schema.
 */
let t: TestStack;

const openapi = JSON.parse(readFileSync(new URL("../../openapi/openapi.json", import.meta.url), "utf8"));
const MONEY_PATTERN = new RegExp(openapi.components.schemas.Money.properties.amount.pattern, "u");
const LIMIT_MESSAGE = "must be at most 1000000000, the largest amount accepted";
const cny = (amount: string) => ({ amount, currency: "CNY" });

beforeAll(async () => {
  t = await startTestStack(`money-limits-${Date.now()}-`);
});
afterAll(async () => t?.stack.stop());

async function aging() {
  const report = await t.lender.get<{ buckets: { count: number; balances: { amount: string }[] }[] }>(
    "/v1/reports/aging",
  );
  expect(report.status).toBe(200);
  return report.body;
}

describe("the largest amount accepted", () => {
  it("refuses a loan above it with the field and the limit, and stores nothing", async () => {
    const before = await aging();
    const refused = await t.lender.post(
      "/v1/loans",
      loanRequest("ML-HUGE", { amountDue: cny("999999999999999.99") }),
    );
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({
      code: "VALIDATION_FAILED",
      details: [{ path: "amountDue.amount", message: LIMIT_MESSAGE }],
    });
    expect((await t.lender.get("/v1/loans/ML-HUGE")).status).toBe(404);

    const batch = await t.lender.post("/v1/loans:batch", {
      loans: [
        loanRequest("ML-OK", { amountDue: cny("10.00") }),
        loanRequest("ML-OVER", { amountDue: cny("1000000000.01") }),
      ],
    });
    expect(batch.status).toBe(207);
    expect(batch.body.results[1]).toMatchObject({
      loanId: "ML-OVER",
      status: 400,
      error: { details: [{ path: "loans.1.amountDue.amount", message: LIMIT_MESSAGE }] },
    });
    expect((await t.lender.get("/v1/loans/ML-OVER")).status).toBe(404);
    const after = await aging();
    expect(after.buckets.reduce((n, b) => n + b.count, 0)).toBe(
      before.buckets.reduce((n, b) => n + b.count, 0) + 1,
    );
  });

  it("refuses an event or a late fee above it, and changes nothing", async () => {
    expect((await t.lender.post("/v1/loans", loanRequest("ML-EVENT"))).status).toBe(201);
    const trail = (await t.lender.get("/v1/loans/ML-EVENT/audit")).body.entries.length;
    const refused = await t.lender.post("/v1/loans/ML-EVENT/events", {
      type: "promise_to_pay",
      amount: cny("1000000000.01"),
      promisedDate: "2026-01-20",
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error.details).toEqual([{ path: "amount.amount", message: LIMIT_MESSAGE }]);
    const loan = (await t.lender.get("/v1/loans/ML-EVENT")).body;
    expect([loan.status, loan.balance]).toEqual(["active", cny("1250.00")]);
    expect((await t.lender.get("/v1/loans/ML-EVENT/audit")).body.entries).toHaveLength(trail);

    const { id: _id, version: _version, ...policy } = (await t.ops.get("/v1/policies/default")).body;
    const fee = await t.ops.call("PUT", "/v1/policies/fee-over", {
      ...policy,
      charges: {
        lateFee: "1000000000.01",
        lateFeeAfterDays: 1,
        dailyPenaltyRate: "0",
        capPercentOfPrincipal: "10",
      },
    });
    expect(fee.status).toBe(400);
    expect(fee.body.error.details).toEqual([{ path: "charges.lateFee", message: LIMIT_MESSAGE }]);
    expect((await t.ops.get("/v1/policies/fee-over")).status).toBe(404);
  });

  it("the largest loan under the harshest charges owes twice its amount, within the schema", async () => {
    const { id: _id, version: _version, ...policy } = (await t.ops.get("/v1/policies/default")).body;
    const harsh = await t.ops.call("PUT", "/v1/policies/harshest", {
      ...policy,
      charges: {
        lateFee: "1000000000",
        lateFeeAfterDays: 1,
        dailyPenaltyRate: "1",
        capPercentOfPrincipal: "100",
      },
    });
    expect(harsh.status).toBe(201);
    for (const loanId of ["ML-MAX-1", "ML-MAX-2"]) {
      const created = await t.lender.post(
        "/v1/loans",
        loanRequest(loanId, { amountDue: cny("1000000000.00"), policyId: "harshest" }),
      );
      expect(created.status).toBe(201);
    }
    const advanced = await t.local.post("/local/clock/advance", { to: "2026-01-25T00:00:00Z" });
    expect(advanced.status).toBe(200);
    const loan = (await t.lender.get("/v1/loans/ML-MAX-1")).body;
    expect(loan.balance).toEqual(cny("2000000000.00"));
    expect(MONEY_PATTERN.test(loan.balance.amount)).toBe(true);
    // A payment commits the charges to the case; the report then sums what the cases owe.
    const paid = await t.lender.post("/v1/loans/ML-MAX-2/events", { type: "payment", amount: cny("1.00") });
    expect(paid.status).toBe(200);
    expect(paid.body.balance).toEqual(cny("1999999999.00"));
    for (const bucket of (await aging()).buckets) {
      for (const total of bucket.balances) expect(MONEY_PATTERN.test(total.amount), total.amount).toBe(true);
    }
  });
});
