import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { DynamoCaseRepository } from "../../functions/adapters/dynamo/case-repository.ts";
import { AuditChainConflictError } from "../../functions/adapters/dynamo/errors.ts";
import { keys } from "../../functions/adapters/dynamo/schema.ts";
import { EMPTY_CHAIN, verifyChain } from "../../functions/domain/audit-chain.ts";
import { recordPayment } from "../../functions/domain/case-payment.ts";
import { BusinessRuleError, ConcurrentUpdateError } from "../../functions/domain/errors.ts";
import type { LoanCase } from "../../functions/domain/loan-case.ts";
import { money } from "../../functions/domain/money.ts";
import { claimStep, completeStep } from "../../functions/domain/step-lifecycle.ts";
import { toInstant } from "../../functions/domain/time.ts";
import { type FreshTables, freshTables } from "../support/dynamo.ts";
import { minutesAfter, sendDecision, subscription, T0, uniqueLoanId } from "./fixtures.ts";

const TENANT = "acme";

let db: FreshTables;
let repo: DynamoCaseRepository;

beforeAll(async () => {
  db = await freshTables();
  repo = new DynamoCaseRepository(db.client, db);
});

async function createdCase(loanId = uniqueLoanId(), tenantId = TENANT, now = T0): Promise<LoanCase> {
  const result = await repo.create(subscription(tenantId, loanId, now), toInstant(now));
  if (!result.created) throw new Error(`${loanId} already exists`);
  return result.case;
}

async function rawCaseItem(tenantId: string, loanId: string) {
  const { Item } = await db.client.send(
    new GetCommand({ TableName: db.stateTable, Key: keys.loanCase(tenantId, loanId), ConsistentRead: true }),
  );
  return Item;
}

function pay(loanCase: LoanCase, amount: string, minutes: number) {
  const now = minutesAfter(T0, minutes);
  return {
    change: recordPayment(loanCase, money(amount, "CNY"), toInstant(now), "api:lender-key", now),
    at: toInstant(now),
  };
}

describe("DynamoCaseRepository.create", () => {
  it("writes the case and its first audit entry together, as version 1", async () => {
    const loanId = uniqueLoanId();
    const change = subscription(TENANT, loanId);
    const result = await repo.create(change, toInstant(T0));

    expect(result.created).toBe(true);
    const stored = await repo.get(TENANT, loanId);
    expect(stored).toEqual(result.created ? result.case : null);
    expect(stored?.version).toBe(1);
    expect(stored).not.toHaveProperty("pk");
    expect(stored).not.toHaveProperty("gsi1sk");

    const trail = await repo.auditTrail(TENANT, loanId);
    expect(trail).toHaveLength(1);
    expect(trail[0]).toMatchObject({
      seq: 1,
      at: toInstant(T0),
      type: "loan_subscribed",
      actor: "api:lender-key",
    });
    expect(trail[0]?.prevHash).toBe(EMPTY_CHAIN.hash);
    expect(Object.keys(trail[0] ?? {}).sort()).toEqual([
      "actor",
      "at",
      "data",
      "hash",
      "prevHash",
      "seq",
      "type",
    ]);
    expect(verifyChain({ tenantId: TENANT, loanId }, trail)).toEqual({ valid: true, head: stored?.audit });

    const raw = await rawCaseItem(TENANT, loanId);
    expect(raw).toMatchObject({
      gsi1pk: TENANT,
      gsi1sk: `${toInstant(T0)}#${loanId}`,
      gsi2pk: `${TENANT}#active`,
      gsi2sk: `${toInstant(T0)}#${loanId}`,
    });
  });

  it("returns created:false for a loan id that is taken, and writes nothing", async () => {
    const first = await createdCase();
    const again = subscription(TENANT, first.loanId, minutesAfter(T0, 5), "99.00");

    await expect(repo.create(again, toInstant(minutesAfter(T0, 5)))).resolves.toEqual({ created: false });
    expect(await repo.get(TENANT, first.loanId)).toEqual(first);
    expect(await repo.auditTrail(TENANT, first.loanId)).toHaveLength(1);
  });

  it("lets exactly one of two simultaneous creates of the same loan win", async () => {
    const loanId = uniqueLoanId();
    const results = await Promise.all([
      repo.create(subscription(TENANT, loanId), toInstant(T0)).catch((error: unknown) => error),
      repo.create(subscription(TENANT, loanId), toInstant(T0)).catch((error: unknown) => error),
    ]);
    const created = results.filter((r) => (r as { created?: boolean }).created === true);
    expect(created).toHaveLength(1);
    for (const loser of results.filter((r) => (r as { created?: boolean }).created !== true)) {
      // Either the condition failed or the two transactions collided: both are a lost race.
      expect(
        loser instanceof ConcurrentUpdateError || (loser as { created?: boolean }).created === false,
      ).toBe(true);
    }
    expect(await repo.auditTrail(TENANT, loanId)).toHaveLength(1);
  });

  it("keys cases by tenant: the same loan id in two tenants is two cases", async () => {
    const loanId = uniqueLoanId();
    await createdCase(loanId, "tenant-one");
    await createdCase(loanId, "tenant-two");
    expect((await repo.get("tenant-one", loanId))?.tenantId).toBe("tenant-one");
    expect((await repo.get("tenant-two", loanId))?.tenantId).toBe("tenant-two");
    expect(await repo.get("tenant-three", loanId)).toBeNull();
  });
});

