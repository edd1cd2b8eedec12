import { randomBytes } from "node:crypto";
import { type DynamoDBDocumentClient, GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { DateTime } from "luxon";
import { beforeAll, describe, expect, it } from "vitest";
import { DynamoCaseRepository } from "../../functions/adapters/dynamo/case-repository.ts";
import { keys } from "../../functions/adapters/dynamo/schema.ts";
import { recordPayment } from "../../functions/domain/case-payment.ts";
import { type LoanCase, subscribe } from "../../functions/domain/loan-case.ts";
import { money } from "../../functions/domain/money.ts";
import { DEFAULT_POLICY } from "../../functions/domain/policy.ts";
import { handOff } from "../../functions/domain/step-lifecycle.ts";
import { daysPastDue, toInstant } from "../../functions/domain/time.ts";
import type { Principal } from "../../functions/ports.ts";
import { agingReport } from "../../functions/usecases/reports.ts";
import { type FreshTables, freshTables } from "../support/dynamo.ts";
import { exampleBorrower, subscriptionRequest } from "../support/fixtures.ts";

/** The report is taken at 20:00 UTC: already the next calendar day in Shanghai (UTC+8). */
const NOW = new Date("2026-06-10T20:00:00Z");
const CREATED = new Date("2026-01-01T00:00:00Z");
const ACTOR = "api:lender-key";
const INDEX = "openByDueDate";

let db: FreshTables;
let repo: DynamoCaseRepository;

beforeAll(async () => {
  db = await freshTables();
  repo = new DynamoCaseRepository(db.client, db);
});

const uniqueTenant = () => `aging-${randomBytes(4).toString("hex")}`;
const principal = (tenantId: string): Principal => ({ tenantId, role: "lender", keyId: "lender-key" });
const clock = { now: () => NOW };
/** The UTC calendar date `days` before NOW (negative: after). */
const daysAgo = (days: number) =>
  DateTime.fromJSDate(NOW, { zone: "utc" }).minus({ days }).toISODate() as string;

async function open(
  tenantId: string,
  loanId: string,
  options: { dueDate: string; amount: string; currency?: string; timeZone?: string },
): Promise<LoanCase> {
  const change = subscribe(
    tenantId,
    subscriptionRequest(loanId, {
      borrower: exampleBorrower({ timeZone: options.timeZone ?? "UTC" }),
      amountDue: money(options.amount, options.currency ?? "CNY"),
      dueDate: options.dueDate,
    }),
    DEFAULT_POLICY,
    `hash-of-${loanId}`,
    ACTOR,
    CREATED,
  );
  const result = await repo.create(change, toInstant(CREATED));
  if (!result.created) throw new Error(`${loanId} already exists`);
  return result.case;
}

async function pay(loanCase: LoanCase, amount: string): Promise<LoanCase> {
  const at = toInstant(NOW);
  const change = recordPayment(loanCase, money(amount, loanCase.balance.currency), at, ACTOR, NOW);
  return repo.update(loanCase, change, at);
}

async function rawItem(loanCase: LoanCase) {
  const { Item } = await db.client.send(
    new GetCommand({
      TableName: db.stateTable,
      Key: keys.loanCase(loanCase.tenantId, loanCase.loanId),
      ConsistentRead: true,
    }),
  );
  return Item;
}

/** The raw items of the openByDueDate index for a tenant, as DynamoDB holds them. */
async function indexItems(tenantId: string) {
  const { Items } = await db.client.send(
    new QueryCommand({
      TableName: db.stateTable,
      IndexName: INDEX,
      KeyConditionExpression: "gsi3pk = :tenant",
      ExpressionAttributeValues: { ":tenant": tenantId },
    }),
  );
  return Items ?? [];
}

/** A repository whose client records every command it sends, optionally rewriting them first. */
function recordingRepository(rewrite: (command: { input: Record<string, unknown> }) => void = () => {}) {
  const sent: { name: string; input: Record<string, unknown> }[] = [];
  const client = {
    send(command: { constructor: { name: string }; input: Record<string, unknown> }) {
      rewrite(command);
      sent.push({ name: command.constructor.name, input: { ...command.input } });
      return db.client.send(command as never);
    },
  } as unknown as DynamoDBDocumentClient;
  return { repository: new DynamoCaseRepository(client, db), sent };
}

/** A portfolio across every bucket boundary, two currencies, every open status, a paid case and a neighbour. */
async function portfolio() {
  const tenantId = uniqueTenant();
  const other = uniqueTenant();
  await open(tenantId, "due-today", { dueDate: daysAgo(0), amount: "100.10" });
  await open(tenantId, "due-later", { dueDate: daysAgo(-10), amount: "50.00", currency: "USD" });
  await open(tenantId, "dpd-1", { dueDate: daysAgo(1), amount: "0.10" });
  await open(tenantId, "dpd-30", { dueDate: daysAgo(30), amount: "0.20" });
  await open(tenantId, "dpd-31", { dueDate: daysAgo(31), amount: "10.01", currency: "USD" });
  const partlyPaid = await open(tenantId, "dpd-60", { dueDate: daysAgo(60), amount: "1250.00" });
  await pay(partlyPaid, "250.00");
  // 30 days past due by the UTC date, 31 in the borrower's own zone: the borrower's zone decides.
  const shanghai = await open(tenantId, "dpd-31-shanghai", {
    dueDate: daysAgo(30),
    amount: "300.00",
    timeZone: "Asia/Shanghai",
  });
  const onHold = await open(tenantId, "dpd-61-on-hold", { dueDate: daysAgo(61), amount: "61.00" });
  await repo.update(
    onHold,
    { next: { ...onHold, status: "on_hold" }, events: [{ type: "hold_placed", actor: ACTOR, data: {} }] },
    toInstant(NOW),
  );
  await open(tenantId, "dpd-90", { dueDate: daysAgo(90), amount: "90.00", currency: "USD" });
  const legal = await open(tenantId, "dpd-91-legal", { dueDate: daysAgo(91), amount: "91.00" });
  await repo.update(legal, handOff(legal, toInstant(NOW), NOW), toInstant(NOW));
  // Open (and so in the index) until it is paid in full.
  const unpaid = await open(tenantId, "dpd-45-paid", { dueDate: daysAgo(45), amount: "500.00" });
  const indexedWhileOpen = (await indexItems(tenantId)).some(
    (item) => item.gsi3sk === `${daysAgo(45)}#dpd-45-paid`,
  );
  const paid = await pay(unpaid, "500.00");
  await open(other, "neighbour", { dueDate: daysAgo(5), amount: "999.00" });
  return { tenantId, other, shanghai, paid, indexedWhileOpen };
}

const EXPECTED_BUCKETS = [
  {
    bucket: "current",
    count: 2,
    balances: [
      { amount: "100.10", currency: "CNY" },
      { amount: "50.00", currency: "USD" },
    ],
  },
  { bucket: "1-30", count: 2, balances: [{ amount: "0.30", currency: "CNY" }] },
  {
    bucket: "31-60",
    count: 3,
    balances: [
      { amount: "1300.00", currency: "CNY" },
      { amount: "10.01", currency: "USD" },
    ],
  },
  {
    bucket: "61-90",
    count: 2,
    balances: [
      { amount: "61.00", currency: "CNY" },
      { amount: "90.00", currency: "USD" },
    ],
  },
  { bucket: "90+", count: 1, balances: [{ amount: "91.00", currency: "CNY" }] },
];

describe("the aging report on DynamoDB Local", () => {
  it("buckets the tenant's open cases by days past due at every boundary, summing exactly per currency", async () => {
    const { tenantId, shanghai, paid, indexedWhileOpen } = await portfolio();
    expect(indexedWhileOpen).toBe(true);
    expect(paid.status).toBe("paid");
    expect((await indexItems(tenantId)).map((item) => item.gsi3sk)).not.toContain(
      `${paid.dueDate}#${paid.loanId}`,
    );

    expect(daysPastDue(shanghai.dueDate, "UTC", NOW)).toBe(30);
    expect(daysPastDue(shanghai.dueDate, "Asia/Shanghai", NOW)).toBe(31);
    expect(await agingReport({ cases: repo, clock }, principal(tenantId))).toEqual({
      asOf: "2026-06-10T20:00:00Z",
      buckets: EXPECTED_BUCKETS,
    });
  });

  it("takes a case out of the index when it is paid, and keeps it there while it is partly paid", async () => {
    const tenantId = uniqueTenant();
    const loanCase = await open(tenantId, "to-be-paid", { dueDate: daysAgo(45), amount: "500.00" });
    expect(await rawItem(loanCase)).toMatchObject({
      gsi3pk: tenantId,
      gsi3sk: `${daysAgo(45)}#to-be-paid`,
      agingTimeZone: "UTC",
    });

    const partly = await pay(loanCase, "200.00");
    expect(await indexItems(tenantId)).toEqual([
      expect.objectContaining({ gsi3sk: `${daysAgo(45)}#to-be-paid`, balance: money("300.00", "CNY") }),
    ]);

    const paid = await pay(partly, "300.00");
    expect(paid.status).toBe("paid");
    const raw = await rawItem(paid);
    expect(raw).toMatchObject({ status: "paid", gsi2pk: `${tenantId}#paid` });
    expect(raw).not.toHaveProperty("gsi3pk");
    expect(raw).not.toHaveProperty("gsi3sk");
    expect(raw).not.toHaveProperty("agingTimeZone");
    expect(await indexItems(tenantId)).toEqual([]);
    expect(await repo.get(tenantId, paid.loanId)).toEqual(paid);

    const report = await agingReport({ cases: repo, clock }, principal(tenantId));
    expect(report.buckets.map((b) => [b.bucket, b.count, b.balances])).toEqual([
      ["current", 0, []],
      ["1-30", 0, []],
      ["31-60", 0, []],
      ["61-90", 0, []],
      ["90+", 0, []],
    ]);
  });

  it("never shows another tenant's cases", async () => {
    const { tenantId, other } = await portfolio();
    const theirs = await agingReport({ cases: repo, clock }, principal(other));
    expect(theirs.buckets.find((b) => b.bucket === "1-30")).toEqual({
      bucket: "1-30",
      count: 1,
      balances: [{ amount: "999.00", currency: "CNY" }],
    });
    expect(theirs.buckets.reduce((sum, b) => sum + b.count, 0)).toBe(1);
    const ours = await agingReport({ cases: repo, clock }, principal(tenantId));
    expect(ours.buckets.reduce((sum, b) => sum + b.count, 0)).toBe(10);
    expect(await agingReport({ cases: repo, clock }, principal(uniqueTenant()))).toMatchObject({
      buckets: EXPECTED_BUCKETS.map(({ bucket }) => ({ bucket, count: 0, balances: [] })),
    });
  });

  it("projects into the index only what the report reads: no borrower name, phone or email", async () => {
    const tenantId = uniqueTenant();
    await open(tenantId, "pii", { dueDate: daysAgo(3), amount: "12.34" });
    const [item, ...rest] = await indexItems(tenantId);
    expect(rest).toEqual([]);
    expect(Object.keys(item ?? {}).sort()).toEqual(
      ["agingTimeZone", "balance", "dueDate", "gsi3pk", "gsi3sk", "pk", "sk", "status"].sort(),
    );
    expect(JSON.stringify(item)).not.toMatch(/Li Wei|li\.wei@example\.com|8613800138000/);
  });

  it("reads the openByDueDate index with Query, never a Scan or a read of the cases themselves", async () => {
    const { tenantId } = await portfolio();
    const { repository, sent } = recordingRepository();
    const report = await agingReport({ cases: repository, clock }, principal(tenantId));
    expect(report.buckets.reduce((sum, b) => sum + b.count, 0)).toBe(10);
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.map((command) => command.name)).toEqual(sent.map(() => "QueryCommand"));
    for (const { input } of sent) {
      expect(input).toMatchObject({
        TableName: db.stateTable,
        IndexName: INDEX,
        ExpressionAttributeValues: { ":pk": tenantId },
      });
    }
  });

  it("follows every page of the index", async () => {
    const { tenantId } = await portfolio();
    // Three items a page: the report must keep querying until DynamoDB has no LastEvaluatedKey.
    const { repository, sent } = recordingRepository((command) => {
      command.input.Limit = 3;
    });
    const report = await agingReport({ cases: repository, clock }, principal(tenantId));
    expect(report.buckets).toEqual(EXPECTED_BUCKETS);
    expect(sent.length).toBeGreaterThanOrEqual(4);
    expect(sent.slice(1).every((command) => command.input.ExclusiveStartKey !== undefined)).toBe(true);
  });
});
