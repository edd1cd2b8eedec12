import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { DEFAULT_POLICY } from "../../functions/domain/policy.ts";
import { ASSUMED_COSTS } from "../../simulator/capacity/costs.ts";
import { type CapacityResult, planCapacity } from "../../simulator/capacity/model.ts";
import { quotasFor } from "../../simulator/capacity/quotas.ts";
import { buildReport, type CapacityRun, reportTable } from "../../simulator/capacity/report.ts";
import type { CapacityInput } from "../../simulator/capacity/share.ts";
import type { PaymentModel } from "../../simulator/payments.ts";
import type { PortfolioLoan } from "../../simulator/portfolio.ts";
import { capacityProgram } from "../../tools/capacity-command.ts";
import { runCli } from "../../tools/cli-io.ts";

const START = "2026-03-02";
const START_MS = Date.parse(`${START}T00:00:00Z`);
const NEVER_PAYS: PaymentModel = { paymentTime: "18:00", payOnDay: {} };

/** `count` loans of borrowers with a phone and an email, due on the given dates in turn, in the given zones in turn. */
function loans(count: number, dueDates: string[], zones = ["Asia/Shanghai"]) {
  return Array.from({ length: count }, (_, index) => ({
    index,
    loan: {
      loanId: `CAP-${index}`,
      borrower: {
        name: `Borrower ${index}`,
        phone: `+8613800${String(index).padStart(6, "0")}`,
        email: `b${index}@example.com`,
        locale: "en-US",
        timeZone: zones[index % zones.length] as string,
      },
      amountDue: { amount: "100.00", currency: "CNY" },
      dueDate: dueDates[index % dueDates.length] as string,
    } satisfies PortfolioLoan,
  }));
}

function input(portfolio: ReturnType<typeof loans>, changes: Partial<CapacityInput> = {}): CapacityInput {
  return {
    loans: portfolio.length,
    sample: portfolio.length,
    portfolio: { kind: "loans", loans: portfolio },
    settings: { policy: DEFAULT_POLICY, payments: NEVER_PAYS, seed: 1, leadDays: 20 },
    startMs: START_MS,
    days: 30,
    horizonDays: 30,
    sendRates: {},
    costs: ASSUMED_COSTS,
    ...changes,
  };
}

const plan = (i: CapacityInput) => planCapacity(i, { workers: 0 });
const minuteOf = (iso: string) => (Date.parse(iso) - START_MS) / 60_000;
const max = (series: Float64Array) => series.reduce((a, b) => Math.max(a, b), 0);
const total = (series: Float64Array) => series.reduce((a, b) => a + b, 0);

function run(result: CapacityResult, i: CapacityInput): CapacityRun {
  return {
    loans: i.loans,
    sample: i.sample,
    planned: result.sample.planned,
    distinctPlans: result.sample.distinctPlans,
    individualPlans: result.sample.individual,
    weight: i.loans / i.sample,
    region: "us-east-1",
    start: START,
    days: i.days,
    horizonDays: i.horizonDays,
    leadDays: i.settings.leadDays,
    sendRates: i.sendRates,
    policy: "default",
    portfolio: "test",
    payments: "never",
    seed: 1,
    workers: 0,
    seconds: 0,
  };
}

