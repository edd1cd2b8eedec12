/* biome-ignore-all lint/suspicious/noExplicitAny: response bodies are checked field by field */
import { randomBytes } from "node:crypto";
import { DateTime } from "luxon";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_POLICY } from "../../functions/domain/policy.ts";
import { loanRequest } from "./client.ts";
import { startTestStack, type TestStack } from "./test-stack.ts";

/**
 * Installment loans over the HTTP API on the embedded stack (DynamoDB Local, the real workflow, a frozen virtual
 * clock): reminders before each installment, soft collection for a missed one, a cure, a hand-off after missed
 * installments, and what the loan resource and the aging report say at each point.
 */
const ZONE = "Asia/Shanghai";
const MONTHS = ["02", "03", "04", "05", "06", "07"];
const schedule = (count = 6, amount = "200.00") =>
  MONTHS.slice(0, count).map((month) => ({
    dueDate: `2026-${month}-15`,
    amount: { amount, currency: "CNY" },
  }));

const stacks: TestStack[] = [];
afterAll(async () => {
  await Promise.all(stacks.map((s) => s.stack.stop()));
});

async function stackFor(name: string): Promise<TestStack> {
  const stack = await startTestStack(`${name}-${randomBytes(4).toString("hex")}-`);
  stacks.push(stack);
  return stack;
}

/** The borrower's local date and time `local` ("2026-02-14 12:00") as an instant. */
const at = (local: string) =>
  DateTime.fromFormat(local, "yyyy-MM-dd HH:mm", { zone: ZONE }).toUTC().toISO() as string;

function helpers(test: TestStack) {
  const advanceTo = async (local: string) => {
    const answer = await test.local.post("/local/clock/advance", { to: at(local) });
    expect(answer.status).toBe(200);
  };
  const outbox = async (loanId: string) =>
    (await test.local.get(`/local/outbox?loanId=${loanId}`)).body.messages as {
      step: string;
      stage: string;
      body: string;
      sentAt: string;
    }[];
  const pay = async (loanId: string, amount: string) => {
    const event = {
      type: "payment",
      eventId: `pay-${randomBytes(4).toString("hex")}`,
      amount: { amount, currency: "CNY" },
    };
    const answer = await test.lender.post(`/v1/loans/${loanId}/events`, event);
    expect(answer.status).toBe(200);
    return answer.body;
  };
  const loan = async (loanId: string) => (await test.lender.get(`/v1/loans/${loanId}`)).body;
  const bucketCount = async (bucket: string) =>
    (await test.lender.get("/v1/reports/aging")).body.buckets.find((b: any) => b.bucket === bucket)
      .count as number;
  return { advanceTo, outbox, pay, loan, bucketCount };
}

