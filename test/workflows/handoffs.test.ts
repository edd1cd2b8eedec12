import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DateTime } from "luxon";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { DynamoApiKeyStore } from "../../functions/adapters/dynamo/api-key-store.ts";
import { makeDocumentClient } from "../../functions/adapters/dynamo/client.ts";
import { verifyChain } from "../../functions/domain/audit-chain.ts";
import { type LocalStack, startLocalStack } from "../../infra/local/stack.ts";
import { apiClient, loanRequest } from "./client.ts";

/**
 * The legal hand-off end to end on the embedded stack: the workflow (or a lender's event) sends a case to
 * legal, its package is published to the hand-off folder and recorded, and legal reads and acknowledges it.
 */
let stack: LocalStack;
let folder: string;
let lender: ReturnType<typeof apiClient>;
let legal: ReturnType<typeof apiClient>;
let otherLegal: ReturnType<typeof apiClient>;
let local: ReturnType<typeof apiClient>;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "handoffs-wf-"));
  const tablePrefix = `ho-${randomBytes(4).toString("hex")}-`;
  const dynamoEndpoint = inject("dynamoEndpoint");
  stack = await startLocalStack({
    clockStart: new Date("2026-01-05T00:00:00Z"),
    frozen: true,
    port: 0,
    dynamoEndpoint,
    tablePrefix,
    handoffDir: folder,
  });
  lender = apiClient(stack.url, stack.keys.lender);
  legal = apiClient(stack.url, stack.keys.legal);
  local = apiClient(stack.url);
  // A legal key of another tenant, in the same tables.
  const otherKey = `dk_other_legal_${randomBytes(12).toString("hex")}`;
  await new DynamoApiKeyStore(makeDocumentClient({ endpoint: dynamoEndpoint }), {
    stateTable: `${tablePrefix}dunning-state`,
  }).put(otherKey, { tenantId: "other", role: "legal" });
  otherLegal = apiClient(stack.url, otherKey);
});

afterAll(async () => {
  await stack?.stop();
  if (folder) await rm(folder, { recursive: true, force: true });
});

const advanceTo = (to: string) => local.post("/local/clock/advance", { to });

interface Entry {
  seq: number;
  type: string;
  actor: string;
  data: Record<string, unknown>;
}

