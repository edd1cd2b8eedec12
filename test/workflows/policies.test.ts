import { randomBytes } from "node:crypto";
import { DateTime } from "luxon";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { DynamoApiKeyStore } from "../../functions/adapters/dynamo/api-key-store.ts";
import { makeDocumentClient } from "../../functions/adapters/dynamo/client.ts";
import { TenantAuditLog } from "../../functions/adapters/dynamo/tenant-audit.ts";
import { DEFAULT_POLICY, type PolicyStep } from "../../functions/domain/policy.ts";
import type { LocalStack } from "../../infra/local/stack.ts";
import { type apiClient, loanRequest } from "./client.ts";
import { startTestStack } from "./test-stack.ts";

/** Policies as versioned data, through the ops routes, on the real workflow and DynamoDB Local. */
let stack: LocalStack;
let lender: ReturnType<typeof apiClient>;
let ops: ReturnType<typeof apiClient>;
let local: ReturnType<typeof apiClient>;
const prefix = `pol-${randomBytes(4).toString("hex")}-`;
const tables = { stateTable: `${prefix}dunning-state`, auditTable: `${prefix}dunning-audit` };

beforeAll(async () => {
  ({ stack, lender, ops, local } = await startTestStack(prefix));
});

afterAll(async () => {
  await stack?.stop();
});

const advanceTo = (to: string) => local.post("/local/clock/advance", { to });
const outboxOf = async (loanId: string) =>
  (await local.get(`/local/outbox?loanId=${loanId}`)).body.messages as {
    step: string;
    channel: string;
    sentAt: string;
  }[];
const rulesWith = (steps: PolicyStep[], applyTo: "new_loans" | "in_flight", comment?: string) => ({
  steps,
  handOff: DEFAULT_POLICY.handOff,
  contactWindow: DEFAULT_POLICY.contactWindow,
  applyTo,
  ...(comment ? { comment } : {}),
});
const moved = (id: string, offsetDays: number) =>
  DEFAULT_POLICY.steps.map((s) => (s.id === id ? { ...s, offsetDays } : s));

