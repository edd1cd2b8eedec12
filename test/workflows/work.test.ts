import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { DynamoApiKeyStore } from "../../functions/adapters/dynamo/api-key-store.ts";
import { makeDocumentClient } from "../../functions/adapters/dynamo/client.ts";
import { DEFAULT_POLICY } from "../../functions/domain/policy.ts";
import type { LocalStack } from "../../infra/local/stack.ts";
import { downloadExport, requestExport, verifyFile } from "../../tools/audit-files.ts";
import { apiClient, loanRequest } from "./client.ts";
import { startTestStack } from "./test-stack.ts";

/**
 * The collection team over HTTP on the embedded stack: a policy's D+10 call step becomes a work item at 10:00 local,
 * an agent claims it and records a promise that holds the case as a lender's would, the cn rule pack refuses a
 * fourth connected call the same day, and bad outcomes or foreign keys change nothing.
 */
let stack: LocalStack;
let lender: ReturnType<typeof apiClient>;
let ops: ReturnType<typeof apiClient>;
let local: ReturnType<typeof apiClient>;
let agent: ReturnType<typeof apiClient>;
let foreignAgent: ReturnType<typeof apiClient>;
const run = randomBytes(3).toString("hex");
const prefix = `work-${run}-`;

interface Item {
  id: string;
  step: string;
  loanId: string;
  task: string;
  dueAt: string;
  loan: { borrower: { phone: string | null } };
}

beforeAll(async () => {
  ({ stack, lender, ops, local } = await startTestStack(prefix));
  agent = apiClient(stack.url, stack.keys.agent);
  const otherKey = `dk_other_agent_${randomBytes(12).toString("hex")}`;
  const keys = new DynamoApiKeyStore(makeDocumentClient({ endpoint: inject("dynamoEndpoint") }), {
    stateTable: `${prefix}dunning-state`,
  });
  await keys.put(otherKey, { tenantId: "other", role: "agent" });
  foreignAgent = apiClient(stack.url, otherKey);
  const { id: _id, version: _version, ...rules } = DEFAULT_POLICY;
  const steps = [
    ...DEFAULT_POLICY.steps,
    { id: "call_10", stage: "soft_collection", offsetDays: 10, sendAt: "10:00", channels: [], task: "call" },
  ].sort((a, b) => a.offsetDays - b.offsetDays);
  const stored = await ops.call("PUT", "/v1/policies/team", {
    ...rules,
    steps,
    handOff: { offsetDays: 30, at: "10:00" },
    callRules: { rulePack: "cn" },
  });
  expect(stored.status, JSON.stringify(stored.body)).toBe(201);
});

afterAll(async () => {
  await stack?.stop();
});

const subscribe = async (loanId: string) => {
  const answer = await lender.post("/v1/loans", loanRequest(loanId, { policyId: "team" }));
  expect(answer.status, JSON.stringify(answer.body)).toBe(201);
};
const advance = async (to: string) =>
  expect((await local.post("/local/clock/advance", { to })).status).toBe(200);
const workOf = async (loanId: string): Promise<Item[]> => {
  const answer = await agent.get("/v1/work");
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return (answer.body.items as Item[]).filter((item) => item.loanId === loanId);
};

