import { marshall } from "@aws-sdk/util-dynamodb";
import type { DynamoDBRecord } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { trailEntriesOf } from "../../functions/adapters/dynamo/trail-records.ts";
import { InputOutOfRangeError } from "../../functions/domain/errors.ts";
import {
  caseCountsView,
  MAX_REPORT_DAYS,
  reportRange,
  trailFigures,
} from "../../functions/domain/portfolio-report.ts";
import {
  type Counters,
  contributionsOf,
  counterName,
  dailyIncrements,
  type LoanContribution,
  loanKey,
  MAX_DAYS_PER_CONTRIBUTION,
  parseCounterName,
  type TrailEntry,
  writeGroups,
} from "../../functions/domain/trail-projection.ts";
import type { TrailProjectionStore } from "../../functions/ports/reports.ts";
import { projectTrail } from "../../functions/usecases/trail-projection.ts";

const NOW = new Date("2026-02-15T17:30:00Z");

/** The error reportRange throws for `query`, with its details; fails the test when it throws none. */
function refusal(query: { from?: string; to?: string }) {
  try {
    reportRange(query, NOW);
  } catch (error) {
    expect(error).toBeInstanceOf(InputOutOfRangeError);
    return { code: (error as InputOutOfRangeError).code, details: (error as InputOutOfRangeError).details };
  }
  throw new Error(`${JSON.stringify(query)} was accepted`);
}

describe("the report's range", () => {
  it("defaults to the last 30 UTC days of the business clock, today included", () => {
    expect(reportRange({}, NOW)).toEqual({ from: "2026-01-17", to: "2026-02-15", days: 30 });
    // Late in the evening in Shanghai is still the same UTC day.
    expect(reportRange({}, new Date("2026-02-15T23:59:59Z")).to).toBe("2026-02-15");
  });

  it("fills the end a request leaves out: 30 days before `to`, or up to today from `from`", () => {
    expect(reportRange({ to: "2026-01-31" }, NOW)).toEqual({
      from: "2026-01-02",
      to: "2026-01-31",
      days: 30,
    });
    expect(reportRange({ from: "2026-02-01" }, NOW)).toEqual({
      from: "2026-02-01",
      to: "2026-02-15",
      days: 15,
    });
    expect(reportRange({ from: "2026-02-15", to: "2026-02-15" }, NOW).days).toBe(1);
  });

  it("takes up to 366 days, a leap year's February included", () => {
    expect(reportRange({ from: "2024-01-01", to: "2024-12-31" }, NOW).days).toBe(MAX_REPORT_DAYS);
    expect(reportRange({ from: "2024-02-28", to: "2024-03-01" }, NOW).days).toBe(3);
  });

  it("refuses what is not a calendar date, naming each parameter", () => {
    for (const bad of [
      "2026-02-30",
      "2026-13-01",
      "2026-2-1",
      "20260201",
      "yesterday",
      "2026-02-01T00:00:00Z",
      "",
    ]) {
      expect(refusal({ from: bad }), bad).toEqual({
        code: "VALIDATION_FAILED",
        details: [{ path: "from", message: "must be a calendar date as YYYY-MM-DD (UTC)" }],
      });
    }
    expect(refusal({ from: "2025-02-29", to: "nope" }).details.map((d) => d.path)).toEqual(["from", "to"]);
  });

  it("refuses a range that ends before it starts, or covers more than 366 days", () => {
    expect(refusal({ from: "2026-02-10", to: "2026-02-09" }).details).toEqual([
      { path: "to", message: "must be on or after from (2026-02-10)" },
    ]);
    expect(refusal({ from: "2024-01-01", to: "2025-01-01" }).details[0]?.message).toMatch(
      /367 days; at most 366/,
    );
    // Only `from` given, a long way back: the range up to today is too long.
    expect(refusal({ from: "2020-01-01" }).details[0]?.path).toBe("from");
  });
});