describe("policies as versioned data", () => {
  it("answers the built-in default as version 1, with its history", async () => {
    const policy = await ops.get("/v1/policies/default");
    expect(policy.status).toBe(200);
    expect(policy.body).toMatchObject({ id: "default", version: 1, steps: DEFAULT_POLICY.steps });
    const history = await ops.get("/v1/policies/default/versions");
    expect(history.body.items).toEqual([expect.objectContaining({ version: 1, changedBy: "system" })]);
    expect((await ops.get("/v1/policies/nope")).status).toBe(404);
    expect((await ops.get("/v1/policies/nope/versions")).status).toBe(404);
  });

  it("refuses other roles and invalid policies with the offending path", async () => {
    const body = rulesWith(moved("soft_3", 5), "new_loans");
    expect((await lender.call("PUT", "/v1/policies/default", body)).status).toBe(403);
    expect((await lender.get("/v1/policies/default")).status).toBe(403);
    const late = rulesWith(
      DEFAULT_POLICY.steps.map((s) => (s.id === "soft_3" ? { ...s, sendAt: "22:00" } : s)),
      "new_loans",
    );
    const refused = await ops.call("PUT", "/v1/policies/default", late);
    expect(refused.status).toBe(400);
    expect(refused.body.error.details).toEqual([
      { path: "steps[5].sendAt", message: "22:00 is outside the contact window 08:00–21:00" },
    ]);
    expect((await ops.get("/v1/policies/default")).body.version).toBe(1);
  });

  it("in_flight: a loan past D+1 waiting for D+3 gets its next SMS on D+5 at 10:00, nothing twice", async () => {
    const loanId = `in-flight-${randomBytes(3).toString("hex")}`;
    expect((await lender.post("/v1/loans", loanRequest(loanId))).status).toBe(201);
    await advanceTo("2026-01-17T00:00:00Z"); // D+2 08:00 Shanghai: soft_1 sent, soft_3 next
    expect((await outboxOf(loanId)).map((m) => m.step)).toContain("soft_1");
    expect((await lender.get(`/v1/loans/${loanId}`)).body.nextAction).toMatchObject({ step: "soft_3" });

    const put = await ops.call(
      "PUT",
      "/v1/policies/default",
      rulesWith(moved("soft_3", 5), "in_flight", "D+3 SMS moved to D+5"),
    );
    // Stored at once; the running loans move in the background, as the clock lets the job run.
    expect(put.status).toBe(202);
    expect(put.body).toMatchObject({
      id: "default",
      version: 2,
      applyTo: "in_flight",
      job: { id: "apply-v2", status: "running" },
    });
    await local.post("/local/clock/advance", { by: "PT0S" });
    const job = (await ops.get("/v1/policies/default/applications/apply-v2")).body;
    expect(job).toMatchObject({ status: "done", moved: job.total, failed: 0 });
    expect(job.total).toBeGreaterThanOrEqual(1);
    const loan = (await lender.get(`/v1/loans/${loanId}`)).body;
    expect(loan.policy).toEqual({ id: "default", version: 2 });

    await advanceTo("2026-01-22T00:00:00Z");
    const messages = await outboxOf(loanId);
    const soft3 = messages.filter((m) => m.step === "soft_3");
    expect(soft3).toHaveLength(1);
    expect(
      DateTime.fromISO(soft3[0]?.sentAt ?? "")
        .setZone("Asia/Shanghai")
        .toFormat("yyyy-MM-dd HH:mm"),
    ).toBe("2026-01-20 10:00");
    const sent = messages.map((m) => `${m.step}:${m.channel}`);
    expect(new Set(sent).size).toBe(sent.length);

    const audit = (await lender.get(`/v1/loans/${loanId}/audit`)).body.entries as {
      type: string;
      data: Record<string, unknown>;
    }[];
    expect(audit.find((e) => e.type === "policy_applied")?.data).toMatchObject({ from: 1, to: 2 });

    // Who changed what: the ops key, in the history and in the tenant's audit chain.
    const client = makeDocumentClient({ endpoint: inject("dynamoEndpoint") });
    const principal = await new DynamoApiKeyStore(client, tables).resolve(stack.keys.ops);
    const history = (await ops.get("/v1/policies/default/versions")).body.items;
    expect(history.map((i: { version: number }) => i.version)).toEqual([2, 1]);
    expect(history[0]).toMatchObject({
      changedBy: `ops:${principal?.keyId}`,
      comment: "D+3 SMS moved to D+5",
      applyTo: "in_flight",
      changes: [{ path: "steps.soft_3", from: "D+3 10:00", to: "D+5 10:00" }],
    });
    const chain = new TenantAuditLog(client, tables);
    expect(await chain.verify("demo")).toMatchObject({ valid: true });
    const changed = (await chain.entries("demo")).filter((e) => e.type === "policy_changed");
    expect(changed.at(-1)).toMatchObject({ actor: `ops:${principal?.keyId}`, data: { from: 1, to: 2 } });
  });

  it("new_loans: a running loan stays on its version, new subscriptions take the newest", async () => {
    const running = `running-${randomBytes(3).toString("hex")}`;
    expect((await lender.post("/v1/loans", loanRequest(running, { dueDate: "2026-02-15" }))).status).toBe(
      201,
    );
    expect((await lender.get(`/v1/loans/${running}`)).body.policy).toEqual({ id: "default", version: 2 });

    const put = await ops.call("PUT", "/v1/policies/default", rulesWith(moved("soft_3", 4), "new_loans"));
    expect(put.status).toBe(201);
    expect(put.body).toMatchObject({ version: 3, applyTo: "new_loans" });
    expect(put.body.job).toBeUndefined();
    expect((await ops.get("/v1/policies/default")).body.version).toBe(3);
    expect((await lender.get(`/v1/loans/${running}`)).body.policy).toEqual({ id: "default", version: 2 });

    const fresh = `fresh-${randomBytes(3).toString("hex")}`;
    expect((await lender.post("/v1/loans", loanRequest(fresh, { dueDate: "2026-02-15" }))).status).toBe(201);
    expect((await lender.get(`/v1/loans/${fresh}`)).body.policy).toEqual({ id: "default", version: 3 });
  });

  it("takes back a policy as GET answered it, edited; an id that is not the path's is refused", async () => {
    const read = (await ops.get("/v1/policies/default")).body;
    const edited = {
      ...read,
      steps: read.steps.map((step: PolicyStep) =>
        step.id === "final_notice_21" ? { ...step, sendAt: "11:00" } : step,
      ),
    };
    const put = await ops.call("PUT", "/v1/policies/default", edited);
    expect(put.status).toBe(201);
    expect(put.body.version).toBe(read.version + 1);
    expect(put.body.changes).toEqual([
      expect.objectContaining({ path: "steps.final_notice_21", from: "D+21 10:00", to: "D+21 11:00" }),
    ]);

    const other = await ops.call("PUT", "/v1/policies/default", { ...edited, id: "gentle" });
    expect(other.status).toBe(400);
    expect(other.body.error.details).toEqual([expect.objectContaining({ path: "id" })]);
    expect((await ops.get("/v1/policies/default")).body.version).toBe(read.version + 1);
  });
});