describe("DynamoCaseRepository.update", () => {
  it("bumps the version and appends the change's audit entries", async () => {
    const current = await createdCase();
    const { change, at } = pay(current, "250.00", 10);
    const stored = await repo.update(current, change, at);

    expect(stored.version).toBe(2);
    expect(stored.balance).toEqual(money("1000.00", "CNY"));
    expect(stored.audit.seq).toBe(2);
    expect(await repo.get(TENANT, current.loanId)).toEqual(stored);
    const trail = await repo.auditTrail(TENANT, current.loanId);
    expect(trail.map((entry) => entry.type)).toEqual(["loan_subscribed", "payment_received"]);
  });

  it("refuses a write from a stale version with ConcurrentUpdateError and writes no audit entry", async () => {
    const v1 = await createdCase();
    const first = pay(v1, "100.00", 10);
    const v2 = await repo.update(v1, first.change, first.at);

    const stale = pay(v1, "200.00", 11);
    await expect(repo.update(v1, stale.change, stale.at)).rejects.toBeInstanceOf(ConcurrentUpdateError);

    expect(await repo.get(TENANT, v1.loanId)).toEqual(v2);
    const trail = await repo.auditTrail(TENANT, v1.loanId);
    expect(trail).toHaveLength(2);
    expect(trail.at(-1)?.data).toMatchObject({ amount: money("100.00", "CNY") });
  });

  it("keeps the version condition on a change without audit events", async () => {
    const v1 = await createdCase();
    const touched = { next: { ...v1, updatedAt: toInstant(minutesAfter(T0, 1)) }, events: [] };
    const v2 = await repo.update(v1, touched, toInstant(minutesAfter(T0, 1)));
    expect(v2.version).toBe(2);
    expect(v2.audit).toEqual(v1.audit);

    await expect(repo.update(v1, touched, toInstant(minutesAfter(T0, 2)))).rejects.toBeInstanceOf(
      ConcurrentUpdateError,
    );
    expect(await repo.auditTrail(TENANT, v1.loanId)).toHaveLength(1);
  });

  it("leaves the case unchanged when an audit put in the same transaction fails", async () => {
    const current = await createdCase();
    // An entry already sits where the next one would go: the audit put's condition fails.
    await db.client.send(
      new PutCommand({
        TableName: db.auditTable,
        Item: {
          pk: keys.auditPartition(TENANT, current.loanId),
          seq: current.audit.seq + 1,
          type: "intruder",
        },
      }),
    );
    const { change, at } = pay(current, "250.00", 10);

    const failure = await repo.update(current, change, at).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(AuditChainConflictError);
    expect(failure).not.toBeInstanceOf(ConcurrentUpdateError);
    expect(await repo.get(TENANT, current.loanId)).toEqual(current);
    const items = await db.client.send(
      new QueryCommand({
        TableName: db.auditTable,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": keys.auditPartition(TENANT, current.loanId) },
        ConsistentRead: true,
      }),
    );
    expect(items.Items?.map((item) => item.type)).toEqual(["loan_subscribed", "intruder"]);
  });

  it("refuses to move a case to another tenant or loan id", async () => {
    const current = await createdCase();
    const moved = { next: { ...current, tenantId: "elsewhere" }, events: [] };
    await expect(repo.update(current, moved, toInstant(T0))).rejects.toThrow(/must not move/);
  });

  it("lets exactly one of two updates from the same version win, every time", async () => {
    let current = await createdCase();
    for (let round = 1; round <= 5; round++) {
      const a = pay(current, "10.00", round * 10);
      const b = pay(current, "20.00", round * 10 + 1);
      const outcomes = await Promise.allSettled([
        repo.update(current, a.change, a.at),
        repo.update(current, b.change, b.at),
      ]);
      const won = outcomes.filter((o) => o.status === "fulfilled");
      const lost = outcomes.filter((o) => o.status === "rejected");
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect(lost[0]?.status === "rejected" && lost[0].reason).toBeInstanceOf(ConcurrentUpdateError);

      const stored = await repo.get(TENANT, current.loanId);
      expect(stored).toEqual(won[0]?.status === "fulfilled" ? won[0].value : undefined);
      expect(stored?.version).toBe(round + 1);
      current = stored as LoanCase;
    }
    const trail = await repo.auditTrail(TENANT, current.loanId);
    expect(trail).toHaveLength(6);
    expect(verifyChain({ tenantId: TENANT, loanId: current.loanId }, trail)).toEqual({
      valid: true,
      head: current.audit,
    });
  });
});

