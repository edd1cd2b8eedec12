import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bucketOf,
  CHAMPION,
  type CustomerType,
  chooseArm,
  matchRule,
  type SegmentFacts,
  type Strategy,
  type StrategyRule,
} from "../../functions/domain/strategies/strategy.ts";
import { daysPastDue } from "../../functions/domain/time.ts";
import {
  DEFAULT_CUSTOMER_MIX,
  gradeOf,
  parseCustomerMix,
  syntheticProfile,
} from "../../simulator/customers.ts";
import { SIM_TENANT } from "../../simulator/engine.ts";
import { assignerOf, factsOf, linesOf, UNMATCHED_SEGMENT } from "../../simulator/lines.ts";
import { orchestrate, type Portfolio, readPortfolio, unmatchedLoans } from "../../simulator/orchestrator.ts";
import { type PaymentModel, paymentDraw, paymentModelIssues } from "../../simulator/payments.ts";
import {
  type SyntheticPortfolioOptions,
  syntheticLoan,
  syntheticOptions,
} from "../../simulator/portfolio.ts";
import type { RunSettings, StrategySettings } from "../../simulator/settings.ts";
import { type StrategyRunReport, strategyChartSvg, strategyReport } from "../../simulator/strategy-report.ts";
import type { Tally } from "../../simulator/tally.ts";
import { memoiseDateMath, memoiseIsoParsing, memoiseZoneOffsets } from "../../simulator/zone-offsets.ts";
import { loadPayments } from "../../tools/simulation-inputs.ts";
import { loadStrategy } from "../../tools/strategy-inputs.ts";

memoiseZoneOffsets();
memoiseIsoParsing();
memoiseDateMath();

/** The example strategy and its policies, through the strategy's segments and arms, as `npm run simulate` runs it. */
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const STRATEGY = join(ROOT, "examples/strategies/articles.json");
const POLICIES = join(ROOT, "examples/strategies/policies");
const START = "2026-03-02";
const START_MS = Date.parse(`${START}T00:00:00Z`);
const DAYS = 60;
const LOANS = 2000;

let loaded: Awaited<ReturnType<typeof loadStrategy>>;
let payments: PaymentModel;
let first: { tallies: Tally[]; report: StrategyRunReport };

const portfolioOptions = (loans: number): SyntheticPortfolioOptions => ({
  ...syntheticOptions(START, DAYS, { loans, seed: 3 }),
  customerMix: DEFAULT_CUSTOMER_MIX,
});
const synthetic = (loans: number): Portfolio => ({ kind: "synthetic", options: portfolioOptions(loans) });

function settingsOf(strategy: StrategySettings = loaded.settings): RunSettings {
  return {
    startMs: START_MS,
    days: DAYS,
    policies: loaded.policies.map((p) => p.policy),
    payments,
    seed: 3,
    strategy,
  };
}

async function run(settings: RunSettings, workers = 0, loans = LOANS) {
  const portfolio = synthetic(loans);
  const tallies = await orchestrate({ settings, portfolio, workers });
  const info = {
    loans,
    days: DAYS,
    seconds: 0,
    peakRssMb: 0,
    workers,
    start: START,
    seed: 3,
    portfolio: "synthetic",
    payments,
  };
  const chosen = settings.strategy as StrategySettings;
  return { tallies, report: strategyReport(linesOf(settings), tallies, info, chosen) };
}

/** The strategy with the rule for `type` giving `policyId` instead. */
function sending(strategy: Strategy, type: CustomerType, policyId: string): StrategySettings {
  const rules = strategy.rules.map(
    (rule): StrategyRule =>
      rule.when?.customerType?.includes(type) ? { segment: rule.segment, when: rule.when, policyId } : rule,
  );
  return { ...loaded.settings, strategy: { ...strategy, rules } };
}

const rowOf = (report: StrategyRunReport, type: CustomerType) => {
  const rule = report.bySegment.find((r) => r.segment === segmentOf(loaded.settings.strategy, type));
  if (!rule) throw new Error(`no segment for ${type}`);
  return rule;
};
const segmentOf = (strategy: Strategy, type: CustomerType) =>
  strategy.rules.find((rule) => rule.when?.customerType?.includes(type))?.segment;