let seqs = 0;
const entry = (loanId: string, at: string, type: string, data: Record<string, unknown> = {}): TrailEntry => ({
  tenantId: "demo",
  loanId,
  seq: ++seqs,
  at,
  type,
  data,
});
const sent = (loanId: string, at: string, channel: string, stage = "pre_due") =>
  entry(loanId, at, "message_sent", { channel, stage });

describe("counter names", () => {
  it("name a metric with its dimensions sorted, and read back", () => {
    const name = counterName({ name: "MessagesSent", dimensions: { stage: "pre_due", channel: "sms" } });
    expect(name).toBe("MessagesSent|channel=sms|stage=pre_due");
    expect(parseCounterName(name)).toEqual({
      name: "MessagesSent",
      dimensions: { channel: "sms", stage: "pre_due" },
    });
    expect(counterName({ name: "HandOffs", dimensions: {} })).toBe("HandOffs");
    expect(parseCounterName("HandOffs")).toEqual({ name: "HandOffs", dimensions: {} });
  });
});

describe("the trail projected onto daily counters", () => {
  it("adds each loan's metric-bearing entries by the UTC day they were recorded, and nothing for the others", () => {
    seqs = 0;
    const entries = [
      entry("L-1", "2026-01-05T01:00:00Z", "loan_subscribed"),
      sent("L-1", "2026-01-08T02:00:05Z", "email"),
      entry("L-1", "2026-01-08T02:00:06Z", "message_delivery", { status: "delivered" }),
      // 01:30 in Shanghai on the 13th is still the 12th in UTC.
      entry("L-1", "2026-01-12T17:30:00Z", "step_deferred", { rule: "sms_daily_cap" }),
      sent("L-1", "2026-01-12T23:59:59Z", "sms"),
      entry("L-1", "2026-01-16T03:00:00Z", "payment_received", { afterContact: true }),
      entry("L-2", "2026-01-05T01:00:00Z", "loan_subscribed"),
    ];
    expect(contributionsOf(entries)).toEqual([
      {
        tenantId: "demo",
        loanId: "L-1",
        firstSeq: 2,
        lastSeq: 6,
        days: {
          "2026-01-08": { "MessagesSent|channel=email|stage=pre_due": 1 },
          "2026-01-12": {
            "StepsDeferred|rule=sms_daily_cap": 1,
            "MessagesSent|channel=sms|stage=pre_due": 1,
          },
          "2026-01-16": { PaymentsAfterContact: 1 },
        },
      },
    ]);
  });

  it("counts an entry once however often it comes, and none at or below the loan's mark", () => {
    seqs = 0;
    const entries = [
      sent("L-1", "2026-01-08T02:00:00Z", "email"),
      sent("L-1", "2026-01-12T02:00:00Z", "sms"),
    ];
    const twice = [...entries, ...entries].reverse();
    expect(contributionsOf(twice)).toEqual(contributionsOf(entries));
    const after = contributionsOf(entries, new Map([[loanKey({ tenantId: "demo", loanId: "L-1" }), 1]]));
    expect(after).toEqual([
      {
        tenantId: "demo",
        loanId: "L-1",
        firstSeq: 2,
        lastSeq: 2,
        days: { "2026-01-12": { "MessagesSent|channel=sms|stage=pre_due": 1 } },
      },
    ]);
    expect(contributionsOf(entries, new Map([[loanKey({ tenantId: "demo", loanId: "L-1" }), 2]]))).toEqual(
      [],
    );
  });

  it("splits a loan spanning more days than a write should carry into consecutive contributions", () => {
    seqs = 0;
    const days = MAX_DAYS_PER_CONTRIBUTION + 5;
    const entries = Array.from({ length: days }, (_, i) =>
      sent("L-1", new Date(Date.parse("2026-01-01T02:00:00Z") + i * 86_400_000).toISOString(), "sms"),
    );
    const parts = contributionsOf(entries);
    expect(parts.map((p) => [p.firstSeq, p.lastSeq, Object.keys(p.days).length])).toEqual([
      [1, MAX_DAYS_PER_CONTRIBUTION, MAX_DAYS_PER_CONTRIBUTION],
      [MAX_DAYS_PER_CONTRIBUTION + 1, days, 5],
    ]);
  });

  it("sums the loans' counters per tenant and day, one increment per counter item", () => {
    seqs = 0;
    const contributions = contributionsOf([
      sent("L-1", "2026-01-08T02:00:00Z", "email"),
      sent("L-2", "2026-01-08T03:00:00Z", "email"),
      sent("L-2", "2026-01-09T03:00:00Z", "sms", "soft_collection"),
      { ...sent("L-3", "2026-01-08T03:00:00Z", "email"), tenantId: "other" },
    ]);
    expect(dailyIncrements(contributions)).toEqual([
      { tenantId: "demo", day: "2026-01-08", counters: { "MessagesSent|channel=email|stage=pre_due": 2 } },
      {
        tenantId: "demo",
        day: "2026-01-09",
        counters: { "MessagesSent|channel=sms|stage=soft_collection": 1 },
      },
      { tenantId: "other", day: "2026-01-08", counters: { "MessagesSent|channel=email|stage=pre_due": 1 } },
    ]);
  });

  it("groups contributions into writes within the item limit, one contribution of a loan per write, in order", () => {
    const contribution = (loanId: string, firstSeq: number, days: string[]): LoanContribution => ({
      tenantId: "demo",
      loanId,
      firstSeq,
      lastSeq: firstSeq,
      days: Object.fromEntries(days.map((day) => [day, { HandOffs: 1 }])),
    });
    const a1 = contribution("A", 1, ["2026-01-01", "2026-01-02"]);
    const a2 = contribution("A", 9, ["2026-01-03"]);
    const b = contribution("B", 1, ["2026-01-01"]);
    const c = contribution("C", 1, ["2026-01-04"]);
    // A, then B (a day already in the write): 2 marks + 2 days; A again must wait for a write of its own.
    expect(writeGroups([a1, b, a2, c], 100)).toEqual([
      [a1, b],
      [a2, c],
    ]);
    // At most 4 items: A (1 + 2 days) and B (1, its day shared) fit; C (1 + 1) does not.
    expect(writeGroups([a1, b, c], 4)).toEqual([[a1, b], [c]]);
  });
});

