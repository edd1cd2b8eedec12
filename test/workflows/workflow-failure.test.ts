import { DateTime, Duration } from "luxon";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { executionName } from "../../functions/usecases/execution.ts";
import type { LambdaFault } from "../../infra/local/lambda-runtime.ts";
import { apiClient, loanRequest } from "./client.ts";
import { startTestStack, type TestStack } from "./test-stack.ts";

// No silent end: a failure injected into each kind of task, in the deployed bundles' sandboxes, takes the Retry or
// Catch the ASL means for it; what is left after the retries flags the case, audits it, and ops can restart it.
let t: TestStack;
let ops: ReturnType<typeof apiClient>;

beforeAll(async () => {
  t = await startTestStack(`workflow-failure-${Date.now()}-`);
  ops = apiClient(t.stack.url, t.stack.keys.ops);
});
afterAll(async () => t?.stack.stop());

const execution = (loanId: string, generation: number) =>
  t.stack.engine.execution(executionName({ tenantId: "demo", loanId, generation }));
const advance = async (by: string) =>
  expect((await t.local.post("/local/clock/advance", { by })).status).toBe(200);
const auditTypes = async (loanId: string) =>
  ((await t.lender.get(`/v1/loans/${loanId}/audit`)).body.entries as { type: string }[]).map((e) => e.type);
const sentSteps = async (loanId: string) =>
  (
    (await t.local.get(`/local/outbox?loanId=${loanId}`)).body.messages as { step: string; channel: string }[]
  ).map((m) => `${m.step}:${m.channel}`);

async function subscribe(loanId: string, overrides: Record<string, unknown> = {}) {
  expect((await t.lender.post("/v1/loans", loanRequest(loanId, overrides))).status).toBe(201);
}
/** A calendar date `days` from the stack's today (the clock moves on from test to test). */
const dayFromToday = (days: number) =>
  new Date(t.stack.clock.nowMs() + days * 86_400_000).toISOString().slice(0, 10);

/**
 * An advance during which the loan's workflow fails for good: it answers an error naming the loan and the
 * state, and the clock stops at the failure instead of moving on to the target.
 */
async function advanceFailing(move: string | { to: string }, loanId: string, state: string) {
  const before = t.stack.clock.nowMs();
  const answer = await t.local.post("/local/clock/advance", typeof move === "string" ? { by: move } : move);
  expect(answer.status).toBe(500);
  expect(answer.body.error.code).toBe("STEPS_FAILED");
  expect(answer.body.failed).toEqual([expect.objectContaining({ loanId, state })]);
  const target =
    typeof move === "string"
      ? DateTime.fromMillis(before, { zone: "utc" }).plus(Duration.fromISO(move)).toMillis()
      : Date.parse(move.to);
  expect(Date.parse(answer.body.now)).toBeLessThan(target);
  expect(t.stack.clock.nowMs()).toBe(Date.parse(answer.body.now));
}

/** Restarts the case's workflow (the next execution begins with the Plan task) with a fault in that task. */
async function restartWithPlanFault(loanId: string, fault: LambdaFault, failsForGood = false) {
  await t.stack.lambdas.plan.injectFault(fault);
  const restarted = await ops.post(`/v1/loans/${loanId}/workflow:restart`);
  expect(restarted.status).toBe(200);
  if (failsForGood) await advanceFailing("PT15M", loanId, "Plan next action");
  else await advance("PT15M");
}