beforeAll(async () => {
  loaded = await loadStrategy(STRATEGY, POLICIES, START);
  payments = await loadPayments(join(ROOT, "examples/strategies/payment-model.json"));
  first = await run(settingsOf());
}, 120_000);

describe("simulator: a portfolio through a strategy", () => {
  it("loads the example strategy and the five policies it names", () => {
    expect(loaded.settings.strategy.id).toBe("articles");
    expect(loaded.policies.map((p) => p.policy.id).sort()).toEqual(
      ["bankrupt-legal", "default", "fast-legal", "gentle", "restructure"].sort(),
    );
  });

  it("assigns every loan to the first rule its facts match, and counts it on that segment and arm", () => {
    const { strategy } = loaded.settings;
    const options = portfolioOptions(LOANS);
    const expected = new Map<string, number>();
    for (let i = 0; i < LOANS; i++) {
      const loan = syntheticLoan(i, options);
      const profile = syntheticProfile(i, options);
      // The facts at subscription, written out here rather than taken from the simulator.
      const dueDate = (loan.dueDate ?? loan.schedule?.[0]?.dueDate) as string;
      const facts: SegmentFacts = {
        score: profile.risk?.score as number,
        grade: gradeOf(profile.risk?.score as number),
        product: profile.product as string,
        amount: loan.amountDue as { amount: string; currency: string },
        daysPastDue: daysPastDue(dueDate, loan.borrower.timeZone, new Date(START_MS)),
        brokenPromises: 0,
        timeZone: loan.borrower.timeZone,
        ...(profile.customerType ? { customerType: profile.customerType } : {}),
      };
      const rule = matchRule(strategy, facts);
      const segment = rule?.segment ?? UNMATCHED_SEGMENT;
      const arm = rule
        ? chooseArm(rule, bucketOf(SIM_TENANT, loan.loanId, strategy.id, segment)).arm
        : CHAMPION;
      const assigned = assignerOf(loaded.settings, START_MS)(loan, profile);
      expect([assigned?.segment, assigned?.arm]).toEqual([rule?.segment, rule ? arm : undefined]);
      expected.set(`${segment}/${arm}`, (expected.get(`${segment}/${arm}`) ?? 0) + 1);
    }
    const counted = new Map(first.report.bySegment.map((r) => [`${r.segment}/${r.arm}`, r.loans]));
    for (const [key, n] of expected) expect(counted.get(key), key).toBe(n);
    expect([...counted.values()].reduce((a, b) => a + b, 0)).toBe(LOANS);
  });

  it("splits 50/50 with each arm between 45% and 55% of its segment", () => {
    const assign = assignerOf(loaded.settings, START_MS);
    const options = portfolioOptions(20_000);
    const split = loaded.settings.strategy.rules.find((rule) => rule.split);
    const arms = new Map<string, number>();
    for (let i = 0; i < options.count; i++) {
      const assigned = assign(syntheticLoan(i, options), syntheticProfile(i, options));
      if (assigned && assigned.segment === split?.segment)
        arms.set(assigned.arm, (arms.get(assigned.arm) ?? 0) + 1);
    }
    const total = [...arms.values()].reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(1000);
    for (const arm of split?.split ?? []) {
      const share = (arms.get(arm.arm) ?? 0) / total;
      expect(share).toBeGreaterThan(0.45);
      expect(share).toBeLessThan(0.55);
    }
    // The small run put loans on both arms too.
    const rows = first.report.bySegment.filter((r) => r.segment === split?.segment);
    expect(rows.map((r) => r.loans > 0)).toEqual([true, true]);
  });

  it("adds up: segments and arms to the loans, and to each policy's totals", () => {
    const { bySegment, policies } = first.report;
    const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
    expect(sum(bySegment.map((r) => r.loans))).toBe(LOANS);
    expect(sum(bySegment.map((r) => r.paid))).toBe(
      sum(
        policies.map(
          (p) => p.funnel.paidBeforeDue + p.funnel.paidInSoftCollection + p.funnel.paidAfterHandOff,
        ),
      ),
    );
    expect(sum(bySegment.map((r) => r.messages))).toBe(sum(policies.map((p) => p.messages.total)));
    expect(sum(bySegment.map((r) => r.handOffs))).toBe(sum(policies.map((p) => p.handOffs)));
    for (const row of bySegment) {
      const f = row.funnel;
      expect(f.paidBeforeDue + f.paidInSoftCollection + f.reachedHandOff + f.openAtEnd).toBe(row.loans);
      expect(row.violations.total).toBe(0);
    }
    const svg = strategyChartSvg(first.report);
    expect(svg).toContain("by segment and arm");
    expect(svg).toContain(">challenger<");
  });

  it("malicious borrowers pay more on fast-legal than on gentle; the temporarily short the other way round", async () => {
    const { strategy } = loaded.settings;
    expect(rowOf(first.report, "malicious").policyId).toBe("fast-legal");
    expect(rowOf(first.report, "temporary").policyId).toBe("gentle");
    const swapped = sending(sending(strategy, "malicious", "gentle").strategy, "temporary", "fast-legal");
    const other = await run(settingsOf(swapped));
    expect(rowOf(other.report, "malicious").loans).toBe(rowOf(first.report, "malicious").loans);
    expect(rowOf(other.report, "malicious").policyId).toBe("gentle");
    expect(rowOf(first.report, "malicious").paidShare).toBeGreaterThan(
      rowOf(other.report, "malicious").paidShare,
    );
    expect(rowOf(first.report, "temporary").paidShare).toBeGreaterThan(
      rowOf(other.report, "temporary").paidShare,
    );
  }, 120_000);

  it("gives the same counts whatever the worker count", async () => {
    const threaded = await run(settingsOf(), 2);
    expect(threaded.tallies).toEqual(first.tallies);
  }, 120_000);
});

