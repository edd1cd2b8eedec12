import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type LocalStack, startLocalStack } from "../../infra/local/stack.ts";
import { apiClient, loanRequest } from "./client.ts";

/**
 * GET /v1/reports/aging over HTTP on the local stack (DynamoDB Local, the real workflow) with a frozen virtual
 * clock: who may read it, and how cases move between buckets as the clock advances and loans are paid.
 */
let stack: LocalStack;
let local: ReturnType<typeof apiClient>;
const as = (role: keyof LocalStack["keys"]) => apiClient(stack.url, stack.keys[role]);

beforeAll(async () => {
  stack = await startLocalStack({
    clockStart: new Date("2026-01-05T00:00:00Z"),
    frozen: true,
    port: 0,
    dynamoEndpoint: inject("dynamoEndpoint"),
    tablePrefix: `aging-${randomBytes(4).toString("hex")}-`,
  });
  local = apiClient(stack.url);
});

afterAll(async () => {
  await stack?.stop();
});

interface Bucket {
  bucket: string;
  count: number;
  balances: { amount: string; currency: string }[];
}

async function report(role: "lender" | "ops" = "lender") {
  const response = await as(role).get<{ asOf: string; buckets: Bucket[] }>("/v1/reports/aging");
  expect(response.status).toBe(200);
  return response.body;
}

const summary = (buckets: Bucket[]) =>
  Object.fromEntries(
    buckets.map((b) => [b.bucket, [b.count, ...b.balances.map((m) => `${m.amount} ${m.currency}`)]]),
  );

describe("GET /v1/reports/aging", () => {
  it("answers lender and ops, refuses compliance and legal (403) and a missing key (401)", async () => {
    for (const role of ["lender", "ops"] as const) {
      const body = await report(role);
      expect(body.asOf).toBe("2026-01-05T00:00:00Z");
      expect(body.buckets.map((b) => b.bucket)).toEqual(["current", "1-30", "31-60", "61-90", "90+"]);
    }
    for (const role of ["compliance", "legal"] as const) {
      const response = await as(role).get("/v1/reports/aging");
      expect(response.status, role).toBe(403);
      expect(response.body.error.code).toBe("FORBIDDEN");
    }
    expect((await local.get("/v1/reports/aging")).status).toBe(401);
  });

  it("moves cases between buckets as the clock advances; a paid loan leaves the report", async () => {
    const lender = as("lender");
    const suffix = randomBytes(3).toString("hex");
    const [overdue, paid, dollars] = ["overdue", "paid", "dollars"].map((name) => `aging-${name}-${suffix}`);
    expect((await lender.post("/v1/loans", loanRequest(overdue as string))).status).toBe(201);
    const paidLoan = loanRequest(paid as string, { amountDue: { amount: "800.00", currency: "CNY" } });
    expect((await lender.post("/v1/loans", paidLoan)).status).toBe(201);
    const dollarLoan = loanRequest(dollars as string, {
      borrower: {
        name: "Ann Lee",
        email: "ann.lee@example.com",
        locale: "en-US",
        timeZone: "America/New_York",
      },
      amountDue: { amount: "100.00", currency: "USD" },
      dueDate: "2026-02-20",
    });
    expect((await lender.post("/v1/loans", dollarLoan)).status).toBe(201);

    expect(summary((await report()).buckets)).toEqual({
      current: [3, "2050.00 CNY", "100.00 USD"],
      "1-30": [0],
      "31-60": [0],
      "61-90": [0],
      "90+": [0],
    });

    // 2026-01-20 08:00 in Shanghai: both CNY loans are 5 days past due.
    await local.post("/local/clock/advance", { to: "2026-01-20T00:00:00Z" });
    const january = await report("ops");
    expect(january.asOf).toBe("2026-01-20T00:00:00Z");
    expect(summary(january.buckets)).toEqual({
      current: [1, "100.00 USD"],
      "1-30": [2, "2050.00 CNY"],
      "31-60": [0],
      "61-90": [0],
      "90+": [0],
    });

    const payment = await lender.post(`/v1/loans/${paid}/events`, {
      type: "payment",
      amount: { amount: "800.00", currency: "CNY" },
    });
    expect(payment.body).toMatchObject({ status: "paid" });
    expect(summary((await report()).buckets)["1-30"]).toEqual([1, "1250.00 CNY"]);

    // 2026-04-20: the CNY loan is 95 days past due (and with legal); in New York it is still 04-19, 58 days.
    await local.post("/local/clock/advance", { to: "2026-04-20T00:00:00Z" });
    expect((await lender.get(`/v1/loans/${overdue}`)).body).toMatchObject({
      status: "legal",
      daysPastDue: 95,
    });
    expect(summary((await report()).buckets)).toEqual({
      current: [0],
      "1-30": [0],
      "31-60": [1, "100.00 USD"],
      "61-90": [0],
      "90+": [1, "1250.00 CNY"],
    });
  });
});
