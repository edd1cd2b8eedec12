import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TENANT_SCOPE } from "../../functions/domain/audit-chain.ts";
import { DEFAULT_POLICY, DEFAULT_POLICY_SINCE } from "../../functions/domain/policy.ts";
import { downloadExport, requestExport, verifyFile } from "../../tools/audit-files.ts";
import { loanRequest } from "./client.ts";
import { startTestStack, type TestStack } from "./test-stack.ts";

/**
 * One clock for the audit: a policy change on the embedded stack is stamped with the business (virtual) clock in
 * whole seconds, like the loans' entries, and exported with them under a loan id the API allows.
 */
const ROOT = new URL("../..", import.meta.url).pathname;
const LOAN_ID = new RegExp(
  JSON.parse(await readFile(join(ROOT, "openapi/openapi.json"), "utf8")).components.schemas.LoanId.pattern,
);
/** The frozen business clock when ops changes the policy. */
const CHANGED_AT = "2026-01-09T00:00:00Z";
const range = { from: "2026-01-01T00:00:00Z", to: "2026-02-01T00:00:00Z" };

let test: TestStack;
let dir: string;
let builtIn: { version: number; changedAt: string };
let change: { version: number; changedAt: string };

beforeAll(async () => {
  test = await startTestStack(`ac-${randomBytes(4).toString("hex")}-`);
  dir = await mkdtemp(join(tmpdir(), "audit-clock-"));
  for (const id of ["ac-1", "ac-2", "ac-3"]) {
    expect((await test.lender.post("/v1/loans", loanRequest(id))).status).toBe(201);
  }
  expect((await test.local.post("/local/clock/advance", { to: CHANGED_AT })).status).toBe(200);
  builtIn = (await test.ops.get("/v1/policies/default/versions")).body.items[0];
  const put = await test.ops.call("PUT", "/v1/policies/default", {
    steps: DEFAULT_POLICY.steps,
    handOff: DEFAULT_POLICY.handOff,
    contactWindow: DEFAULT_POLICY.contactWindow,
    applyTo: "in_flight",
    comment: "the same rules, audited",
  });
  expect(put.status).toBe(202);
  change = put.body;
  // The job moves the three loans in one page, at the instant the clock stands at.
  expect((await test.local.post("/local/clock/advance", { by: "PT0S" })).status).toBe(200);
  const job = await test.ops.get(`/v1/policies/default/applications/${put.body.job.id}`);
  expect(job.body).toMatchObject({ status: "done", total: 3, moved: 3, finishedAt: CHANGED_AT });
}, 300_000);

afterAll(async () => {
  await test?.stack.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function exportTo(name: string, query: { from: string; to: string; loanId?: string; format?: "csv" }) {
  const answer = await requestExport({ baseUrl: test.stack.url, key: test.stack.keys.compliance, ...query });
  const file = join(dir, name);
  await downloadExport(answer, file);
  const text = await readFile(file, "utf8");
  return { answer, file, text };
}

describe("one clock for the audit", () => {
  it("dates the built-in policy from before any loan, and a change at the business clock's second", () => {
    expect(builtIn).toMatchObject({ version: 1, changedAt: DEFAULT_POLICY_SINCE });
    expect(change).toMatchObject({ version: 2, changedAt: CHANGED_AT });
  });

  it("exports the policy change in the second it was made, beside the loans it re-planned", async () => {
    const { answer, file, text } = await exportTo("second.jsonl", {
      from: CHANGED_AT,
      to: "2026-01-09T00:00:01Z",
    });
    const entries = text
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line));
    expect(entries.filter((e) => e.type === "policy_changed")).toEqual([
      expect.objectContaining({
        loanId: TENANT_SCOPE,
        seq: 1,
        at: CHANGED_AT,
        data: expect.objectContaining({ policyId: "default", from: 1, to: 2, applyTo: "in_flight" }),
      }),
    ]);
    // The loans it moved, in the same second: one clock for both.
    expect(
      entries
        .filter((e) => e.type === "policy_applied")
        .map((e) => e.loanId)
        .sort(),
    ).toEqual(["ac-1", "ac-2", "ac-3"]);
    expect(answer.expiresAt).toBe("2026-01-09T00:15:00Z");
    expect((await verifyFile(file)).problems).toEqual([]);
  });

  it("lists only loan ids the OpenAPI document allows, and takes the tenant's own chain as a loanId filter", async () => {
    const { answer } = await exportTo("month.jsonl", range);
    expect(answer.manifest.cases.map((c) => c.loanId).sort()).toEqual(["ac-1", "ac-2", "ac-3", TENANT_SCOPE]);
    expect(answer.manifest.cases.filter((c) => !LOAN_ID.test(c.loanId))).toEqual([]);

    const { answer: own, file } = await exportTo("tenant.csv", {
      ...range,
      loanId: TENANT_SCOPE,
      format: "csv",
    });
    expect(own.manifest.loanId).toBe(TENANT_SCOPE);
    expect(own.manifest.cases).toEqual([
      expect.objectContaining({ loanId: TENANT_SCOPE, firstSeq: 1, count: 1 }),
    ]);
    expect((await verifyFile(file)).problems).toEqual([]);

    // The id is the tenant's: no loan may take it.
    const taken = await test.lender.post("/v1/loans", loanRequest(TENANT_SCOPE));
    expect(taken.status).toBe(400);
    expect(taken.body.error.code).toBe("VALIDATION_FAILED");
  });
});
