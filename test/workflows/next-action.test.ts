import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_POLICY } from "../../functions/domain/policy.ts";
import { loanRequest } from "./client.ts";
import { startTestStack, type TestStack } from "./test-stack.ts";

// nextAction tells the truth: a step the rules of contact deferred is shown at its deferred instant.
let t: TestStack;

beforeAll(async () => {
  t = await startTestStack(`next-action-${Date.now()}-`);
});
afterAll(async () => t?.stack.stop());

describe("nextAction", () => {
  it("shows a step deferred by a quiet day at the deferred instant, not the past planned one", async () => {
    const { id: _id, version: _version, templates: _templates, ...rules } = DEFAULT_POLICY;
    const put = await t.ops.call("PUT", "/v1/policies/quiet", {
      ...rules,
      // 2026-01-08 is pre_due_7's day for a loan due 2026-01-15 (Asia/Shanghai).
      contactRules: { ...DEFAULT_POLICY.contactRules, quietDates: ["2026-01-08"] },
      applyTo: "new_loans",
    });
    expect(put.status).toBe(201);
    expect((await t.lender.post("/v1/loans", loanRequest("NA-1", { policyId: "quiet" }))).status).toBe(201);
    await t.local.post("/local/clock/advance", { to: "2026-01-08T03:00:00Z" });

    const trail = (await t.lender.get("/v1/loans/NA-1/audit")).body.entries as {
      type: string;
      data: { step?: string; until?: string };
    }[];
    const deferred = trail.find((e) => e.type === "step_deferred");
    expect(deferred?.data.step).toBe("pre_due_7");
    const loan = (await t.lender.get("/v1/loans/NA-1")).body;
    expect(loan.nextAction).toMatchObject({ step: "pre_due_7", at: deferred?.data.until });
    expect(Date.parse(loan.nextAction.at)).toBeGreaterThan(t.stack.clock.nowMs());
  });
});