/** The projection store in memory: marks and counters as the DynamoDB one keeps them, conditions included. */
function memoryProjection() {
  const marks = new Map<string, number>();
  const counters = new Map<string, Counters>();
  const store: TrailProjectionStore = {
    async add(contributions) {
      const stale = new Set<string>();
      for (const contribution of contributions) {
        const key = loanKey(contribution);
        if (stale.has(key) || (marks.get(key) ?? 0) >= contribution.firstSeq) {
          stale.add(key);
          continue;
        }
        marks.set(key, contribution.lastSeq);
        for (const { tenantId, day, counters: amounts } of dailyIncrements([contribution])) {
          const item = counters.get(`${tenantId}/${day}`) ?? {};
          for (const [name, value] of Object.entries(amounts)) item[name] = (item[name] ?? 0) + value;
          counters.set(`${tenantId}/${day}`, item);
        }
      }
      return { stale: [...stale] };
    },
    async marks(loans) {
      return new Map(
        loans.flatMap((loan) =>
          marks.has(loanKey(loan)) ? [[loanKey(loan), marks.get(loanKey(loan)) as number]] : [],
        ),
      );
    },
  };
  return { store, counters };
}

describe("projecting a stream batch (at least once)", () => {
  it("adds a batch once: delivered again whole, or again in halves overlapping what was added, it adds nothing more", async () => {
    seqs = 0;
    const { store, counters } = memoryProjection();
    const batch = [
      sent("L-1", "2026-01-08T02:00:00Z", "email"),
      sent("L-2", "2026-01-08T02:00:00Z", "email"),
      entry("L-1", "2026-01-12T02:00:00Z", "step_deferred", { rule: "sms_daily_cap" }),
      sent("L-1", "2026-01-13T00:00:00Z", "sms"),
      entry("L-2", "2026-02-14T02:00:00Z", "handed_off"),
    ];
    expect(await projectTrail(store, batch.slice(0, 3))).toEqual({ loans: 2, repeated: 0 });
    const once = {
      "demo/2026-01-08": { "MessagesSent|channel=email|stage=pre_due": 2 },
      "demo/2026-01-12": { "StepsDeferred|rule=sms_daily_cap": 1 },
    };
    expect(Object.fromEntries(counters)).toEqual(once);
    // The same records again: nothing changes.
    expect(await projectTrail(store, batch.slice(0, 3))).toEqual({ loans: 2, repeated: 2 });
    expect(Object.fromEntries(counters)).toEqual(once);
    // A later batch that starts with records already counted: only the new ones are added.
    expect(await projectTrail(store, batch.slice(1))).toEqual({ loans: 2, repeated: 2 });
    expect(Object.fromEntries(counters)).toEqual({
      ...once,
      "demo/2026-01-13": { "MessagesSent|channel=sms|stage=pre_due": 1 },
      "demo/2026-02-14": { HandOffs: 1 },
    });
  });
});