describe("legal hand-off", () => {
  const loanId = `to-legal-${randomBytes(3).toString("hex")}`;

  it("never paid: at D+30 the package is published to the folder and listed as pending", async () => {
    expect((await lender.post("/v1/loans", loanRequest(loanId))).status).toBe(201);
    await advanceTo("2026-03-01T00:00:00Z");
    expect((await lender.get(`/v1/loans/${loanId}`)).body.status).toBe("legal");

    const json = JSON.parse(await readFile(join(folder, "demo", `${loanId}.json`), "utf8"));
    const html = await readFile(join(folder, "demo", `${loanId}.html`), "utf8");
    expect(json).toMatchObject({ tenantId: "demo", loanId, reason: "policy" });
    expect(html).toContain("<!DOCTYPE html>");
    expect(html).toContain(json.packageHash);

    const list = await legal.get("/v1/handoffs?status=pending");
    expect(list.status).toBe(200);
    const item = list.body.items.find((i: { loanId: string }) => i.loanId === loanId);
    expect(item).toMatchObject({
      loanId,
      status: "pending",
      reason: "policy",
      handedOffAt: "2026-02-14T02:00:00Z",
      balance: { amount: "1250.00", currency: "CNY" },
      packageHash: json.packageHash,
      acknowledgedAt: null,
    });
    // Pending is the default.
    expect((await legal.get("/v1/handoffs")).body.items.map((i: { loanId: string }) => i.loanId)).toContain(
      loanId,
    );
    expect((await legal.get("/v1/handoffs?status=acknowledged")).body.items).toEqual([]);
  });

  it("GET returns the package with every message the outbox delivered, and a valid chain proof", async () => {
    const response = await legal.get(`/v1/handoffs/${loanId}`);
    expect(response.status).toBe(200);
    const pkg = response.body;
    const outbox = (await local.get(`/local/outbox?loanId=${loanId}`)).body.messages as {
      step: string;
      channel: string;
      sentAt: string;
    }[];
    expect(outbox.length).toBeGreaterThan(0);
    const sent = pkg.contacts.filter((c: { result: string }) => c.result === "sent");
    expect(sent.map((c: { step: string; channel: string }) => `${c.step}:${c.channel}`)).toEqual(
      outbox.map((m) => `${m.step}:${m.channel}`),
    );
    for (const [i, contact] of sent.entries()) {
      expect(DateTime.fromISO(contact.sentAt).toMillis()).toBe(
        DateTime.fromISO(outbox[i]?.sentAt as string).toMillis(),
      );
      expect(contact.sentAtLocal).toMatch(/\+08:00$/);
      expect(contact.to).toMatch(/\*/);
      expect(contact.template).toMatchObject({ version: 1, locale: "zh-CN" });
      expect(contact.contentSha256).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(pkg.loan.borrower).toMatchObject({ name: "Li Wei", phone: "+8613800138000" });
    expect(pkg.policies.map((p: { id: string; version: number }) => `${p.id}@${p.version}`)).toEqual([
      "default@1",
    ]);
    expect(pkg.chain.verdict.valid).toBe(true);
    expect(verifyChain({ tenantId: "demo", loanId }, pkg.audit)).toMatchObject({ valid: true });
    expect(pkg.audit.at(-1).type).toBe("handed_off");

    // The trail records the publication, with the package's hash, right after the hand-off.
    const audit = (await lender.get(`/v1/loans/${loanId}/audit`)).body.entries as Entry[];
    const published = audit.filter((e) => e.type === "handoff_published");
    expect(published).toHaveLength(1);
    expect(published[0]?.seq).toBe(pkg.chain.head.seq + 1);
    expect(published[0]?.data).toMatchObject({
      packageHash: pkg.packageHash,
      reason: "policy",
      location: { kind: "file", json: join(folder, "demo", `${loanId}.json`) },
    });
  });

  it("is for legal only, and only of its own tenant", async () => {
    for (const path of ["/v1/handoffs", `/v1/handoffs/${loanId}`]) {
      const response = await lender.get(path);
      expect(response.status).toBe(403);
      expect(response.body.error.code).toBe("FORBIDDEN");
    }
    expect((await lender.post(`/v1/handoffs/${loanId}/ack`)).status).toBe(403);

    const other = await otherLegal.get(`/v1/handoffs/${loanId}`);
    expect(other.status).toBe(404);
    expect(other.body.error.code).toBe("NOT_FOUND");
    expect((await otherLegal.post(`/v1/handoffs/${loanId}/ack`)).status).toBe(404);
    expect((await otherLegal.get("/v1/handoffs")).body.items).toEqual([]);
    expect((await legal.get("/v1/handoffs/no-such-loan")).status).toBe(404);
    expect((await legal.get("/v1/handoffs?status=lost")).status).toBe(400);
  });

  it("ack: acknowledged once, audited once by the legal actor; a second ack is an idempotent 200", async () => {
    const first = await legal.post(`/v1/handoffs/${loanId}/ack`);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ loanId, status: "acknowledged", acknowledgedBy: expect.any(String) });
    expect(first.body.acknowledgedAt).toBeTruthy();

    const second = await legal.post(`/v1/handoffs/${loanId}/ack`);
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);

    const pending = (await legal.get("/v1/handoffs?status=pending")).body.items;
    expect(pending.map((i: { loanId: string }) => i.loanId)).not.toContain(loanId);
    const acknowledged = (await legal.get("/v1/handoffs?status=acknowledged")).body.items;
    expect(acknowledged).toContainEqual(first.body);

    const audit = (await lender.get(`/v1/loans/${loanId}/audit`)).body.entries as Entry[];
    const acks = audit.filter((e) => e.type === "handoff_acknowledged");
    expect(acks).toHaveLength(1);
    expect(acks[0]?.actor).toMatch(/^legal:/);
    expect(acks[0]?.actor).toBe(first.body.acknowledgedBy);
    expect(verifyChain({ tenantId: "demo", loanId }, audit as never)).toMatchObject({ valid: true });
  });

  it("bankruptcy: the event sends the case to legal and publishes the package with reason bankruptcy", async () => {
    const bankrupt = `bankrupt-${randomBytes(3).toString("hex")}`;
    const now = DateTime.fromISO((await local.get("/local/clock")).body.now as string);
    const due = now.setZone("Asia/Shanghai").plus({ days: 10 }).toISODate() as string;
    expect((await lender.post("/v1/loans", loanRequest(bankrupt, { dueDate: due }))).status).toBe(201);
    const event = await lender.post(`/v1/loans/${bankrupt}/events`, { type: "bankruptcy" });
    expect(event.status).toBe(200);
    expect(event.body.status).toBe("legal");

    const pkg = (await legal.get(`/v1/handoffs/${bankrupt}`)).body;
    expect(pkg).toMatchObject({ loanId: bankrupt, reason: "bankruptcy" });
    expect(pkg.audit.at(-1).type).toBe("bankruptcy_notified");
    expect(pkg.handedOffAt).toBe(pkg.audit.at(-1).at);
    const file = JSON.parse(await readFile(join(folder, "demo", `${bankrupt}.json`), "utf8"));
    expect(file.packageHash).toBe(pkg.packageHash);
    const item = (await legal.get("/v1/handoffs")).body.items.find(
      (i: { loanId: string }) => i.loanId === bankrupt,
    );
    expect(item).toMatchObject({ status: "pending", reason: "bankruptcy", packageHash: pkg.packageHash });

    // Nothing more is published on later events: the stored hand-off is left alone.
    await lender.post(`/v1/loans/${bankrupt}/events`, { type: "opt_out", channel: "sms" });
    const audit = (await lender.get(`/v1/loans/${bankrupt}/audit`)).body.entries as Entry[];
    expect(audit.filter((e) => e.type === "handoff_published")).toHaveLength(1);
  });
});
