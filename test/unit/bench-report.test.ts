import { describe, expect, it } from "vitest";
import { COST_LINES, costOf, type LoanUsage, mixCost, PRICES, smsParts } from "../../bench/cost.ts";
import { diffSnapshots, itemBytes } from "../../bench/dynamo-meter.ts";
import {
  formatNumber,
  markdownTable,
  median,
  percentile,
  type Report,
  renderReport,
} from "../../bench/report.ts";

const usage: LoanUsage = {
  transitions: 33,
  taskInvocations: 11,
  apiCalls: 1,
  deliveryInvocations: 6,
  taskMs: 79.2,
  apiMs: 20,
  writeUnits: 554,
  readUnits: 85.5,
  emails: 6,
  smsParts: 13,
};

describe("bench cost model", () => {
  it("prices each service per loan and scales to a million loans", () => {
    const cost = costOf(usage, { taskMb: 512, apiMb: 1024 }, 1_000_000);
    expect(cost.stepFunctions).toBeCloseTo(33 * 0.000025 * 1e6, 6);
    expect(cost.lambdaRequests).toBeCloseTo(18 * 0.0000002 * 1e6, 6);
    // 17 task and delivery invocations billed 80 ms at 0.5 GB, one API call 20 ms at 1 GB.
    expect(cost.lambdaCompute).toBeCloseTo(
      (17 * 0.08 * 0.5 + 0.02 * 1) * PRICES.lambdaArmPerGbSecond * 1e6,
      6,
    );
    expect(cost.dynamoWrites).toBeCloseTo(554 * 0.625, 6);
    expect(cost.dynamoReads).toBeCloseTo(85.5 * 0.125, 6);
    expect(cost.ses).toBeCloseTo(600, 6);
    expect(cost.sms).toBeCloseTo(13 * 5810, 6);
    expect(cost.apiGateway).toBeCloseTo(3.5, 6);
    expect(cost.total).toBeCloseTo(
      COST_LINES.reduce((sum, line) => sum + cost[line], 0),
      6,
    );
  });

  it("bills at least one millisecond per invocation", () => {
    const cost = costOf(
      { ...usage, taskMs: 0.2, apiMs: 0, deliveryInvocations: 0, apiCalls: 0 },
      { taskMb: 1024, apiMb: 1024 },
      1,
    );
    expect(cost.lambdaCompute).toBeCloseTo(11 * 0.001 * PRICES.lambdaArmPerGbSecond, 12);
  });

  it("mixes path costs by normalised weight", () => {
    const a = costOf(usage, { taskMb: 512, apiMb: 512 }, 1);
    const b = costOf({ ...usage, transitions: 9, smsParts: 2 }, { taskMb: 512, apiMb: 512 }, 1);
    const mixed = mixCost([
      { weight: 3, cost: a },
      { weight: 1, cost: b },
    ]);
    expect(mixed.stepFunctions).toBeCloseTo(0.75 * a.stepFunctions + 0.25 * b.stepFunctions, 12);
    expect(mixed.total).toBeCloseTo(0.75 * a.total + 0.25 * b.total, 12);
    expect(() => mixCost([{ weight: 0, cost: a }])).toThrow();
  });

  it("counts SMS parts by encoding and length", () => {
    expect(smsParts("Your payment is due in 3 days.")).toBe(1);
    expect(smsParts("x".repeat(160))).toBe(1);
    expect(smsParts("x".repeat(161))).toBe(2);
    expect(smsParts("您的还款将于3天后到期")).toBe(1);
    expect(smsParts("款".repeat(71))).toBe(2);
    expect(smsParts("款".repeat(135))).toBe(3);
  });
});

describe("bench statistics and rendering", () => {
  it("takes nearest-rank percentiles", () => {
    const samples = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    expect(percentile(samples, 50)).toBe(5);
    expect(percentile(samples, 99)).toBe(10);
    expect(percentile(samples, 0)).toBe(1);
    expect(median([3, 1, 2])).toBe(2);
    expect(percentile([], 50)).toBeNull();
  });

  it("diffs DynamoDB meter snapshots", () => {
    const before = {
      calls: { GetItem: 2 },
      writeUnits: 4,
      readUnits: 1,
      failedCalls: 0,
      caseItemBytes: [900],
    };
    const after = {
      calls: { GetItem: 5, Query: 1 },
      writeUnits: 10,
      readUnits: 2.5,
      failedCalls: 1,
      caseItemBytes: [900, 1100, 1200],
    };
    expect(diffSnapshots(after, before)).toEqual({
      calls: { GetItem: 3, Query: 1 },
      writeUnits: 6,
      readUnits: 1.5,
      failedCalls: 1,
      caseItemBytes: [1100, 1200],
    });
  });

  it("sizes items as DynamoDB counts them: names and values, numbers by their digits, maps and lists by element", () => {
    expect(itemBytes({ pk: { S: "abc" }, n: { N: "123" } })).toBe(2 + 3 + 1 + 3);
    expect(itemBytes({ n: { N: "-1500.00" } })).toBe(1 + 2);
    expect(itemBytes({ ok: { BOOL: true }, no: { NULL: true } })).toBe(2 + 1 + 2 + 1);
    expect(itemBytes({ m: { M: { a: { S: "xy" } } }, l: { L: [{ S: "z" }, { N: "7" }] } })).toBe(
      1 + 3 + (1 + 2 + 1) + 1 + 3 + (1 + 1) + (2 + 1),
    );
  });

  it("renders Markdown tables with numbers right-aligned and cells escaped", () => {
    expect(
      markdownTable(
        ["Name", "Count"],
        [
          ["a|b", 1234.5],
          ["c", null],
        ],
      ),
    ).toBe(["| Name | Count |", "|---|---:|", "| a\\|b | 1,235 |", "| c | — |"].join("\n"));
    expect(formatNumber(0.01234)).toBe("0.0123");
    expect(formatNumber(12.345)).toBe("12.35");
  });

  it("renders a report with its machine and each section's checks", () => {
    const report: Report = {
      machine: {
        cpu: "Test CPU",
        cores: 2,
        ramGb: 4,
        node: "v20.0.0",
        platform: "linux",
        date: "2026-01-01T00:00:00Z",
        loadAverage: 0.5,
      },
      options: { quick: true, only: null },
      totalSeconds: 12,
      sections: [
        {
          id: "latency",
          title: "5. Latency",
          status: "measured",
          columns: ["Figure", "Value"],
          rows: [["p99 ms", 42]],
          checks: [
            { figure: "p99", value: 42, unit: "ms", target: "≤ 30 ms", met: false, why: "queueing" },
            { figure: "errors", value: 0, unit: "", target: "0", met: true },
          ],
          notes: ["a note"],
          data: null,
          seconds: 3,
        },
        {
          id: "simulate",
          title: "6. Simulator",
          status: "skipped",
          columns: [],
          rows: [],
          checks: [],
          notes: ["not available"],
          data: null,
          seconds: 0,
        },
      ],
    };
    const markdown = renderReport(report);
    expect(markdown).toContain("npm run bench -- --quick");
    expect(markdown).toContain("Targets: 1 met, 1 not met.");
    expect(markdown).toContain("| Test CPU | 2 | 4 GB |");
    expect(markdown).toContain("| p99 | 42 ms | ≤ 30 ms | **not met** | queueing |");
    expect(markdown).toContain("| errors | 0 | 0 | met |  |");
    expect(markdown).toContain("## 6. Simulator\n\n*skipped*");
    expect(markdown).toContain("- not available");
  });
});