describe("simulator: loans no rule of a strategy matches", () => {
  const onlyMalicious = (fallback?: string): StrategySettings => ({
    strategy: {
      ...loaded.settings.strategy,
      rules: [{ segment: "malicious", when: { customerType: ["malicious"] }, policyId: "fast-legal" }],
    },
    ...(fallback ? { fallbackPolicyId: fallback } : {}),
  });

  it("are counted before the run when there is no default policy", () => {
    const unmatched = unmatchedLoans(settingsOf(onlyMalicious()), synthetic(500));
    expect(unmatched).toBeGreaterThan(300);
    expect(unmatched).toBeLessThan(500);
    expect(unmatchedLoans(settingsOf(), synthetic(500))).toBe(0);
  });

  it("run the default policy when there is one", async () => {
    const { report } = await run(settingsOf(onlyMalicious("default")), 0, 300);
    expect(report.bySegment.map((r) => [r.segment, r.policyId])).toEqual([
      ["malicious", "fast-legal"],
      [UNMATCHED_SEGMENT, "default"],
    ]);
    expect(report.bySegment.reduce((n, r) => n + r.loans, 0)).toBe(300);
    expect(report.strategy.unmatchedPolicyId).toBe("default");
  }, 60_000);
});

describe("simulator: customer types in the payment model and the portfolio", () => {
  it("checks the multipliers", () => {
    const base = { paymentTime: "18:00", payOnDay: { "0": 0.5 } };
    expect(
      paymentModelIssues({ ...base, customerTypes: { malicious: { pay: 0.5, byPolicy: { x: 2 } } } }),
    ).toEqual([]);
    expect(
      paymentModelIssues({
        ...base,
        customerTypes: { lazy: {}, severe: { pay: -1, byPolicy: { x: "2" }, y: 1 } },
      }),
    ).toEqual([
      "customerTypes.lazy: unknown customer type; known: temporary, malicious, severe, bankrupt",
      "customerTypes.severe.y: unknown field; known: pay, byPolicy",
      "customerTypes.severe.pay: a multiplier is a number ≥ 0",
      "customerTypes.severe.byPolicy.x: a multiplier is a number ≥ 0",
    ]);
  });

  it("a larger factor only makes a loan pay sooner or pay at all, and is capped at every loan paying", () => {
    const draw = paymentDraw({ paymentTime: "18:00", payOnDay: { "-1": 0.2, "5": 0.2, "20": 0.2 } }, 9);
    for (let i = 0; i < 500; i++) {
      const plain = draw(i);
      const more = draw(i, 0, 1.5);
      if (plain !== null) expect(more).not.toBeNull();
      if (plain !== null && more !== null) expect(more).toBeLessThanOrEqual(plain);
      expect(draw(i, 0, 10)).not.toBeNull();
    }
  });

  it("takes the country from the phone only when a rule asks for it", () => {
    const loan = syntheticLoan(0, portfolioOptions(10));
    const profile = syntheticProfile(0, portfolioOptions(10));
    const now = new Date(START_MS);
    expect(factsOf(loan, profile, true, now).country).toBe("CN");
    expect(factsOf(loan, profile, false, now).country).toBeUndefined();
    // Subscribed before its due date: nothing past due yet.
    expect(factsOf(loan, profile, false, now)).toMatchObject({
      daysPastDue: 0,
      brokenPromises: 0,
      amount: loan.amountDue,
    });
  });

  it("reads the mix from the command line's form", () => {
    expect(parseCustomerMix("temporary=0.7,malicious=0.3")).toEqual({
      temporary: 0.7,
      malicious: 0.3,
      severe: 0,
      bankrupt: 0,
      unassessed: 0,
    });
    expect(() => parseCustomerMix("temporary=0.7")).toThrow("add up to 0.7");
    expect(() => parseCustomerMix("lazy=1")).toThrow("no customer type");
  });

  it("reads risk, product and customer type from a JSONL portfolio line, and refuses a wrong one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sim-strategies-"));
    try {
      const line = (extra: object) =>
        JSON.stringify({
          loanId: "L-1",
          borrower: { name: "Li Wei", phone: "+8613800000001", locale: "zh-CN", timeZone: "Asia/Shanghai" },
          amountDue: { amount: "1000.00", currency: "CNY" },
          dueDate: "2026-03-20",
          ...extra,
        });
      const good = join(dir, "good.jsonl");
      writeFileSync(good, `${line({ risk: { score: 420 }, product: "card", customerType: "malicious" })}\n`);
      const portfolio = await readPortfolio(good);
      const loan = portfolio.kind === "borrowers" ? portfolio.borrowers[0]?.loans[0]?.loan : undefined;
      expect(loan?.customerType).toBe("malicious");
      const bad = join(dir, "bad.jsonl");
      writeFileSync(bad, `${line({ customerType: "lazy" })}\n`);
      await expect(readPortfolio(bad)).rejects.toThrow("customerType: expected one of");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("simulator: the strategy options of npm run simulate", () => {
  const dir = mkdtempSync(join(tmpdir(), "sim-strategy-cli-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const simulate = (args: string[]) =>
    new Promise<{ code: number; stderr: string }>((done) => {
      execFile(
        "npx",
        ["tsx", "tools/simulate.ts", ...args, "--loans", "10", "--days", "5", "--out", dir, "--no-progress"],
        { cwd: ROOT, timeout: 60_000 },
        (error, _stdout, stderr) => done({ code: error ? Number(error.code ?? 1) : 0, stderr }),
      );
    });

  it("refuses --strategy with --policy, and a strategy naming a policy the folder lacks", async () => {
    const both = await simulate(["--strategy", STRATEGY, "--policies", POLICIES, "--policy", "x.json"]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("cannot be used with");
    const unknown = join(dir, "unknown.json");
    writeFileSync(unknown, JSON.stringify({ rules: [{ segment: "all", policyId: "nowhere" }] }));
    const named = await simulate(["--strategy", unknown, "--policies", POLICIES]);
    expect(named.code).toBe(2);
    expect(named.stderr).toContain('rules[0].policyId unknown policy "nowhere"');
  }, 60_000);
});
