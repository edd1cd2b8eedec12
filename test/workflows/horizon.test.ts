import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { executionName } from "../../functions/usecases/execution.ts";
import { startTestStack, type TestStack } from "./test-stack.ts";

/**
 * Executions only while there is something to do soon: a loan whose next action is more than the horizon (30 days)
 * away holds no execution; the scheduled waker starts one as the action comes within it.
 */
let t: TestStack;

beforeAll(async () => {
  t = await startTestStack(`horizon-${randomBytes(4).toString("hex")}-`, "2026-01-05T00:00:00Z");
});

afterAll(async () => {
  await t?.stack.stop();
});

const loanId = (name: string) => `${name}-${randomBytes(3).toString("hex")}`;
const executionsOf = (id: string) => t.stack.engine.allExecutions().filter((e) => e.name.startsWith(id));

async function subscribe(id: string, dueDate: string) {
  const response = await t.lender.post("/v1/loans", {
    loanId: id,
    borrower: {
      name: "Li Wei",
      phone: "+8613800138000",
      email: "li.wei@example.com",
      locale: "zh-CN",
      timeZone: "Asia/Shanghai",
    },
    amountDue: { amount: "1250.00", currency: "CNY" },
    dueDate,
    policyId: "default",
  });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body;
}

async function advanceTo(to: string) {
  const response = await t.local.post("/local/clock/advance", { to });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
}

describe("the workflow horizon", () => {
  it("parks a loan due in five months, wakes it 30 days before its first reminder, and sends it once", async () => {
    const far = loanId("far");
    const near = loanId("near");
    // D-7 at 10:00 in Shanghai: 2026-06-08T02:00Z. The horizon reaches it from 2026-05-09T02:00Z.
    const parked = await subscribe(far, "2026-06-15");
    expect(parked.nextAction).toMatchObject({ step: "pre_due_7", at: "2026-06-08T02:00:00Z" });
    await subscribe(near, "2026-01-20");
    expect(executionsOf(far)).toEqual([]);
    expect(executionsOf(near).map((e) => e.status)).toEqual(["RUNNING"]);

    await advanceTo("2026-05-09T01:00:00Z");
    expect(executionsOf(far)).toEqual([]);

    await advanceTo("2026-05-09T03:00:00Z");
    const woken = executionName({
      tenantId: "demo",
      loanId: far,
      generation: 1,
      wake: "2026-06-08T02:00:00Z",
    });
    expect(executionsOf(far).map((e) => [e.name, e.status])).toEqual([[woken, "RUNNING"]]);
    // Started without a planned action: its Plan task reads the case as it is at the wake.
    expect(t.stack.engine.execution(woken)?.input).not.toHaveProperty("next");

    await advanceTo("2026-06-09T00:00:00Z");
    const outbox = (await t.local.get(`/local/outbox?loanId=${far}`)).body.messages as {
      step: string;
      sentAt: string;
    }[];
    expect(outbox.map((m) => [m.step, m.sentAt])).toEqual([["pre_due_7", "2026-06-08T02:00:00.000Z"]]);
    expect(executionsOf(far)).toHaveLength(1);
  });

  it("an event re-plans a parked case without StopExecution or StartExecution", async () => {
    const id = loanId("again");
    await subscribe(id, "2026-07-20");
    expect(executionsOf(id)).toEqual([]);
    const stop = vi.spyOn(t.stack.engine, "stop");
    const start = vi.spyOn(t.stack.engine, "start");
    try {
      const extended = await t.lender.post(`/v1/loans/${id}/events`, {
        type: "grace_extension",
        newDueDate: "2026-09-20",
      });
      expect(extended.status, JSON.stringify(extended.body)).toBe(200);
      expect(extended.body.nextAction).toMatchObject({ step: "pre_due_7", at: "2026-09-13T02:00:00Z" });
      expect(stop).not.toHaveBeenCalled();
      expect(start).not.toHaveBeenCalled();
    } finally {
      stop.mockRestore();
      start.mockRestore();
    }
    expect(executionsOf(id)).toEqual([]);

    const audit = (await t.lender.get(`/v1/loans/${id}/audit`)).body.entries as { type: string }[];
    expect(audit.map((e) => e.type)).toContain("grace_extension");
  });
});