describe("the report's figures", () => {
  it("gives every day of the range, messages by channel whatever their stage, and the totals", () => {
    const range = { from: "2026-01-07", to: "2026-01-09", days: 3 };
    const { daily, totals } = trailFigures(range, [
      {
        day: "2026-01-08",
        counters: {
          "MessagesSent|channel=email|stage=pre_due": 2,
          "MessagesSent|channel=email|stage=soft_collection": 1,
          "MessagesSent|channel=sms|stage=pre_due": 1,
          "StepsDeferred|rule=contact_window": 1,
          PaymentsAfterContact: 1,
        },
      },
      { day: "2026-01-09", counters: { HandOffs: 1, "StepsDeferred|rule=sms_daily_cap": 2 } },
    ]);
    const none = { messagesSent: {}, stepsDeferred: {}, handOffs: 0, paymentsAfterContact: 0 };
    expect(daily).toEqual([
      { date: "2026-01-07", ...none },
      {
        date: "2026-01-08",
        messagesSent: { email: 3, sms: 1 },
        stepsDeferred: { contact_window: 1 },
        handOffs: 0,
        paymentsAfterContact: 1,
      },
      { date: "2026-01-09", ...none, stepsDeferred: { sms_daily_cap: 2 }, handOffs: 1 },
    ]);
    expect(totals).toEqual({
      messagesSent: { email: 3, sms: 1 },
      stepsDeferred: { contact_window: 1, sms_daily_cap: 2 },
      handOffs: 1,
      paymentsAfterContact: 1,
    });
  });

  it("counts the stages: open ones as given, the paid, settled and closed ones as done", () => {
    const byStatus = { active: 4, on_hold: 1, paid: 2, settled: 1, legal: 1, closed: 3 };
    expect(caseCountsView(byStatus, { pre_due: 3, soft_collection: 2, legal: 1 }, 1)).toEqual({
      total: 12,
      byStatus,
      byStage: { pre_due: 3, soft_collection: 2, legal: 1, done: 6 },
      needingAttention: 1,
    });
  });
});

describe("audit entries off the stream", () => {
  const record = (eventName: "INSERT" | "MODIFY", item: Record<string, unknown>): DynamoDBRecord => ({
    eventName,
    dynamodb: { NewImage: marshall(item, { removeUndefinedValues: true }) as never },
  });

  it("reads each inserted entry's tenant, loan, seq, instant, type and data", () => {
    const item = {
      pk: "T#demo#LOAN#L-1#x",
      seq: 4,
      at: "2026-01-08T02:00:00Z",
      type: "message_sent",
      data: { channel: "sms" },
      gsi1pk: "demo",
    };
    expect(
      trailEntriesOf([
        record("INSERT", item),
        record("MODIFY", item),
        record("INSERT", { ...item, gsi1pk: undefined }),
        record("INSERT", { ...item, gsi1pk: "other" }),
      ]),
    ).toEqual([
      {
        tenantId: "demo",
        loanId: "L-1#x",
        seq: 4,
        at: "2026-01-08T02:00:00Z",
        type: "message_sent",
        data: { channel: "sms" },
      },
    ]);
  });
});