describe("the audit hash chain as stored", () => {
  it("verifies over several writes and pins a tampered entry to its sequence number", async () => {
    const scope = { tenantId: TENANT, loanId: uniqueLoanId() };
    let current = await createdCase(scope.loanId);
    const payment = pay(current, "50.00", 60);
    current = await repo.update(current, payment.change, payment.at);
    // Claiming supersedes a step: two entries in one write.
    const claimedAt = minutesAfter(T0, 120);
    current = await repo.update(current, claimStep(current, sendDecision(), claimedAt), toInstant(claimedAt));
    const doneAt = minutesAfter(T0, 121);
    const done = completeStep(
      current,
      [{ type: "step_completed", actor: "system:workflow", data: { step: "pre_due_3", sent: ["sms"] } }],
      doneAt,
    );
    current = await repo.update(current, done, toInstant(doneAt));

    const trail = await repo.auditTrail(scope.tenantId, scope.loanId);
    expect(trail.map((entry) => [entry.seq, entry.type])).toEqual([
      [1, "loan_subscribed"],
      [2, "payment_received"],
      [3, "step_skipped"],
      [4, "step_started"],
      [5, "step_completed"],
    ]);
    expect(verifyChain(scope, trail)).toEqual({ valid: true, head: current.audit });

    await db.client.send(
      new UpdateCommand({
        TableName: db.auditTable,
        Key: { pk: keys.auditPartition(scope.tenantId, scope.loanId), seq: 3 },
        UpdateExpression: "SET #data.#reason = :reason",
        ExpressionAttributeNames: { "#data": "data", "#reason": "reason" },
        ExpressionAttributeValues: { ":reason": "operator_decided" },
      }),
    );
    const tampered = await repo.auditTrail(scope.tenantId, scope.loanId);
    expect(verifyChain(scope, tampered)).toMatchObject({
      valid: false,
      seq: 3,
      reason: "hash does not match",
    });
  });

  it("stores each entry with its tenant-time index key", async () => {
    const loanCase = await createdCase();
    const { Item } = await db.client.send(
      new GetCommand({
        TableName: db.auditTable,
        Key: { pk: keys.auditPartition(TENANT, loanCase.loanId), seq: 1 },
        ConsistentRead: true,
      }),
    );
    expect(Item).toMatchObject({ gsi1pk: TENANT, gsi1sk: `${toInstant(T0)}#${loanCase.loanId}#0000000001` });
  });

  it("reads a trail longer than one DynamoDB page (1 MB)", async () => {
    const current = await createdCase();
    const padding = "x".repeat(12_000);
    const events = Array.from({ length: 99 }, (_, i) => ({
      type: "note_added",
      actor: "ops:someone",
      data: { n: i, padding },
    }));
    const stored = await repo.update(current, { next: current, events }, toInstant(minutesAfter(T0, 1)));

    const send = vi.spyOn(db.client, "send");
    const trail = await repo.auditTrail(TENANT, current.loanId);
    expect(send.mock.calls.length).toBeGreaterThan(1);
    send.mockRestore();
    expect(trail).toHaveLength(100);
    expect(verifyChain({ tenantId: TENANT, loanId: current.loanId }, trail)).toEqual({
      valid: true,
      head: stored.audit,
    });
  });

  it("refuses a change with more audit events than one transaction holds", async () => {
    const current = await createdCase();
    const events = Array.from({ length: 100 }, () => ({
      type: "note_added",
      actor: "ops:someone",
      data: {},
    }));
    await expect(repo.update(current, { next: current, events }, toInstant(T0))).rejects.toBeInstanceOf(
      RangeError,
    );
    expect(await repo.get(TENANT, current.loanId)).toEqual(current);
  });
});