describe("installment loans", () => {
  it("refuses bad schedules with the offending item's path and stores nothing", async () => {
    const test = await stackFor("inst-bad");
    const bad: [unknown, string][] = [
      [[schedule()[1], schedule()[0]], "schedule.1.dueDate"],
      [
        [schedule()[0], { ...schedule()[1], amount: { amount: "200.00", currency: "USD" } }],
        "schedule.1.amount.currency",
      ],
      [
        [schedule()[0], { ...schedule()[1], amount: { amount: "0.00", currency: "CNY" } }],
        "schedule.1.amount.amount",
      ],
      [
        Array.from({ length: 361 }, (_, i) => ({
          dueDate: DateTime.fromISO("2026-02-01").plus({ months: i }).toISODate(),
          amount: { amount: "10.00", currency: "CNY" },
        })),
        "schedule",
      ],
    ];
    for (const [items, path] of bad) {
      const { dueDate: _single, ...rest } = loanRequest("L-BAD", { schedule: items });
      const answer = await test.lender.post("/v1/loans", rest);
      expect(answer.status, path).toBe(400);
      expect(
        answer.body.error.details.map((d: any) => d.path),
        path,
      ).toContain(path);
    }
    const { dueDate: _d, ...sumOff } = loanRequest("L-BAD", {
      schedule: schedule(3),
      amountDue: { amount: "601.00", currency: "CNY" },
    });
    const off = await test.lender.post("/v1/loans", sumOff);
    expect(off.status).toBe(400);
    expect(off.body.error.details.map((d: any) => d.path)).toContain("amountDue.amount");
    expect((await test.lender.get("/v1/loans/L-BAD")).status).toBe(404);
  });

  it("paid on time: pre-due reminders before each installment and nothing else", async () => {
    const test = await stackFor("inst-ok");
    const { advanceTo, outbox, pay, loan } = helpers(test);
    const { dueDate: _d, amountDue: _a, ...request } = loanRequest("L-ONTIME", { schedule: schedule() });
    const created = await test.lender.post("/v1/loans", request);
    expect(created.status).toBe(201);
    expect(created.body.amountDue).toEqual({ amount: "1200.00", currency: "CNY" });
    expect(created.body.installments.map((i: any) => i.status)).toEqual(Array(6).fill("upcoming"));
    for (const month of MONTHS) {
      await advanceTo(`2026-${month}-14 12:00`);
      const before = await loan("L-ONTIME");
      expect(before.dueDate).toBe(`2026-${month}-15`);
      expect(before.daysPastDue).toBe(0);
      expect(before.amountDueNow).toEqual({ amount: "0.00", currency: "CNY" });
      await pay("L-ONTIME", "200.00");
    }
    const done = await loan("L-ONTIME");
    expect(done.status).toBe("paid");
    expect(done.installments.every((i: any) => i.status === "paid")).toBe(true);
    const messages = await outbox("L-ONTIME");
    expect(messages.every((m) => m.stage === "pre_due")).toBe(true);
    // pre_due_7, pre_due_3 and pre_due_1 before each of the six installments (one step may use two channels); the
    // due-day SMS never, as each installment was paid the day before.
    const steps = [...new Set(messages.map((m) => `${m.step}@${m.sentAt}`))].map((key) => key.split("@")[0]);
    for (const step of ["pre_due_7", "pre_due_3", "pre_due_1"]) {
      expect(steps.filter((s) => s === step)).toHaveLength(6);
    }
    expect(steps).not.toContain("due_day");
  });

  it("a missed installment gets soft collection until a payment cures it, then pre-due reminders for the next", async () => {
    const test = await stackFor("inst-cure");
    const { advanceTo, outbox, pay, loan, bucketCount } = helpers(test);
    const { dueDate: _d, amountDue: _a, ...request } = loanRequest("L-CURE", { schedule: schedule() });
    expect((await test.lender.post("/v1/loans", request)).status).toBe(201);
    await advanceTo("2026-02-14 12:00");
    await pay("L-CURE", "200.00");

    // Installment 2 (March 15) is missed: D+1 and D+3 go out for it.
    await advanceTo("2026-03-19 12:00");
    const late = await loan("L-CURE");
    expect(late.dueDate).toBe("2026-03-15");
    expect(late.daysPastDue).toBe(4);
    expect(late.amountDueNow).toEqual({ amount: "200.00", currency: "CNY" });
    expect(late.balance).toEqual({ amount: "1000.00", currency: "CNY" });
    expect(late.installments.map((i: any) => i.status)).toEqual([
      "paid",
      "overdue",
      "upcoming",
      "upcoming",
      "upcoming",
      "upcoming",
    ]);
    expect(await bucketCount("1-30")).toBe(1);
    const soft = (await outbox("L-CURE")).filter((m) => m.stage === "soft_collection").map((m) => m.step);
    expect([...new Set(soft)]).toEqual(["soft_1", "soft_3"]);
    expect((await outbox("L-CURE")).find((m) => m.step === "soft_1")?.body).toContain("2/6");

    const cured = await pay("L-CURE", "200.00");
    expect(cured.dueDate).toBe("2026-04-15");
    expect(cured.daysPastDue).toBe(0);
    expect(cured.amountDueNow).toEqual({ amount: "0.00", currency: "CNY" });
    const trail = (await test.lender.get("/v1/loans/L-CURE/audit")).body.entries.map((e: any) => e.type);
    expect(trail).toContain("cured");
    expect(await bucketCount("current")).toBe(1);

    const sentBefore = (await outbox("L-CURE")).length;
    await advanceTo("2026-04-14 12:00");
    const after = (await outbox("L-CURE")).slice(sentBefore);
    expect(after.map((m) => m.stage).every((s) => s === "pre_due")).toBe(true);
    expect([...new Set(after.map((m) => m.step))]).toEqual(["pre_due_7", "pre_due_3", "pre_due_1"]);
  });

  it("three missed installments in a row hand the loan off as its policy says, listing every installment", async () => {
    const test = await stackFor("inst-handoff");
    const { advanceTo, loan } = helpers(test);
    const policy = {
      steps: DEFAULT_POLICY.steps,
      handOff: { offsetDays: 120, at: "10:00", afterMissedInstallments: 3 },
      contactWindow: DEFAULT_POLICY.contactWindow,
      applyTo: "new_loans",
    };
    expect((await test.ops.call("PUT", "/v1/policies/three-strikes", policy)).status).toBe(201);
    const {
      dueDate: _d,
      amountDue: _a,
      ...request
    } = loanRequest("L-MISS", {
      schedule: schedule(),
      policyId: "three-strikes",
    });
    expect((await test.lender.post("/v1/loans", request)).status).toBe(201);

    await advanceTo("2026-04-15 12:00");
    const twoMissed = await loan("L-MISS");
    expect(twoMissed.status).toBe("active");
    expect(twoMissed.daysPastDue).toBe(59);
    expect(twoMissed.amountDueNow).toEqual({ amount: "600.00", currency: "CNY" });

    await advanceTo("2026-04-17 12:00");
    const handed = await loan("L-MISS");
    expect(handed.status).toBe("legal");
    const entries = (await test.lender.get("/v1/loans/L-MISS/audit")).body.entries;
    const handOff = entries.find((e: any) => e.type === "handed_off");
    expect(handOff.at).toBe(at("2026-04-16 10:00").replace(".000Z", "Z"));
  });
});
