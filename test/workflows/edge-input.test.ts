import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loanRequest } from "./client.ts";
import { startTestStack, type TestStack } from "./test-stack.ts";

let t: TestStack;

beforeAll(async () => {
  t = await startTestStack(`edge-input-${Date.now()}-`);
});
afterAll(async () => t?.stack.stop());

describe("the local clock", () => {
  it("refuses to move past the range the product supports, and stays where it was", async () => {
    const before = (await t.local.get("/local/clock")).body.now;
    for (const body of [{ by: "P7975Y" }, { to: "9999-12-31T00:00:00Z" }]) {
      const moved = await t.local.post("/local/clock/advance", body);
      expect([moved.status, moved.body.error.code], JSON.stringify(body)).toEqual([400, "VALIDATION_FAILED"]);
    }
    expect((await t.local.get("/local/clock")).body.now).toBe(before);
    expect((await t.local.post("/local/clock/advance", { by: "PT1H" })).status).toBe(200);
  });
});

describe("event times", () => {
  it("an event without occurredAt after one a little in the future is ordered after it, not refused", async () => {
    const loanId = "EI-SKEW";
    expect((await t.lender.post("/v1/loans", loanRequest(loanId))).status).toBe(201);
    const ahead = new Date(t.stack.clock.nowMs() + 4 * 60_000).toISOString();
    const optOut = await t.lender.post(`/v1/loans/${loanId}/events`, {
      type: "opt_out",
      channel: "email",
      occurredAt: ahead,
    });
    expect(optOut.status).toBe(200);
    const payment = await t.lender.post(`/v1/loans/${loanId}/events`, {
      type: "payment",
      amount: { amount: "10.00", currency: "CNY" },
    });
    expect(payment.status).toBe(200);
    const entries = (await t.lender.get(`/v1/loans/${loanId}/audit`)).body.entries as {
      type: string;
      data: { occurredAt?: string };
    }[];
    expect(entries.find((e) => e.type === "payment_received")?.data.occurredAt).toBe(
      ahead.replace(/\.\d+Z$/, "Z"),
    );
  });
});

describe("request bodies", () => {
  it("refuses a loan whose JSON names a field twice, and stores nothing", async () => {
    const body = JSON.stringify(loanRequest("EI-DUP-1")).replace(
      '"loanId":"EI-DUP-1"',
      '"loanId":"EI-DUP-1","loanId":"EI-DUP-2"',
    );
    const answer = await t.lender.post("/v1/loans", body);
    expect([answer.status, answer.body.error.code]).toEqual([400, "INVALID_JSON"]);
    expect(answer.body.error.message).toContain("loanId");
    for (const loanId of ["EI-DUP-1", "EI-DUP-2"])
      expect((await t.lender.get(`/v1/loans/${loanId}`)).status).toBe(404);
  });
});