describe("DynamoCaseRepository.list", () => {
  const tenantId = `lister-${uniqueLoanId("t")}`;
  const created: LoanCase[] = [];

  beforeAll(async () => {
    for (let i = 0; i < 7; i++) created.push(await createdCase(`loan-${i}`, tenantId, minutesAfter(T0, i)));
    await createdCase("loan-other", `${tenantId}-other`, T0);
    // Two of them are paid in full.
    for (const index of [1, 4]) {
      const current = created[index] as LoanCase;
      const { change, at } = pay(current, "1250.00", 100);
      created[index] = await repo.update(current, change, at);
    }
  });

  it("pages through a tenant's cases oldest first with an opaque cursor", async () => {
    const pages: LoanCase[][] = [];
    let cursor: string | undefined;
    do {
      const page = await repo.list(tenantId, { limit: 3, ...(cursor ? { cursor } : {}) });
      pages.push(page.items);
      cursor = page.nextCursor ?? undefined;
      if (cursor) expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    } while (cursor);

    expect(pages.map((page) => page.length)).toEqual([3, 3, 1]);
    expect(pages.flat()).toEqual(created);
  });

  it("gives no cursor when the page ends exactly at the last case", async () => {
    const page = await repo.list(tenantId, { limit: 7 });
    expect(page.items).toHaveLength(7);
    expect(page.nextCursor).toBeNull();
  });

  it("filters by status through its index", async () => {
    const paid = await repo.list(tenantId, { status: "paid", limit: 1 });
    expect(paid.items.map((c) => c.loanId)).toEqual(["loan-1"]);
    const rest = await repo.list(tenantId, { status: "paid", limit: 1, cursor: paid.nextCursor ?? "" });
    expect(rest.items.map((c) => c.loanId)).toEqual(["loan-4"]);
    expect(rest.nextCursor).toBeNull();

    const active = await repo.list(tenantId, { status: "active", limit: 10 });
    expect(active.items.map((c) => c.loanId)).toEqual(["loan-0", "loan-2", "loan-3", "loan-5", "loan-6"]);
    expect((await repo.list(tenantId, { status: "legal", limit: 10 })).items).toEqual([]);
  });

  it("refuses a cursor it did not issue", async () => {
    const forged = Buffer.from(JSON.stringify({ pk: "T#other#LOAN#x", sk: "CASE" })).toString("base64url");
    for (const cursor of ["not a cursor!", "e30", forged, Buffer.from("[1,2]").toString("base64url"), ""]) {
      const failure = await repo.list(tenantId, { limit: 2, cursor }).catch((error: unknown) => error);
      expect(failure, cursor).toBeInstanceOf(BusinessRuleError);
      expect((failure as BusinessRuleError).code).toBe("INVALID_CURSOR");
    }
  });

  it("never shows another tenant's cases, whatever cursor is passed", async () => {
    const first = await repo.list(tenantId, { limit: 2 });
    const other = await repo.list(`${tenantId}-other`, { limit: 10, cursor: first.nextCursor ?? "" });
    expect(other.items.every((c) => c.tenantId === `${tenantId}-other`)).toBe(true);
  });

  it("refuses a limit outside 1…1000", async () => {
    await expect(repo.list(tenantId, { limit: 0 })).rejects.toMatchObject({ code: "INVALID_LIMIT" });
    await expect(repo.list(tenantId, { limit: 1.5 })).rejects.toMatchObject({ code: "INVALID_LIMIT" });
  });
});

