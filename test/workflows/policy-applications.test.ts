import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_POLICY } from "../../functions/domain/policy.ts";
import type { ApplicationMessage } from "../../functions/domain/policy-application.ts";
import { loanRequest } from "./client.ts";
import { startTestStack, type TestStack } from "./test-stack.ts";

/**
 * An in-flight policy change over a few hundred running loans, on the embedded stack: the PUT answers 202 at once,
 * and the job moves the loans in the background, a page of 100 at a time, paced on the virtual clock.
 */
const LOANS = Array.from({ length: 200 }, (_, i) => `PA-${String(i).padStart(3, "0")}`);
const START = "2026-01-05T00:00:00Z";
const JOB = "/v1/policies/default/applications/apply-v2";

let t: TestStack;
beforeAll(async () => {
  t = await startTestStack(`pa-${Date.now()}-`, START);
  const batch = await t.lender.post("/v1/loans:batch", { loans: LOANS.map((loanId) => loanRequest(loanId)) });
  expect(batch.status).toBe(207);
}, 120_000);
afterAll(async () => t?.stack.stop());

const advance = async (by: string) =>
  expect((await t.local.post("/local/clock/advance", { by })).status).toBe(200);

/** A page message as SQS would deliver it again, straight to the apply function. */
const redeliver = (cursor?: string) => {
  const message: ApplicationMessage = {
    tenantId: "demo",
    policyId: "default",
    version: 2,
    jobId: "apply-v2",
    ...(cursor ? { cursor } : {}),
  };
  return t.stack.lambdas.policyApply.invoke({
    Records: [
      {
        messageId: `again-${cursor ?? "first"}`,
        receiptHandle: "again",
        body: JSON.stringify(message),
        attributes: { ApproximateReceiveCount: "2", SentTimestamp: String(Date.parse(START)) },
        messageAttributes: {},
        md5OfBody: "",
        eventSource: "aws:sqs",
        eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:policy-applications",
        awsRegion: "us-east-1",
      },
    ],
  });
};

describe("a policy applied in flight", () => {
  it("answers 202 at once, reports progress, and moves every loan once, whatever pages come again", async () => {
    const put = await t.ops.call("PUT", "/v1/policies/default", {
      steps: DEFAULT_POLICY.steps.map((s) => (s.id === "soft_3" ? { ...s, offsetDays: 5 } : s)),
      handOff: DEFAULT_POLICY.handOff,
      contactWindow: DEFAULT_POLICY.contactWindow,
      applyTo: "in_flight",
    });
    expect(put.status).toBe(202);
    expect(put.body).toMatchObject({
      id: "default",
      version: 2,
      applyTo: "in_flight",
      changedAt: START,
      job: { id: "apply-v2", status: "running" },
    });
    expect((await t.ops.get(JOB)).body).toEqual({
      id: "apply-v2",
      policyId: "default",
      version: 2,
      status: "running",
      total: 0,
      moved: 0,
      failed: 0,
      startedAt: START,
      finishedAt: null,
    });
    expect((await t.lender.get(`/v1/loans/${LOANS[0]}`)).body.policy).toEqual({ id: "default", version: 1 });
    // The first page runs at once; the next waits out the pace (100 cases at 50 a second).
    await advance("PT0S");
    expect((await t.ops.get(JOB)).body).toMatchObject({
      status: "running",
      total: 100,
      moved: 100,
      failed: 0,
    });
    await redeliver();
    expect((await t.ops.get(JOB)).body).toMatchObject({ status: "running", total: 100, moved: 100 });
    await advance("PT1M");
    const done = (await t.ops.get(JOB)).body;
    expect(done).toMatchObject({ status: "done", total: 200, moved: 200, failed: 0 });
    expect(Date.parse(done.finishedAt) - Date.parse(START)).toBe(2_000);
    // Both pages come again after the job ended: nothing moves, nothing is counted.
    for (const cursor of [undefined, `2026-01-15#${LOANS[99]}`]) await redeliver(cursor);
    expect((await t.ops.get(JOB)).body).toEqual(done);

    const versions: number[] = [];
    for (let cursor: string | null = ""; cursor !== null; ) {
      const page: { items: { policy: { version: number } }[]; nextCursor: string | null } = (
        await t.lender.get(`/v1/loans?limit=100${cursor ? `&cursor=${cursor}` : ""}`)
      ).body;
      versions.push(...page.items.map((loan) => loan.policy.version));
      cursor = page.nextCursor;
    }
    expect(versions).toEqual(LOANS.map(() => 2));
    for (let start = 0; start < LOANS.length; start += 20) {
      const trails = await Promise.all(
        LOANS.slice(start, start + 20).map(async (loanId) => {
          const entries = (await t.lender.get(`/v1/loans/${loanId}/audit`)).body.entries as {
            type: string;
          }[];
          return [loanId, entries.filter((e) => e.type === "policy_applied").length];
        }),
      );
      expect(trails.filter(([, applied]) => applied !== 1)).toEqual([]);
    }
  }, 120_000);

  it("answers 404 for a job the policy does not have, and 403 to other roles", async () => {
    expect((await t.ops.get("/v1/policies/default/applications/apply-v9")).status).toBe(404);
    expect((await t.ops.get("/v1/policies/other/applications/apply-v2")).status).toBe(404);
    expect((await t.lender.get(JOB)).status).toBe(403);
  });
});
