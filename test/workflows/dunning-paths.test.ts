import { randomBytes } from "node:crypto";
import { DateTime } from "luxon";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { verifyChain } from "../../functions/domain/audit-chain.ts";
import { DEFAULT_POLICY } from "../../functions/domain/policy.ts";
import { executionName } from "../../functions/usecases/execution.ts";
import { type LocalStack, startLocalStack } from "../../infra/local/stack.ts";
import { apiClient, loanRequest } from "./client.ts";

/**
 * The real ASL on the local engine, the real handlers and DynamoDB Local, driven through the HTTP API on
 * a frozen virtual clock: one named test per workflow path.
 */
let stack: LocalStack;
let lender: ReturnType<typeof apiClient>;
let local: ReturnType<typeof apiClient>;

beforeAll(async () => {
  stack = await startLocalStack({
    clockStart: new Date("2026-01-05T00:00:00Z"),
    frozen: true,
    port: 0,
    dynamoEndpoint: inject("dynamoEndpoint"),
    tablePrefix: `wf-${randomBytes(4).toString("hex")}-`,
  });
  lender = apiClient(stack.url, stack.keys.lender);
  local = apiClient(stack.url);
});

afterAll(async () => {
  await stack?.stop();
});

const advanceTo = (to: string) => local.post("/local/clock/advance", { to });
const outboxOf = async (loanId: string) =>
  (await local.get(`/local/outbox?loanId=${loanId}`)).body.messages as {
    step: string;
    stage: string;
    channel: string;
    sentAt: string;
    body: string;
  }[];

function expectInsideWindow(sentAt: string, zone: string) {
  const local = DateTime.fromISO(sentAt).setZone(zone);
  expect(local.hour * 60 + local.minute).toBeGreaterThanOrEqual(8 * 60);
  expect(local.hour * 60 + local.minute).toBeLessThan(21 * 60);
}

describe("dunning workflow paths", () => {
  it("never paid: every pre-due and soft-collection step, then the hand-off to legal", async () => {
    const loanId = `never-paid-${randomBytes(3).toString("hex")}`;
    expect((await lender.post("/v1/loans", loanRequest(loanId))).status).toBe(201);
    await advanceTo("2026-03-01T00:00:00Z");

    const messages = await outboxOf(loanId);
    const expected = DEFAULT_POLICY.steps.flatMap((step) =>
      step.channels.map((channel) => `${step.id}:${channel}`),
    );
    expect(messages.map((m) => `${m.step}:${m.channel}`)).toEqual(expected);
    for (const message of messages) {
      expect(DateTime.fromISO(message.sentAt).setZone("Asia/Shanghai").toFormat("HH:mm")).toBe("10:00");
      expectInsideWindow(message.sentAt, "Asia/Shanghai");
    }
    expect(messages.filter((m) => m.stage === "soft_collection").map((m) => m.channel)).toEqual(
      expect.arrayContaining(["sms", "email"]),
    );

    const loan = (await lender.get(`/v1/loans/${loanId}`)).body;
    expect(loan).toMatchObject({ status: "legal", stage: "legal", nextAction: null });

    const audit = (await lender.get(`/v1/loans/${loanId}/audit`)).body.entries;
    expect(verifyChain({ tenantId: "demo", loanId }, audit)).toMatchObject({ valid: true });
    expect(audit.at(-2).type).toBe("handed_off");
    expect(audit.at(-1).type).toBe("handoff_published");
    expect(audit.filter((e: { type: string }) => e.type === "message_sent")).toHaveLength(expected.length);

    // 3 state transitions per dunning step (the 9 steps and the hand-off) plus the first choice and the end:
    // the execution started with the action planned at subscription, so the Plan task never ran.
    const execution = stack.engine.execution(executionName({ tenantId: "demo", loanId, generation: 1 }));
    expect(execution?.status).toBe("SUCCEEDED");
    expect(execution?.states.length).toBe(3 * (DEFAULT_POLICY.steps.length + 1) + 2);
    expect(execution?.states).not.toContain("Plan next action");
  });

  it("paid before due: only pre-due messages, the execution stops", async () => {
    const loanId = `paid-early-${randomBytes(3).toString("hex")}`;
    const now = DateTime.fromISO((await local.get("/local/clock")).body.now as string).setZone(
      "Asia/Shanghai",
    );
    const due = now.plus({ days: 14 }).startOf("day");
    await lender.post("/v1/loans", loanRequest(loanId, { dueDate: due.toISODate() }));
    await advanceTo(due.minus({ days: 2 }).toUTC().toISO() as string);
    const paid = await lender.post(`/v1/loans/${loanId}/events`, {
      type: "payment",
      amount: { amount: "1250.00", currency: "CNY" },
    });
    expect(paid.status).toBe(200);
    expect(paid.body).toMatchObject({
      status: "paid",
      stage: "done",
      balance: { amount: "0.00" },
      nextAction: null,
    });
    await advanceTo(due.plus({ days: 60 }).toUTC().toISO() as string);

    const messages = await outboxOf(loanId);
    expect(messages.map((m) => m.step)).toEqual(["pre_due_7", "pre_due_3"]);
    expect(messages.every((m) => m.stage === "pre_due")).toBe(true);
    const execution = stack.engine.execution(executionName({ tenantId: "demo", loanId, generation: 1 }));
    expect(execution?.status).toBe("ABORTED");
  });

  it("paid mid soft collection: nothing after the payment", async () => {
    const loanId = `paid-mid-${randomBytes(3).toString("hex")}`;
    const now = (await local.get("/local/clock")).body.now as string;
    const due = DateTime.fromISO(now).setZone("Asia/Shanghai").plus({ days: 10 }).toISODate() as string;
    await lender.post("/v1/loans", loanRequest(loanId, { dueDate: due }));
    const paymentAt = DateTime.fromISO(due, { zone: "Asia/Shanghai" }).plus({ days: 5 }).toUTC();
    await advanceTo(paymentAt.toISO() as string);
    const partial = await lender.post(`/v1/loans/${loanId}/events`, {
      type: "payment",
      amount: { amount: "250.00", currency: "CNY" },
    });
    expect(partial.body).toMatchObject({ status: "active", balance: { amount: "1000.00", currency: "CNY" } });
    await lender.post(`/v1/loans/${loanId}/events`, {
      type: "payment",
      amount: { amount: "1000.00", currency: "CNY" },
    });
    await advanceTo(paymentAt.plus({ days: 60 }).toISO() as string);

    const messages = await outboxOf(loanId);
    expect(messages.map((m) => m.step)).toEqual([
      "pre_due_7",
      "pre_due_3",
      "pre_due_1",
      "pre_due_1",
      "due_day",
      "soft_1",
      "soft_1",
      "soft_3",
    ]);
    expect(messages.every((m) => m.sentAt < (paymentAt.toISO() as string))).toBe(true);
    expect((await lender.get(`/v1/loans/${loanId}`)).body.status).toBe("paid");
  });

  it("subscribed late: steps already past are not sent, the next one is", async () => {
    const loanId = `late-${randomBytes(3).toString("hex")}`;
    const now = DateTime.fromISO((await local.get("/local/clock")).body.now as string);
    const due = now.setZone("Asia/Shanghai").plus({ days: 2 }).toISODate() as string;
    const created = await lender.post("/v1/loans", loanRequest(loanId, { dueDate: due }));
    expect(created.body.nextAction.step).toBe("pre_due_1");
    await advanceTo(now.plus({ days: 3 }).toISO() as string);
    expect((await outboxOf(loanId)).map((m) => m.step)).toEqual(["pre_due_1", "pre_due_1", "due_day"]);
  });
});