describe("a claim without a read, and a trail that grows alone", () => {
  const inFlight = (at: string) => ({
    step: "pre_due_7",
    plannedAt: at,
    channels: ["email" as const],
    claimedAt: at,
    retryable: false,
    claimant: { owner: "run-1", leaseUntil: 1 },
  });
  const report = { type: "message_delivery", actor: "system:delivery", data: { status: "delivered" } };

  it("claims at the expected version and answers the case as claimed, in one call", async () => {
    const created = await createdCase();
    const at = toInstant(minutesAfter(T0, 5));
    const result = await repo.claim(created, created.version, inFlight(at), at);
    expect(result).toEqual({
      claimed: { ...created, inFlight: inFlight(at), version: created.version + 1, updatedAt: at },
    });
    expect(await repo.get(TENANT, created.loanId)).toEqual("claimed" in result ? result.claimed : null);
  });

  it("refused at another version, answers the case as it is and changes nothing; null for a loan that is not there", async () => {
    const created = await createdCase();
    const { change, at } = pay(created, "10.00", 1);
    const paid = await repo.update(created, change, at);
    const claimAt = toInstant(minutesAfter(T0, 5));
    expect(await repo.claim(created, created.version, inFlight(claimAt), claimAt)).toEqual({ current: paid });
    expect(await repo.get(TENANT, created.loanId)).toEqual(paid);
    expect(
      await repo.claim({ tenantId: TENANT, loanId: uniqueLoanId() }, 1, inFlight(claimAt), claimAt),
    ).toEqual({
      current: null,
    });
  });

  it("appends a report without a new version, so a claim at that version still holds; a write from the old head does not", async () => {
    const created = await createdCase();
    const at = toInstant(minutesAfter(T0, 2));
    const appended = await repo.appendToTrail(created, [report], at, "delivery:pm-1:delivered");
    expect(appended.version).toBe(created.version);
    expect(appended.audit.seq).toBe(created.audit.seq + 1);
    expect(await repo.get(TENANT, created.loanId)).toEqual(appended);
    // The same report again: on the record already.
    await expect(repo.appendToTrail(appended, [report], at, "delivery:pm-1:delivered")).rejects.toThrow(
      /already has/,
    );
    // A change read before the report would overwrite its head: refused, to be read again.
    const { change, at: paidAt } = pay(created, "10.00", 3);
    await expect(repo.update(created, change, paidAt)).rejects.toBeInstanceOf(ConcurrentUpdateError);
    const claimAt = toInstant(minutesAfter(T0, 5));
    const claimed = await repo.claim(created, created.version, inFlight(claimAt), claimAt);
    expect(claimed).toMatchObject({ claimed: { audit: appended.audit, version: created.version + 1 } });
    const trail = await repo.auditTrail(TENANT, created.loanId);
    expect(verifyChain({ tenantId: TENANT, loanId: created.loanId }, trail)).toEqual({
      valid: true,
      head: appended.audit,
    });
  });
});
