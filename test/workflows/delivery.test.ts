import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { DynamoCaseRepository } from "../../functions/adapters/dynamo/case-repository.ts";
import { makeDocumentClient } from "../../functions/adapters/dynamo/client.ts";
import { type AuditEntry, verifyChain } from "../../functions/domain/audit-chain.ts";
import { recordDeliveries, recordDelivery } from "../../functions/usecases/delivery.ts";
import { type LocalStack, startLocalStack } from "../../infra/local/stack.ts";
import { apiClient, loanRequest } from "./client.ts";

/** Delivery results in the audit trail: the local outbox reports every message it takes as delivered. */
let stack: LocalStack;
let lender: ReturnType<typeof apiClient>;
let local: ReturnType<typeof apiClient>;
let cases: DynamoCaseRepository;
const prefix = `dl-${randomBytes(4).toString("hex")}-`;

beforeAll(async () => {
  stack = await startLocalStack({
    clockStart: new Date("2026-01-05T00:00:00Z"),
    frozen: true,
    port: 0,
    dynamoEndpoint: inject("dynamoEndpoint"),
    tablePrefix: prefix,
  });
  lender = apiClient(stack.url, stack.keys.lender);
  local = apiClient(stack.url);
  cases = new DynamoCaseRepository(makeDocumentClient({ endpoint: inject("dynamoEndpoint") }), {
    stateTable: `${prefix}dunning-state`,
    auditTable: `${prefix}dunning-audit`,
  });
});

afterAll(async () => {
  await stack?.stop();
});

const auditOf = async (loanId: string) =>
  (await lender.get(`/v1/loans/${loanId}/audit`)).body.entries as AuditEntry[];

describe("delivery results", () => {
  it("every message_sent is followed by its delivered report once the advance returns", async () => {
    const loanId = `delivered-${randomBytes(3).toString("hex")}`;
    expect((await lender.post("/v1/loans", loanRequest(loanId))).status).toBe(201);
    await local.post("/local/clock/advance", { to: "2026-01-20T00:00:00Z" });

    const audit = await auditOf(loanId);
    expect(verifyChain({ tenantId: "demo", loanId }, audit)).toMatchObject({ valid: true });
    const sent = audit.filter((e) => e.type === "message_sent");
    const outbox = (await local.get(`/local/outbox?loanId=${loanId}`)).body.messages as { id: string }[];
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.map((e) => e.data.providerMessageId)).toEqual(outbox.map((m) => m.id));
    for (const entry of sent) {
      const reports = audit.filter(
        (e) => e.type === "message_delivery" && e.data.providerMessageId === entry.data.providerMessageId,
      );
      expect(reports).toHaveLength(1);
      expect(reports[0]?.seq).toBeGreaterThan(entry.seq);
      expect(reports[0]).toMatchObject({
        actor: "system:delivery",
        data: { channel: entry.data.channel, status: "delivered", occurredAt: expect.any(String) },
      });
    }
    // The case is unchanged by its delivery reports but for version and updatedAt.
    expect((await lender.get(`/v1/loans/${loanId}`)).body).toMatchObject({ status: "active" });
  });

  it("records a report once: the same id and status again changes nothing; another status is new", async () => {
    const loanId = `idem-${randomBytes(3).toString("hex")}`;
    // Due weeks ahead: nothing is sent (and so reported) while the test records its own reports.
    const dueDate = new Date(stack.clock.nowMs() + 30 * 86_400_000).toISOString().slice(0, 10);
    expect((await lender.post("/v1/loans", loanRequest(loanId, { dueDate }))).status).toBe(201);
    const deps = { cases, clock: stack.clock };
    const report = {
      tenantId: "demo",
      loanId,
      providerMessageId: "ses-42",
      channel: "email" as const,
      status: "bounced" as const,
      occurredAt: "2026-01-05T00:00:01Z",
      detail: { bounceType: "Permanent" },
    };
    const before = await cases.get("demo", loanId);
    // Concurrent duplicates (an SNS redelivery racing the first): one write, the other sees it.
    expect((await Promise.all([recordDelivery(deps, report), recordDelivery(deps, report)])).sort()).toEqual([
      "duplicate",
      "recorded",
    ]);
    expect(await recordDelivery(deps, report)).toBe("duplicate");
    expect(await recordDelivery(deps, { ...report, status: "complained", detail: undefined })).toBe(
      "recorded",
    );
    expect(await recordDelivery(deps, { ...report, loanId: "no-such-loan" })).toBe("unknown_case");

    const audit = await auditOf(loanId);
    const reports = audit.filter((e) => e.type === "message_delivery");
    expect(reports.map((e) => e.data.status)).toEqual(["bounced", "complained"]);
    expect(reports[0]?.data).toEqual({
      providerMessageId: "ses-42",
      channel: "email",
      status: "bounced",
      occurredAt: "2026-01-05T00:00:01Z",
      detail: { bounceType: "Permanent" },
    });
    expect(verifyChain({ tenantId: "demo", loanId }, audit)).toMatchObject({ valid: true });
    const after = await cases.get("demo", loanId);
    // Only the trail grew: the case keeps its version (a workflow claim taken at it still holds).
    expect(after).toEqual({ ...before, audit: after?.audit });
    expect(after?.audit.seq).toBe((before?.audit.seq ?? 0) + 2);

    // Several reports in one write: the one recorded before is told apart by its marker, the others go in.
    const more = [
      report,
      { ...report, providerMessageId: "ses-43" },
      { ...report, providerMessageId: "ses-44" },
    ];
    expect(await recordDeliveries(deps, more)).toEqual(["duplicate", "recorded", "recorded"]);
    const merged = (await auditOf(loanId)).filter((e) => e.type === "message_delivery");
    expect(merged.map((e) => e.data.providerMessageId)).toEqual(["ses-42", "ses-42", "ses-43", "ses-44"]);
    expect(verifyChain({ tenantId: "demo", loanId }, await auditOf(loanId))).toMatchObject({ valid: true });
  });
});
