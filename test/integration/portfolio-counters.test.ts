import { randomBytes } from "node:crypto";
import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { beforeAll, describe, expect, it } from "vitest";
import { DynamoCaseRepository } from "../../functions/adapters/dynamo/case-repository.ts";
import {
  DynamoPortfolioReadModel,
  DynamoTrailProjection,
} from "../../functions/adapters/dynamo/daily-counters.ts";
import { keys } from "../../functions/adapters/dynamo/schema.ts";
import { recordPayment } from "../../functions/domain/case-payment.ts";
import { subscribe } from "../../functions/domain/loan-case.ts";
import { money } from "../../functions/domain/money.ts";
import { DEFAULT_POLICY } from "../../functions/domain/policy.ts";
import { toInstant } from "../../functions/domain/time.ts";
import type { TrailEntry } from "../../functions/domain/trail-projection.ts";
import { projectTrail } from "../../functions/usecases/trail-projection.ts";
import { type FreshTables, freshTables } from "../support/dynamo.ts";
import { subscriptionRequest } from "../support/fixtures.ts";

/** The portfolio report's store on DynamoDB Local: the daily counters the trail projection keeps, the case counts. */
let db: FreshTables;
let projection: DynamoTrailProjection;
let readModel: DynamoPortfolioReadModel;

beforeAll(async () => {
  db = await freshTables();
  projection = new DynamoTrailProjection(db.client, db);
  readModel = new DynamoPortfolioReadModel(db.client, db);
});

const uniqueTenant = () => `pf-${randomBytes(4).toString("hex")}`;

/** A loan's trail of `count` entries from seq 1: an SMS sent each day from 2026-01-10 on. */
const smsTrail = (tenantId: string, loanId: string, count: number): TrailEntry[] =>
  Array.from({ length: count }, (_, i) => ({
    tenantId,
    loanId,
    seq: i + 1,
    at: `2026-01-${String(10 + i).padStart(2, "0")}T02:00:00Z`,
    type: "message_sent",
    data: { channel: "sms", stage: "pre_due" },
  }));

const SMS = "MessagesSent|channel=sms|stage=pre_due";

describe("the trail projection's daily counters", () => {
  it("adds each entry once across repeated and overlapping batches", async () => {
    const tenantId = uniqueTenant();
    const trail = smsTrail(tenantId, "L-1", 6);
    await projectTrail(projection, trail.slice(0, 3));
    // Redelivered: the same batch, then one overlapping what was counted (a bisected retry, a replay).
    expect(await projectTrail(projection, trail.slice(0, 3))).toEqual({ loans: 1, repeated: 1 });
    expect(await projectTrail(projection, trail.slice(1, 5))).toEqual({ loans: 1, repeated: 1 });
    await projectTrail(projection, trail.slice(5));
    const days = await readModel.dailyCounters(tenantId, "2026-01-01", "2026-01-31");
    expect(days).toEqual(
      ["10", "11", "12", "13", "14", "15"].map((d) => ({ day: `2026-01-${d}`, counters: { [SMS]: 1 } })),
    );
    // The range bounds are inclusive, and another tenant's counters are its own.
    expect((await readModel.dailyCounters(tenantId, "2026-01-11", "2026-01-12")).map((d) => d.day)).toEqual([
      "2026-01-11",
      "2026-01-12",
    ]);
    expect(await readModel.dailyCounters(uniqueTenant(), "2026-01-01", "2026-01-31")).toEqual([]);
  });

  it("adds up many loans' batches written at once into the same tenant's day", async () => {
    const tenantId = uniqueTenant();
    const batches = Array.from({ length: 8 }, (_, i) => [
      ...smsTrail(tenantId, `A-${i}`, 1),
      ...smsTrail(tenantId, `B-${i}`, 1),
    ]);
    await Promise.all(batches.map((batch) => projectTrail(projection, batch)));
    await Promise.all(batches.map((batch) => projectTrail(projection, batch)));
    expect(await readModel.dailyCounters(tenantId, "2026-01-10", "2026-01-10")).toEqual([
      { day: "2026-01-10", counters: { [SMS]: 16 } },
    ]);
  });
});

describe("the case counts", () => {
  it("counts the tenant's cases per status on the byStatus index, and those flagged for attention", async () => {
    const tenantId = uniqueTenant();
    const repo = new DynamoCaseRepository(db.client, db);
    const at = new Date("2026-01-05T00:00:00Z");
    const created = [];
    for (const loanId of ["C-1", "C-2", "C-3"]) {
      const change = subscribe(
        tenantId,
        subscriptionRequest(loanId),
        DEFAULT_POLICY,
        `h-${loanId}`,
        "api:k",
        at,
      );
      const result = await repo.create(change, toInstant(at));
      if (!result.created) throw new Error(`${loanId} exists`);
      created.push(result.case);
    }
    const [first, second] = created;
    if (!first || !second) throw new Error("no cases");
    await repo.update(
      first,
      recordPayment(first, money("1250.00", "CNY"), toInstant(at), "api:k", at),
      toInstant(at),
    );
    await db.client.send(
      new UpdateCommand({
        TableName: db.stateTable,
        Key: keys.loanCase(tenantId, second.loanId),
        UpdateExpression: "SET attention = :attention",
        ExpressionAttributeValues: { ":attention": { reason: "workflow_failed", since: toInstant(at) } },
      }),
    );
    expect(await readModel.caseCounts(tenantId)).toEqual({
      byStatus: { active: 2, on_hold: 0, paid: 1, settled: 0, legal: 0, closed: 0 },
      attention: 1,
    });
    expect(await readModel.caseCounts(uniqueTenant())).toMatchObject({
      attention: 0,
      byStatus: { active: 0 },
    });
  });
});