describe("workflow failures on the local engine", () => {
  it.each([["ConcurrentUpdateError"], ["StepInProgressError"], ["DependencyUnavailableError"]])(
    "the Plan task retries %s and the workflow goes on",
    async (errorType) => {
      const loanId = `WF-RETRY-${errorType}`;
      await subscribe(loanId);
      await restartWithPlanFault(loanId, { kind: "throw", errorType });
      expect(execution(loanId, 2)?.status).toBe("RUNNING");
      expect((await t.lender.get(`/v1/loans/${loanId}`)).body.attention).toBeNull();
    },
  );

  it("the Plan task retries a crashed sandbox (Lambda.Unknown)", async () => {
    const loanId = "WF-CRASH";
    await subscribe(loanId);
    const coldStarts = t.stack.lambdas.plan.coldStarts;
    await restartWithPlanFault(loanId, { kind: "crash" });
    expect(t.stack.lambdas.plan.coldStarts).toBe(coldStarts + 1);
    expect(execution(loanId, 2)?.status).toBe("RUNNING");
  });

  it.each([["CaseNotCollectableError"], ["StaleExecutionError"]])(
    "%s from the Plan task stops collection cleanly, with nothing flagged",
    async (errorType) => {
      const loanId = `WF-STOP-${errorType}`;
      await subscribe(loanId);
      await restartWithPlanFault(loanId, { kind: "throw", errorType });
      expect(execution(loanId, 2)?.status).toBe("SUCCEEDED");
      expect(execution(loanId, 2)?.states.at(-1)).toBe("Collection stopped");
      expect((await t.lender.get(`/v1/loans/${loanId}`)).body.attention).toBeNull();
    },
  );

  it("an error no Retry knows flags the case and audits it; a restart continues and sends nothing twice", async () => {
    const loanId = "WF-PLAN";
    await subscribe(loanId);
    await advance("P3DT3H"); // 2026-01-08T03:00Z: pre_due_7 has gone out
    expect(await sentSteps(loanId)).toEqual(["pre_due_7:email"]);
    await restartWithPlanFault(loanId, { kind: "throw", errorType: "TypeError", message: "a defect" }, true);

    const failed = execution(loanId, 2);
    expect(failed?.status).toBe("FAILED");
    expect(failed?.states.slice(-3)).toEqual([
      "Plan next action (failed)",
      "Workflow failed: record",
      "Workflow failed",
    ]);
    const loan = (await ops.get(`/v1/loans/${loanId}`)).body;
    expect(loan.attention).toMatchObject({
      reason: "workflow_failed",
      state: "Plan next action",
      error: "TypeError",
    });
    const flagged = (await ops.get("/v1/loans?attention=true")).body.items.map(
      (i: { loanId: string }) => i.loanId,
    );
    expect(flagged).toEqual([loanId]);
    expect(await auditTypes(loanId)).toContain("workflow_failed");

    expect((await ops.post(`/v1/loans/${loanId}/workflow:restart`)).status).toBe(200);
    expect((await ops.get(`/v1/loans/${loanId}`)).body.attention).toBeNull();
    expect((await ops.get("/v1/loans?attention=true")).body.items).toEqual([]);
    await advance("P7D");
    const sent = await sentSteps(loanId);
    expect(sent).toEqual([
      "pre_due_7:email",
      "pre_due_3:sms",
      "pre_due_1:sms",
      "pre_due_1:email",
      "due_day:sms",
    ]);
    expect(new Set(sent).size).toBe(sent.length);
    expect((await auditTypes(loanId)).filter((type) => type === "workflow_restarted")).toHaveLength(2);
  });

  it("a send task retries a crashed sandbox and sends the step once", async () => {
    const loanId = "WF-SEND";
    const created = await t.lender.post("/v1/loans", loanRequest(loanId));
    const { step, channels } = created.body.nextAction as { step: string; channels: string[] };
    const coldStarts = t.stack.lambdas.send.coldStarts;
    await t.stack.lambdas.send.injectFault({ kind: "crash" });
    await advance("PT23H");
    expect(t.stack.lambdas.send.coldStarts).toBe(coldStarts + 1);
    expect(await sentSteps(loanId)).toEqual(channels.map((channel) => `${step}:${channel}`));
  });

  it("a hand-off that fails for good flags the case; a restart hands it off once", async () => {
    const loanId = "WF-HANDOFF";
    await subscribe(loanId);
    await advance("P40D");
    expect((await t.lender.get(`/v1/loans/${loanId}`)).body.status).toBe("legal");
    const other = "WF-HANDOFF-2";
    await subscribe(other);
    // Due 2026-01-15 like every loan here, so it is long past due: a first notice, then the hand-off 14 days
    // after it — which fails.
    await t.stack.lambdas.handOff.injectFault({ kind: "throw", errorType: "RangeError" });
    await advanceFailing("P16D", other, "Legal hand-off: hand over");
    const loan = (await ops.get(`/v1/loans/${other}`)).body;
    expect(loan.attention).toMatchObject({ state: "Legal hand-off: hand over", error: "RangeError" });
    expect((await ops.post(`/v1/loans/${other}/workflow:restart`)).status).toBe(200);
    await advance("PT1H");
    expect((await ops.get(`/v1/loans/${other}`)).body.status).toBe("legal");
    expect((await auditTypes(other)).filter((type) => type === "handed_off")).toHaveLength(1);
  });

  it("a send task retries ProviderThrottledError and sends the step once", async () => {
    const loanId = "WF-THROTTLED";
    const created = await t.lender.post("/v1/loans", loanRequest(loanId, { dueDate: "2026-04-20" }));
    const { step, channels, at } = created.body.nextAction as {
      step: string;
      channels: string[];
      at: string;
    };
    const calls = t.stack.lambdas.send.invocations;
    await t.stack.lambdas.send.injectFault({ kind: "throw", errorType: "ProviderThrottledError" });
    await t.local.post("/local/clock/advance", { to: at });
    await advance("PT10M");
    expect(t.stack.lambdas.send.invocations - calls).toBe(2);
    expect(await sentSteps(loanId)).toEqual(channels.map((channel) => `${step}:${channel}`));
  });

  it.each([["Lambda.TooManyRequestsException"], ["Lambda.ServiceException"], ["States.Timeout"]])(
    "the Plan task retries %s",
    async (errorType) => {
      const loanId = `WF-AWS-${errorType}`;
      await subscribe(loanId, { dueDate: dayFromToday(20) });
      await restartWithPlanFault(loanId, { kind: "throw", errorType });
      expect(execution(loanId, 2)?.status).toBe("RUNNING");
      expect((await t.lender.get(`/v1/loans/${loanId}`)).body.attention).toBeNull();
    },
  );

  it("an on-hold review that fails for good flags the case in that state", async () => {
    const loanId = "WF-REVIEW";
    // Due ahead, so nothing is being sent when the promise re-plans the case (a loan already past due would be
    // sending its first notice right then, and the next execution would begin by settling it in Plan).
    await subscribe(loanId, { dueDate: dayFromToday(5) });
    const promised = await t.lender.post(`/v1/loans/${loanId}/events`, {
      type: "promise_to_pay",
      amount: { amount: "1250.00", currency: "CNY" },
      promisedDate: dayFromToday(3),
    });
    expect(promised.body.status).toBe("on_hold");
    const reviewAt = promised.body.nextAction.at as string;
    await t.stack.lambdas.plan.injectFault({ kind: "throw", errorType: "SyntaxError" });
    await advanceFailing(
      { to: DateTime.fromISO(reviewAt).plus({ minutes: 5 }).toISO() as string },
      loanId,
      "On hold: review",
    );
    expect((await ops.get(`/v1/loans/${loanId}`)).body.attention).toMatchObject({
      state: "On hold: review",
      error: "SyntaxError",
    });
  });

  it("a hand-off retries HandoffPublishError and hands the case off once", async () => {
    const loanId = "WF-PUBLISH";
    await subscribe(loanId, { dueDate: dayFromToday(-29) });
    await advance("PT1H");
    await t.stack.lambdas.handOff.injectFault({ kind: "throw", errorType: "HandoffPublishError" });
    const calls = t.stack.lambdas.handOff.invocations;
    // Subscribed past due: the hand-off comes 14 days after the first notice.
    await advance("P16D");
    expect(t.stack.lambdas.handOff.invocations - calls).toBe(2);
    expect((await t.lender.get(`/v1/loans/${loanId}`)).body.status).toBe("legal");
    expect((await auditTypes(loanId)).filter((type) => type === "handed_off")).toHaveLength(1);
  });

  it("refuses to restart a case no workflow runs for", async () => {
    const restarted = await ops.post("/v1/loans/WF-HANDOFF/workflow:restart");
    expect(restarted.status).toBe(409);
    expect(restarted.body.error.code).toBe("WORKFLOW_NOT_RESTARTABLE");
    expect((await ops.post("/v1/loans/NO-SUCH-LOAN/workflow:restart")).status).toBe(404);
    expect((await t.lender.post("/v1/loans/WF-SEND/workflow:restart")).status).toBe(403);
  });
});
