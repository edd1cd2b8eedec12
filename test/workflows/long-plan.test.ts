import { randomBytes } from "node:crypto";
import { DateTime } from "luxon";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { DEFAULT_POLICY } from "../../functions/domain/policy.ts";
import { executionName } from "../../functions/usecases/execution.ts";
import { type LocalStack, startLocalStack } from "../../infra/local/stack.ts";
import { apiClient, loanRequest } from "./client.ts";

/** A Standard execution lives at most a year: a longer plan continues in the next execution. */
let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({
    clockStart: new Date("2026-01-05T00:00:00Z"),
    frozen: true,
    port: 0,
    dynamoEndpoint: inject("dynamoEndpoint"),
    tablePrefix: `long-${randomBytes(4).toString("hex")}-`,
    // Without the horizon, so this loan's one execution waits as long as an execution may live.
    horizonDays: 0,
  });
});

afterAll(async () => {
  await stack?.stop();
});

describe("plans longer than an execution may live", () => {
  it("a loan due in 20 months continues in a second execution and misses nothing", async () => {
    const lender = apiClient(stack.url, stack.keys.lender);
    const local = apiClient(stack.url);
    const loanId = `long-${randomBytes(3).toString("hex")}`;
    expect((await lender.post("/v1/loans", loanRequest(loanId, { dueDate: "2027-09-15" }))).status).toBe(201);
    await local.post("/local/clock/advance", { to: "2027-11-01T00:00:00Z" });

    const ref = { tenantId: "demo", loanId, generation: 1 };
    // The first execution (started with the action planned at subscription) waits as long as it may live
    // (350 days), then hands over; the second plans from the stored case and runs the plan.
    const executions = [0, 1].map((epoch) => stack.engine.execution(executionName({ ...ref, epoch })));
    expect(executions.map((e) => e?.status)).toEqual(["SUCCEEDED", "SUCCEEDED"]);
    expect(executions[0]?.states).toEqual([
      "Which phase is next?",
      "Continue: wait",
      "Continue: start the next execution",
      "Which phase is next?",
      "Continued in a new execution",
    ]);
    expect(executions[1]?.states.slice(0, 2)).toEqual(["Which phase is next?", "Plan next action"]);
    expect(executions[1]?.states.at(-1)).toBe("Collection complete");
    expect(stack.engine.execution(executionName({ ...ref, epoch: 2 }))).toBeUndefined();

    const messages = (await local.get(`/local/outbox?loanId=${loanId}`)).body.messages as {
      step: string;
      channel: string;
      sentAt: string;
    }[];
    const expected = DEFAULT_POLICY.steps.flatMap((step) =>
      step.channels.map((channel) => `${step.id}:${channel}`),
    );
    expect(messages.map((m) => `${m.step}:${m.channel}`)).toEqual(expected);
    expect(DateTime.fromISO(messages[0]?.sentAt as string).toISODate()).toBe("2027-09-08");
    expect((await lender.get(`/v1/loans/${loanId}`)).body.status).toBe("legal");
  });
});