describe("the capacity plan", () => {
  it("puts every loan that sends an SMS at 10:00 into that minute: the SMS peak is their count / 60", async () => {
    // Due 2026-03-16 in Shanghai: the due-day SMS goes out at 10:00 local, 02:00 UTC, after every subscription.
    const result = await plan(input(loans(1000, ["2026-03-16"])));
    const dueDayMinute = minuteOf("2026-03-16T02:00:00Z");
    expect(result.series.smsMessages[dueDayMinute]).toBeCloseTo(1000 / 60, 9);
    expect(max(result.series.smsMessages)).toBeCloseTo(1000 / 60, 9);
    expect(result.series.smsParts[dueDayMinute]).toBeCloseTo((1000 / 60) * ASSUMED_COSTS.smsPartsPerSms, 9);
    // Each send is a step task: three transitions each, so at least 3 × 1,000 in that minute.
    expect(result.series.stateTransitions[dueDayMinute]).toBeGreaterThanOrEqual((3 * 1000) / 60);
  });

  it("never sends more SMS a second than --send-rates allows, and sends them all in the end", async () => {
    const portfolio = loans(1000, ["2026-03-16"]);
    const free = await plan(input(portfolio));
    const paced = await plan(input(portfolio, { sendRates: { sms: 5 } }));
    expect(max(free.series.smsMessages)).toBeGreaterThan(5);
    expect(max(paced.series.smsMessages)).toBeLessThanOrEqual(5 + 1e-9);
    expect(total(paced.series.smsMessages)).toBeCloseTo(total(free.series.smsMessages), 6);
    expect(paced.pacing.sms?.fallingBehind).toBe(false);
    // Emails were not paced: they go out at their planned minute.
    expect(paced.series.emails).toEqual(free.series.emails);
    // A step sent later than planned goes round its wait once more.
    expect(total(paced.series.stateTransitions)).toBeGreaterThan(total(free.series.stateTransitions));
  });

  it("carries what the contact window cannot hold today to its next opening", async () => {
    // Shanghai contacts end at 10:02, so 5 SMS a second hold 600 of each 1,000 sent at 10:00: the rest wait for 08:00.
    const policy = { ...DEFAULT_POLICY, contactWindow: { start: "08:00", end: "10:02" } };
    const settings = { policy, payments: NEVER_PAYS, seed: 1, leadDays: 20 };
    const portfolio = loans(1000, ["2026-03-16"]);
    const free = await plan(input(portfolio, { settings }));
    const paced = await plan(input(portfolio, { settings, sendRates: { sms: 5 } }));
    const shanghaiMinute = (m: number) => (m + 8 * 60) % 1440;
    paced.series.smsMessages.forEach((perSecond, m) => {
      if (perSecond > 0) expect(shanghaiMinute(m)).toBeGreaterThanOrEqual(8 * 60);
      if (perSecond > 0) expect(shanghaiMinute(m)).toBeLessThan(10 * 60 + 2);
    });
    expect(paced.series.smsMessages[minuteOf("2026-03-17T00:00:00Z")]).toBeCloseTo(5, 9);
    expect(total(paced.series.smsMessages)).toBeCloseTo(total(free.series.smsMessages), 6);
    expect(paced.pacing.sms?.maxDelayMinutes).toBeGreaterThan(20 * 60);
  });

  it("holds no more open executions with the horizon than without it, and fewer for loans subscribed early", async () => {
    // Subscribed up to 120 days ahead: most loans would wait months in an execution without the horizon.
    const portfolio = loans(600, ["2026-03-10", "2026-03-20"], ["Asia/Shanghai", "America/New_York"]);
    const early = { settings: { policy: DEFAULT_POLICY, payments: NEVER_PAYS, seed: 1, leadDays: 120 } };
    const without = await plan(input(portfolio, { ...early, horizonDays: 0 }));
    const within = await plan(input(portfolio, { ...early, horizonDays: 30 }));
    expect(max(without.series.openExecutions)).toBeGreaterThan(max(within.series.openExecutions));
    without.series.openExecutions.forEach((open, m) => {
      expect(open).toBeGreaterThanOrEqual((within.series.openExecutions[m] as number) - 1e-6);
    });
    // Either way each loan starts one execution: at its subscription, or when the waker finds it within the horizon.
    expect(total(within.series.startExecution) * 60).toBeCloseTo(600, 6);
    expect(total(without.series.startExecution) * 60).toBeCloseTo(600, 6);
  });

  it("finds 10,000,000 loans over the open-executions quota without the horizon, and says by how much", async () => {
    const dueDates = Array.from({ length: 30 }, (_, d) => `2026-03-${String(d + 2).padStart(2, "0")}`);
    const portfolio = loans(120, dueDates, ["Asia/Shanghai", "Europe/Berlin"]);
    const i = input(portfolio, { loans: 10_000_000, horizonDays: 0 });
    const result = await plan(i);
    const report = buildReport(result, run(result, i), ASSUMED_COSTS, quotasFor("us-east-1"), 200);
    const open = report.checks.find((c) => c.id === "openExecutions");
    expect(open?.quota).toBe(1_000_000);
    expect(open?.exceededBy).toBeGreaterThan(1);
    expect(open?.ask).toMatch(/^ask for open executions ≥ [\d,]+ in us-east-1$/);
    const line = reportTable(report)
      .split("\n")
      .find((l) => l.startsWith("open executions"));
    expect(line).toContain(`EXCEEDED ×${open?.exceededBy?.toFixed(1)}`);
    expect(report.method).toContain("each counts for 83,333.33 loans");
  });
});

describe("npm run capacity", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    process.exitCode = undefined;
    vi.restoreAllMocks();
  });
  const cli = (...args: string[]) =>
    runCli(capacityProgram(), { name: "capacity", argv: ["node", "capacity", ...args] });

  it("writes capacity.json and busiest-day.svg and prints one line per quota", async () => {
    const out = mkdtempSync(join(tmpdir(), "capacity-"));
    dirs.push(out);
    const printed: string[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation((chunk) => printed.push(String(chunk)) > 0);
    // A bench report of one path: two steps, 80 ms a task, 40 write units a step.
    const path = {
      ...{ steps: 2, taskInvocations: 2, apiCalls: 1, taskMsMean: 80, apiMsMean: 30, sms: 1, smsParts: 2 },
      dynamo: { api: { writeUnits: 20, readUnits: 1 }, workflow: { writeUnits: 80, readUnits: 6 } },
    };
    const bench = join(out, "bench.json");
    writeFileSync(bench, JSON.stringify({ sections: [{ id: "paths", data: [path] }] }));
    const args = ["--loans", "5000", "--sample", "150", "--workers", "0", "--no-progress", "--bench", bench];
    await cli(...args, "--out", out);
    expect(process.exitCode ?? 0).toBe(0);
    const report = JSON.parse(readFileSync(join(out, "capacity.json"), "utf8"));
    expect(report.costs).toMatchObject({
      taskMs: 80,
      writeUnitsPerStep: 40,
      readUnitsPerStep: 3,
      smsPartsPerSms: 2,
    });
    expect(report.run).toMatchObject({ loans: 5000, sample: 150, region: "us-east-1", horizonDays: 30 });
    expect(report.method).toContain("uniform sample of 150");
    expect(report.checks.map((c: { id: string }) => c.id)).toHaveLength(9);
    expect(report.busiestDay.minutes.stateTransitions).toHaveLength(1440);
    expect(readFileSync(join(out, "busiest-day.svg"), "utf8")).toMatch(/^<svg [^>]*>[\s\S]*<\/svg>\n$/);
    expect(printed.join("")).toContain("open executions");
  });

  it("exits 2 on a usage error and writes nothing", async () => {
    const out = join(tmpdir(), `capacity-none-${process.pid}`);
    vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    await cli("--send-rates", "fax=3", "--out", out);
    expect(process.exitCode).toBe(2);
    expect(existsSync(out)).toBe(false);
  });
});
