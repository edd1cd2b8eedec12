import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ASL_PATH } from "../../infra/local/stack.ts";
import { loanRequest } from "./client.ts";
import { startTestStack, type TestStack } from "./test-stack.ts";

// The workflow's Retry and Catch match error types by name. These run the deployed bundles (minified, as CDK
// uploads them) against DynamoDB Local and check that each business error reaches the engine under the very
// name the ASL expects: a minifier renaming a class would send a paid loan's execution down the wrong path.
let t: TestStack;

beforeAll(async () => {
  t = await startTestStack(`bundled-errors-${Date.now()}-`);
});
afterAll(async () => t?.stack.stop());

async function errorOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => "no error",
    (error: Error) => error.name,
  );
}

const ref = (loanId: string, generation: number) => ({
  tenantId: "demo",
  loanId,
  generation,
  startedAt: "2026-01-05T00:00:00Z",
});

describe("error names from the bundled step functions", () => {
  it("every custom error the ASL matches is one the step functions can throw under that name", () => {
    const asl = readFileSync(ASL_PATH, "utf8");
    const named = new Set([...asl.matchAll(/"([A-Z][A-Za-z]+Error)"/g)].map((m) => m[1]));
    expect([...named].sort()).toEqual(
      [
        "CaseNotCollectableError",
        "ConcurrentUpdateError",
        "DependencyUnavailableError",
        "HandoffPublishError",
        "ProviderThrottledError",
        "StaleExecutionError",
        "StepInProgressError",
      ].sort(),
    );
  });

  it("a paid case: plan, send and hand-off throw CaseNotCollectableError", async () => {
    const loanId = "BE-PAID";
    expect((await t.lender.post("/v1/loans", loanRequest(loanId))).status).toBe(201);
    const paid = await t.lender.post(`/v1/loans/${loanId}/events`, {
      type: "payment",
      amount: { amount: "1250.00", currency: "CNY" },
    });
    expect(paid.body.status).toBe("paid");
    const input = {
      ...ref(loanId, 1),
      next: { phase: "pre_due", at: "2026-01-08T02:00:00Z", step: "pre_due_7" },
    };
    expect(await errorOf(t.stack.lambdas.plan.invoke(ref(loanId, 1)))).toBe("CaseNotCollectableError");
    expect(await errorOf(t.stack.lambdas.send.invoke(input))).toBe("CaseNotCollectableError");
    expect(await errorOf(t.stack.lambdas.handOff.invoke(input))).toBe("CaseNotCollectableError");
  });

  it("an older generation's execution throws StaleExecutionError", async () => {
    const loanId = "BE-STALE";
    expect((await t.lender.post("/v1/loans", loanRequest(loanId))).status).toBe(201);
    expect(await errorOf(t.stack.lambdas.plan.invoke(ref(loanId, 0)))).toBe("StaleExecutionError");
  });
});
