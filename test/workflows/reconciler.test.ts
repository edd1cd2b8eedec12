import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { DynamoCaseRepository } from "../../functions/adapters/dynamo/case-repository.ts";
import { makeDocumentClient } from "../../functions/adapters/dynamo/client.ts";
import { executionName } from "../../functions/usecases/execution.ts";
import { subscription } from "../integration/fixtures.ts";
import { apiClient, loanRequest } from "./client.ts";
import { startTestStack, type TestStack } from "./test-stack.ts";

// On AWS nothing else notices a case whose execution never started or died: the scheduled reconciler restarts
// every case left long past its wake. The embedded stack runs the same bundle on its clock.
const prefix = `reconciler-${Date.now()}-`;
let t: TestStack;
let ops: ReturnType<typeof apiClient>;

beforeAll(async () => {
  t = await startTestStack(prefix);
  ops = apiClient(t.stack.url, t.stack.keys.ops);
});
afterAll(async () => t?.stack.stop());

const advanceTo = async (to: string) =>
  expect((await t.local.post("/local/clock/advance", { to })).status).toBe(200);
const audit = async (loanId: string) =>
  (await t.lender.get(`/v1/loans/${loanId}/audit`)).body.entries as {
    type: string;
    actor: string;
    data: Record<string, unknown>;
  }[];
const sent = async (loanId: string) =>
  (
    (await t.local.get(`/local/outbox?loanId=${loanId}`)).body.messages as { step: string; channel: string }[]
  ).map((m) => `${m.step}:${m.channel}`);

describe("the reconciler", () => {
  it("restarts a case written without an execution, and it is collected from then on", async () => {
    // As if StartExecution had failed right after the case was written.
    const cases = new DynamoCaseRepository(makeDocumentClient({ endpoint: inject("dynamoEndpoint") }), {
      stateTable: `${prefix}dunning-state`,
      auditTable: `${prefix}dunning-audit`,
    });
    const change = subscription("demo", "RC-NEVER", t.stack.clock.now());
    expect((await cases.create(change, change.next.createdAt)).created).toBe(true);
    expect(change.next.wakeAt).toBe("2026-01-08T02:00:00Z");

    // Still within the grace after its first step: nothing yet.
    await advanceTo("2026-01-08T02:20:00Z");
    expect((await audit("RC-NEVER")).map((e) => e.type)).not.toContain("workflow_restarted");
    await advanceTo("2026-01-08T03:00:00Z");
    const restart = (await audit("RC-NEVER")).find((e) => e.type === "workflow_restarted");
    expect(restart).toMatchObject({
      actor: "system:reconciler",
      data: { reason: "stalled", fromGeneration: 1 },
    });
    expect(
      t.stack.engine.execution(executionName({ tenantId: "demo", loanId: "RC-NEVER", generation: 2 })),
    ).toBeDefined();

    await advanceTo("2026-01-13T00:00:00Z");
    const messages = await sent("RC-NEVER");
    expect(messages).toContain("pre_due_3:sms");
    expect(new Set(messages).size).toBe(messages.length);
  });

  it("restarts a case whose execution died, sends nothing twice, and leaves healthy cases alone", async () => {
    for (const loanId of ["RC-DIED", "RC-HEALTHY"]) {
      expect((await t.lender.post("/v1/loans", loanRequest(loanId, { dueDate: "2026-01-20" }))).status).toBe(
        201,
      );
    }
    await advanceTo("2026-01-14T00:00:00Z");
    expect(await sent("RC-DIED")).toEqual(["pre_due_7:email"]);
    // The execution dies without the case knowing (an abort from outside the product).
    await t.stack.engine.stop(executionName({ tenantId: "demo", loanId: "RC-DIED", generation: 1 }));

    await advanceTo("2026-01-18T00:00:00Z");
    const restarts = (await audit("RC-DIED")).filter((e) => e.type === "workflow_restarted");
    expect(restarts).toHaveLength(1);
    const messages = await sent("RC-DIED");
    expect(messages.filter((m) => m === "pre_due_7:email")).toHaveLength(1);
    expect(messages).toContain("pre_due_3:sms");
    expect(new Set(messages).size).toBe(messages.length);
    expect((await audit("RC-HEALTHY")).map((e) => e.type)).not.toContain("workflow_restarted");
  });

  it("leaves a case flagged as needing attention to ops", async () => {
    const loanId = "RC-FLAGGED";
    expect((await t.lender.post("/v1/loans", loanRequest(loanId, { dueDate: "2026-01-30" }))).status).toBe(
      201,
    );
    await t.stack.lambdas.plan.injectFault({ kind: "throw", errorType: "TypeError" });
    expect((await ops.post(`/v1/loans/${loanId}/workflow:restart`)).status).toBe(200);
    // The advance stops where the workflow failed; the next one goes on past the reconciler's grace.
    const stopped = await t.local.post("/local/clock/advance", { to: "2026-01-25T00:00:00Z" });
    expect(stopped.status).toBe(500);
    expect(stopped.body.failed).toEqual([expect.objectContaining({ loanId, state: "Plan next action" })]);
    await advanceTo("2026-01-25T00:00:00Z");
    expect((await ops.get(`/v1/loans/${loanId}`)).body.attention).toMatchObject({ error: "TypeError" });
    expect((await audit(loanId)).filter((e) => e.type === "workflow_restarted")).toHaveLength(1);
    expect(await sent(loanId)).toEqual([]);
  });
});