describe("the collection team's work list", () => {
  const promised = `work-promise-${run}`;
  const capped = `work-capped-${run}`;

  it("makes a D+10 call step a work item at 10:00 local, which an agent claims and closes with a promise", async () => {
    await subscribe(promised);
    await subscribe(capped);
    // Due 2026-01-15 in Shanghai: D+10 at 10:00 local is 02:00Z on the 25th.
    await advance("2026-01-25T01:55:00Z");
    expect(await workOf(promised)).toEqual([]);
    await advance("2026-01-25T02:05:00Z");
    const [item] = await workOf(promised);
    expect(item).toMatchObject({ task: "call", dueAt: "2026-01-25T02:00:00Z", step: "call_10" });
    if (!item) throw new Error("no work item");

    expect((await lender.post(`/v1/work/${item.id}:claim`)).status).toBe(403);
    expect((await foreignAgent.post(`/v1/work/${item.id}:claim`)).status).toBe(404);
    const claimed = await agent.post(`/v1/work/${item.id}:claim`);
    expect(claimed.status, JSON.stringify(claimed.body)).toBe(200);
    expect(claimed.body.loan.borrower.phone).toBe("+8613800138000");

    // Bad outcomes: refused, and nothing changes.
    const before = (await lender.get(`/v1/loans/${promised}/audit`)).body.entries.length;
    expect((await agent.post(`/v1/work/${item.id}/outcome`, { type: "teleported" })).status).toBe(400);
    const past = await agent.post(`/v1/work/${item.id}/outcome`, {
      type: "promise",
      amount: { amount: "500.00", currency: "CNY" },
      date: "2026-01-20",
    });
    expect(past.status, JSON.stringify(past.body)).toBe(422);
    expect(
      (await agent.post(`/v1/work/${item.id}/outcome`, { type: "visited", staff: ["Wang"] })).status,
    ).toBe(422);
    expect((await lender.get(`/v1/loans/${promised}/audit`)).body.entries.length).toBe(before);

    const promise = await agent.post(`/v1/work/${item.id}/outcome`, {
      type: "promise",
      amount: { amount: "500.00", currency: "CNY" },
      date: "2026-01-30",
      note: "pays on payday",
    });
    expect(promise.status, JSON.stringify(promise.body)).toBe(200);
    const loan = (await lender.get(`/v1/loans/${promised}`)).body;
    expect(loan.status).toBe("on_hold");
    expect(loan.hold).toMatchObject({ reason: "promise", until: "2026-01-30", amount: { amount: "500.00" } });
    const trail = (await lender.get(`/v1/loans/${promised}/audit`)).body.entries as {
      type: string;
      actor: string;
      data: Record<string, unknown>;
    }[];
    const agentId = `agent:${claimed.body.lease.agent.split(":")[1]}`;
    expect(trail.find((e) => e.type === "promise_to_pay")?.actor).toBe(agentId);
    expect(trail.find((e) => e.type === "contact_outcome")).toMatchObject({
      actor: agentId,
      data: {
        workItemId: item.id,
        task: "call",
        result: "promise",
        to: "+861******8000",
        note: "pays on payday",
      },
    });
    expect(await workOf(promised)).toEqual([]);
  });

  it("refuses a fourth connected call the same day under the cn rule pack, naming the rule", async () => {
    let [item] = await workOf(capped);
    for (const minutes of [30, 60, 90]) {
      if (!item) throw new Error("no work item");
      expect((await agent.post(`/v1/work/${item.id}:claim`)).status).toBe(200);
      const at = new Date(Date.parse("2026-01-25T02:05:00Z") + minutes * 60_000).toISOString();
      const callback = await agent.post(`/v1/work/${item.id}/outcome`, { type: "callback", at });
      expect(callback.status, JSON.stringify(callback.body)).toBe(200);
      await advance(at);
      [item] = await workOf(capped);
      expect(item?.step).toBe("callback");
    }
    if (!item) throw new Error("no work item");
    const refused = await agent.post(`/v1/work/${item.id}:claim`);
    expect(refused.status, JSON.stringify(refused.body)).toBe(422);
    expect(refused.body.error.code).toBe("CALL_RULE");
    // Allowed again when the window opens on the borrower's next day: 08:00 in Shanghai.
    expect(refused.body.error.details).toEqual([
      { path: "connected_calls_per_day", message: "allowed from 2026-01-26T00:00:00Z" },
    ]);
    const outcomes = (await lender.get(`/v1/loans/${capped}/audit`)).body.entries.filter(
      (e: { type: string }) => e.type === "contact_outcome",
    );
    expect(outcomes).toHaveLength(3);
  });
  it("places a case with an agency whose keys see only it, pauses its messages, and takes it back", async () => {
    const loanId = `work-placed-${run}`;
    const placed = await lender.post(
      "/v1/loans",
      loanRequest(loanId, { policyId: "team", dueDate: "2026-02-10" }),
    );
    expect(placed.status, JSON.stringify(placed.body)).toBe(201);
    const agencyKey = `dk_agency_${randomBytes(12).toString("hex")}`;
    const keys = new DynamoApiKeyStore(makeDocumentClient({ endpoint: inject("dynamoEndpoint") }), {
      stateTable: `${prefix}dunning-state`,
    });
    await keys.put(agencyKey, { tenantId: "demo", role: "agent", agencyId: "acme-collect" });
    const agency = apiClient(stack.url, agencyKey);
    expect((await agency.get("/v1/me")).body).toMatchObject({ role: "agent", agencyId: "acme-collect" });

    // Under cn, a borrower's data goes to an agency only with their consent.
    const refused = await ops.post("/v1/placements", { agencyId: "acme-collect", loanIds: [loanId] });
    expect(refused.status).toBe(201);
    expect(refused.body).toMatchObject({ loanIds: [], refused: [{ loanId, code: "CONSENT_REQUIRED" }] });
    expect(
      (
        await lender.post(`/v1/loans/${loanId}/events`, {
          type: "consent_recorded",
          scope: "third_party_sharing",
        })
      ).status,
    ).toBe(200);
    const placement = await ops.post("/v1/placements", { agencyId: "acme-collect", loanIds: [loanId] });
    expect(placement.body).toMatchObject({ loanIds: [loanId], refused: [], pauseMessages: true });
    expect((await lender.get(`/v1/loans/${loanId}`)).body).toMatchObject({
      status: "on_hold",
      hold: { reason: "placement" },
    });

    // The agency sees its case, its loan id masked, and nothing else; the tenant's own agents no longer see it.
    const seen = (await agency.get("/v1/work")).body.items as Item[];
    expect(seen.map((item) => item.loanId)).toEqual([`…${loanId.slice(-4)}`]);
    expect(await workOf(loanId)).toEqual([]);
    const [agencyItem] = seen;
    if (!agencyItem) throw new Error("no work item for the agency");
    const rivalKey = `dk_rival_${randomBytes(12).toString("hex")}`;
    await keys.put(rivalKey, { tenantId: "demo", role: "agent", agencyId: "rival-recoveries" });
    const rival = apiClient(stack.url, rivalKey);
    expect((await rival.get("/v1/work")).body.items).toEqual([]);
    expect((await rival.post(`/v1/work/${agencyItem.id}:claim`)).status).toBe(404);
    expect((await agency.post(`/v1/work/${agencyItem.id}:claim`)).status).toBe(200);
    const reached = await agency.post(`/v1/work/${agencyItem.id}/outcome`, { type: "right_party_contact" });
    expect(reached.status, JSON.stringify(reached.body)).toBe(200);

    // Placed, the lender's own reminders pause: D−7 and D−3 pass without a message.
    const sentBefore = (await lender.get(`/v1/loans/${loanId}/audit`)).body.entries.filter(
      (e: { type: string }) => e.type === "message_sent",
    ).length;
    await advance("2026-02-08T03:00:00Z");
    const audit = async () =>
      (await lender.get(`/v1/loans/${loanId}/audit`)).body.entries as { type: string; actor: string }[];
    expect((await audit()).filter((e) => e.type === "message_sent")).toHaveLength(sentBefore);

    const recalled = await ops.post(`/v1/placements/${placement.body.id}:recall`);
    expect(recalled.status, JSON.stringify(recalled.body)).toBe(200);
    expect((await agency.get("/v1/work")).body.items).toEqual([]);
    expect((await lender.get(`/v1/loans/${loanId}`)).body.status).toBe("active");
    // Back with the lender, reminders resume: the due-day SMS goes out.
    await advance("2026-02-10T03:00:00Z");
    const trail = await audit();
    expect(trail.filter((e) => e.type === "message_sent").length).toBeGreaterThan(sentBefore);
    expect(trail.map((e) => e.type)).toEqual(
      expect.arrayContaining(["case_placed", "work_item_created", "contact_outcome", "case_recalled"]),
    );
    expect(trail.find((e) => e.type === "contact_outcome")?.actor).toMatch(/^agent:/);

    // Compliance's export carries every outcome, and verifies.
    const dir = await mkdtemp(join(tmpdir(), "work-export-"));
    const answer = await requestExport({
      baseUrl: stack.url,
      key: stack.keys.compliance,
      from: "2026-01-01T00:00:00Z",
      to: "2026-03-01T00:00:00Z",
      loanId: capped,
    });
    const file = join(dir, "capped.jsonl");
    await downloadExport(answer, file);
    const exported = (await readFile(file, "utf8"))
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line));
    expect(exported.filter((e: { type: string }) => e.type === "contact_outcome")).toHaveLength(3);
    expect((await verifyFile(file)).valid).toBe(true);
    await rm(dir, { recursive: true, force: true });
  });
});
