import { DateTime } from "luxon";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyChain } from "../../functions/domain/audit-chain.ts";
import { apiClient, loanRequest } from "../workflows/client.ts";
import { npmStart, type StartedStack } from "./npm-start.ts";

/**
 * End to end, as a user runs it: `npm start -- --clock 2026-01-05T00:00:00Z --frozen` in its own process,
 * driven over HTTP only.
 */
const LENDER_KEY = "e2e-lender-key-0123456789";
const OPS_KEY = "e2e-ops-key-0123456789";
let stack: StartedStack;
let baseUrl: string;

beforeAll(async () => {
  // Debug logging on, so the PII check below reads everything the handlers log.
  stack = await npmStart(["--clock", "2026-01-05T00:00:00Z", "--frozen", "--port", "0"], {
    DUNNING_LENDER_KEY: LENDER_KEY,
    DUNNING_OPS_KEY: OPS_KEY,
    POWERTOOLS_LOG_LEVEL: "DEBUG",
  });
  baseUrl = stack.url;
}, 120_000);

afterAll(async () => {
  await stack?.kill("SIGINT");
});

describe("npm start", () => {
  it("serves health, keys from the environment and the contract's errors", async () => {
    expect((await apiClient(baseUrl).get("/health")).body).toEqual({ status: "ok" });
    // A key from the environment is named, not printed: it is the caller's secret already.
    expect(stack.output()).toContain("(from DUNNING_LENDER_KEY)");
    expect(stack.output()).not.toContain(LENDER_KEY);
    expect((await apiClient(baseUrl).get("/v1/loans")).status).toBe(401);
    expect((await apiClient(baseUrl, "nope").get("/v1/loans")).status).toBe(401);
    const asOps = await apiClient(baseUrl, OPS_KEY).post("/v1/loans", loanRequest("L-ops"));
    expect(asOps.status).toBe(403);
    const invalid = await apiClient(baseUrl, LENDER_KEY).post(
      "/v1/loans",
      loanRequest("L-bad", { dueDate: "2026-02-30" }),
    );
    expect(invalid.status).toBe(400);
    expect(invalid.body.error).toMatchObject({ code: "VALIDATION_FAILED", details: [{ path: "dueDate" }] });
  });

  it("runs a loan from subscription to legal and stops a paid one at the payment", async () => {
    const lender = apiClient(baseUrl, LENDER_KEY);
    const local = apiClient(baseUrl);
    const first = await lender.post("/v1/loans", loanRequest("L-1001"));
    expect(first.status).toBe(201);
    expect(first.body.nextAction).toEqual({
      at: "2026-01-08T02:00:00Z",
      step: "pre_due_7",
      channels: ["email"],
    });
    const repeat = await lender.post("/v1/loans", loanRequest("L-1001"));
    expect(repeat.status).toBe(200);
    const conflicting = await lender.post("/v1/loans", loanRequest("L-1001", { dueDate: "2026-01-16" }));
    expect(conflicting.status).toBe(409);
    expect((await lender.post("/v1/loans", loanRequest("L-1002"))).status).toBe(201);

    await local.post("/local/clock/advance", { to: "2026-01-20T00:00:00Z" });
    const paid = await lender.post(
      "/v1/loans/L-1002/events",
      { type: "payment", amount: { amount: "1250.00", currency: "CNY" } },
      { "idempotency-key": "pay-L-1002" },
    );
    expect(paid.body.status).toBe("paid");
    const replay = await lender.post(
      "/v1/loans/L-1002/events",
      { type: "payment", amount: { amount: "1250.00", currency: "CNY" } },
      { "idempotency-key": "pay-L-1002" },
    );
    expect(replay).toEqual(paid);
    const advanced = await local.post("/local/clock/advance", { to: "2026-03-01T00:00:00Z" });
    expect(advanced.body.now).toBe("2026-03-01T00:00:00.000Z");

    const loan = (await lender.get("/v1/loans/L-1001")).body;
    expect(loan.status).toBe("legal");
    const messages = (await local.get("/local/outbox?loanId=L-1001")).body.messages;
    const stages = new Set(
      messages.map((m: { stage: string; channel: string }) => `${m.stage}:${m.channel}`),
    );
    expect([...stages].sort()).toEqual([
      "pre_due:email",
      "pre_due:sms",
      "soft_collection:email",
      "soft_collection:sms",
    ]);
    for (const m of messages)
      expect(DateTime.fromISO(m.sentAt).setZone("Asia/Shanghai").toFormat("HH:mm")).toBe("10:00");
    const audit = (await lender.get("/v1/loans/L-1001/audit")).body.entries;
    expect(verifyChain({ tenantId: "demo", loanId: "L-1001" }, audit)).toMatchObject({ valid: true });

    const paidMessages = (await local.get("/local/outbox?loanId=L-1002")).body.messages;
    expect(paidMessages.length).toBeGreaterThan(0);
    expect(paidMessages.every((m: { sentAt: string }) => m.sentAt < "2026-01-20T00:00:00Z")).toBe(true);

    const list = (await lender.get("/v1/loans?status=legal")).body;
    expect(list.items.map((i: { loanId: string }) => i.loanId)).toEqual(["L-1001"]);
  });

  it("logs ids and outcomes, never the borrower's name, phone or email", () => {
    const output = stack.output();
    const logLines = output.split("\n").filter((line) => line.startsWith("{"));
    expect(logLines.some((line) => line.includes('"message":"send done"'))).toBe(true);
    for (const pii of ["Li Wei", "li.wei@example.com", "+8613800138000", "8613800138000", "13800138000"]) {
      expect(output).not.toContain(pii);
    }
  });
});
