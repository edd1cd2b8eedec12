import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { DynamoApiKeyStore } from "../../functions/adapters/dynamo/api-key-store.ts";
import { makeDocumentClient } from "../../functions/adapters/dynamo/client.ts";
import { DEFAULT_POLICY } from "../../functions/domain/policy.ts";
import { apiClient } from "./client.ts";
import { startTestStack, type TestStack } from "./test-stack.ts";

/**
 * What-if simulations through the API on the embedded stack: the API stores the job and queues it, and the simulate
 * function's bundle runs it in the background (at once, whatever the virtual clock does) while ops follow it.
 */
const START = "2026-01-05T00:00:00Z";
const prefix = `sim-${Date.now()}-`;
const { id: _id, version: _version, templates: _templates, ...RULES } = DEFAULT_POLICY;
/** The default's rules with a softer soft collection: soft_3 two days later and the hand-off at D+45. */
const DRAFT = {
  ...RULES,
  steps: RULES.steps.map((s) => (s.id === "soft_3" ? { ...s, offsetDays: 5 } : s)),
  handOff: { ...RULES.handOff, offsetDays: 45 },
};
const PORTFOLIO = { synthetic: { loans: 2000, seed: 11, dueDays: 3, installmentShare: 0 } };

let t: TestStack;
let other: ReturnType<typeof apiClient>;
const client = () => makeDocumentClient({ endpoint: inject("dynamoEndpoint") });

beforeAll(async () => {
  t = await startTestStack(prefix, START);
  const otherKey = `dk_other_ops_${randomBytes(12).toString("hex")}`;
  await new DynamoApiKeyStore(client(), { stateTable: `${prefix}dunning-state` }).put(otherKey, {
    tenantId: "other",
    role: "ops",
  });
  other = apiClient(t.stack.url, otherKey);
}, 120_000);
afterAll(async () => t?.stack.stop());

/** The simulation jobs in the stack's state table. */
async function storedJobs(): Promise<number> {
  const scan = await client().send(
    new ScanCommand({
      TableName: `${prefix}dunning-state`,
      FilterExpression: "sk = :simulation",
      ExpressionAttributeValues: { ":simulation": "SIMULATION" },
    }),
  );
  return scan.Items?.length ?? 0;
}

/** Reads the job until it has ended, as the console will; the test's own timeout bounds the wait. */
async function ended(id: string) {
  for (;;) {
    const job = await t.ops.get(`/v1/simulations/${id}`);
    expect(job.status).toBe(200);
    if (job.body.status !== "running") return job.body;
    await sleep(250);
  }
}

describe("a simulation through the API", () => {
  it("runs a draft against the stored default in the background, and reports both", async () => {
    const response = await fetch(`${t.stack.url}/v1/simulations`, {
      method: "POST",
      headers: { authorization: `Bearer ${t.stack.keys.ops}`, "content-type": "application/json" },
      body: JSON.stringify({
        policy: DRAFT,
        compareWith: { policyId: "default" },
        portfolio: PORTFOLIO,
        days: 60,
      }),
    });
    expect(response.status).toBe(202);
    const started = (await response.json()) as { id: string };
    expect(started).toMatchObject({
      status: "running",
      progress: { done: 0, total: 2000 },
      startedAt: START,
      finishedAt: null,
      policies: [
        { label: "draft", id: "draft", version: 1 },
        { label: "default v1", id: "default", version: 1 },
      ],
      start: "2026-01-05",
      days: 60,
    });
    const location = new URL(response.headers.get("location") ?? "", response.url);
    expect(location.pathname).toBe(`/v1/simulations/${started.id}`);

    const job = await ended(started.id);
    expect(job.failure).toBeUndefined();
    expect(job).toMatchObject({
      status: "succeeded",
      progress: { done: 2000, total: 2000 },
      finishedAt: START,
    });
    // The report reads back as the simulator wrote it, report.json's fields in report.json's order.
    expect(Object.keys(job.report)).toEqual(["run", "payments", "policies"]);
    expect(Object.keys(job.report.run)).toEqual([
      "loans",
      "days",
      "seconds",
      "peakRssMb",
      "workers",
      "distinctTrajectories",
      "start",
      "seed",
      "portfolio",
    ]);
    const [draft, current] = job.report.policies;
    expect(job.report.run).toMatchObject({
      loans: 2000,
      days: 60,
      start: "2026-01-05",
      seed: 11,
      portfolio: "synthetic",
    });
    expect([draft.label, current.label]).toEqual(["draft", "default v1"]);
    for (const policy of [draft, current]) {
      expect(policy.funnel.subscribed).toBe(2000);
      expect(policy.days).toHaveLength(60);
      expect(policy.violations.total).toBe(0);
      expect(policy.messages.total).toBeGreaterThan(2000);
    }
    // The same loans pay on the same days under both; the later hand-off hands off fewer of them within 60 days.
    expect(draft.funnel.paidBeforeDue).toBe(current.funnel.paidBeforeDue);
    expect(draft.handOffs).toBeLessThan(current.handOffs);
    expect(job.chartSvg).toMatch(/^<svg [\s\S]*SMS — draft[\s\S]*SMS — default v1[\s\S]*<\/svg>\n$/);
    // The business clock has not moved: a simulation needs none of it.
    expect(Date.parse((await t.local.get("/local/clock")).body.now)).toBe(Date.parse(START));
    expect(t.stack.lambdas.simulate.invocations).toBe(1);

    expect((await other.get(`/v1/simulations/${started.id}`)).status).toBe(404);
    expect((await t.lender.get(`/v1/simulations/${started.id}`)).status).toBe(403);
  }, 120_000);

  it("refuses other roles, bad bodies and invalid drafts, storing nothing", async () => {
    const before = await storedJobs();
    const forbidden = await t.lender.post("/v1/simulations", { policyId: "default", portfolio: PORTFOLIO });
    expect(forbidden.status).toBe(403);
    const bodies: [unknown, string[]][] = [
      [{ policyId: "default" }, ["portfolio"]],
      [
        { policyId: "default", portfolio: { synthetic: { loans: 1_000_001 } } },
        ["portfolio.synthetic.loans"],
      ],
      [{ policy: DRAFT, policyId: "default", portfolio: PORTFOLIO }, ["policyId"]],
      [{ policyId: "default", portfolio: PORTFOLIO, days: 0, extra: true }, ["", "days"]],
    ];
    for (const [body, paths] of bodies) {
      const refused = await t.ops.post("/v1/simulations", body);
      expect(refused.status, JSON.stringify(body)).toBe(400);
      expect(refused.body.error.code).toBe("VALIDATION_FAILED");
      expect(refused.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual(paths);
    }
    const steps = DRAFT.steps.map((s, i) => (i === 1 ? { ...s, sendAt: "22:00" } : s));
    const invalid = await t.ops.post("/v1/simulations", {
      policy: { ...DRAFT, steps },
      portfolio: PORTFOLIO,
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error).toMatchObject({
      code: "VALIDATION_FAILED",
      message: "the policy is not valid",
      details: [{ path: "policy.steps[1].sendAt", message: expect.stringContaining("contact window") }],
    });
    const unknown = await t.ops.post("/v1/simulations", { policyId: "firm", portfolio: PORTFOLIO });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error.code).toBe("UNKNOWN_POLICY");
    expect(await storedJobs()).toBe(before);
  }, 60_000);
});
