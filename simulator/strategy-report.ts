import type { Policy } from "../functions/domain/policy.ts";
import { CHAMPION } from "../functions/domain/strategies/strategy.ts";
import type { Line } from "./lines.ts";
import type { PaymentModel } from "./payments.ts";
import {
  CHART,
  chartSvg,
  escapeXml,
  type PolicyReport,
  policyReport,
  type RunInfo,
  type SimulationReport,
  simulationReport,
} from "./report.ts";
import type { StrategySettings } from "./settings.ts";
import { emptyTally, mergeTally, type Tally } from "./tally.ts";

/** What one segment and arm of a strategy did: the policy report's counts, for the loans assigned to it. */
export interface SegmentReport {
  segment: string;
  arm: string;
  policyId: string;
  policyVersion: number;
  loans: number;
  /** Loans paid in full within the run, whenever: before due, in soft collection or after the hand-off. */
  paid: number;
  paidShare: number;
  messages: number;
  messagesPerLoan: number;
  handOffs: number;
  handOffShare: number;
  funnel: Tally["funnel"];
  /** Messages by channel and stage, as `messages` of a policy report. */
  messagesByStage: PolicyReport["messages"];
  deferrals: Tally["deferrals"];
  suppressions: Tally["suppressions"];
  fallbacks: number;
  violations: PolicyReport["violations"];
  installments: Tally["installments"];
}

/** A run through a strategy: the report of a run (one entry per policy), then the strategy and its segments. */
export interface StrategyRunReport extends SimulationReport {
  strategy: {
    id: string;
    version: number;
    description?: string;
    /** The policy of loans no rule matches, or null when every loan matched one. */
    unmatchedPolicyId: string | null;
  };
  /** One entry per segment and arm, in the strategy's order (rules, then each split's arms). */
  bySegment: SegmentReport[];
}

const ratio = (n: number, d: number, places: number) =>
  d === 0 ? 0 : Math.round((n / d) * 10 ** places) / 10 ** places;

function segmentReport(line: Line, tally: Tally, startMs: number): SegmentReport {
  const { funnel, messages, handOffs, deferrals, suppressions, fallbacks, violations, installments } =
    policyReport(line.policy.id, line.policy, tally, startMs);
  const loans = funnel.subscribed;
  const paid = funnel.paidBeforeDue + funnel.paidInSoftCollection + funnel.paidAfterHandOff;
  return {
    segment: line.segment ?? "",
    arm: line.arm ?? CHAMPION,
    policyId: line.policy.id,
    policyVersion: line.policy.version,
    loans,
    paid,
    paidShare: ratio(paid, loans, 4),
    messages: messages.total,
    messagesPerLoan: ratio(messages.total, loans, 2),
    handOffs,
    handOffShare: ratio(handOffs, loans, 4),
    funnel,
    messagesByStage: messages,
    deferrals,
    suppressions,
    fallbacks,
    violations,
    installments,
  };
}

/**
 * The report of a run through a strategy, from one tally per line (linesOf): `policies` has one entry per policy,
 * over every loan that ran it (in the order the strategy first names them), and `bySegment` one per segment and arm.
 */
export function strategyReport(
  lines: readonly Line[],
  tallies: readonly Tally[],
  run: Omit<RunInfo, "distinctTrajectories"> & { payments: PaymentModel },
  chosen: StrategySettings,
): StrategyRunReport {
  const policies: { label: string; policy: Policy }[] = [];
  const merged: Tally[] = [];
  lines.forEach((line, n) => {
    let k = policies.findIndex((p) => p.policy === line.policy);
    if (k < 0) {
      k = policies.push({ label: line.policy.id, policy: line.policy }) - 1;
      merged.push(emptyTally(run.days));
    }
    mergeTally(merged[k] as Tally, tallies[n] ?? emptyTally(run.days));
  });
  const startMs = Date.parse(`${run.start}T00:00:00Z`);
  const { strategy, fallbackPolicyId } = chosen;
  return {
    ...simulationReport(policies, merged, run),
    strategy: {
      id: strategy.id,
      version: strategy.version,
      ...(strategy.description !== undefined ? { description: strategy.description } : {}),
      unmatchedPolicyId: fallbackPolicyId ?? null,
    },
    bySegment: lines.map((line, n) => segmentReport(line, tallies[n] ?? emptyTally(run.days), startMs)),
  };
}

/** The columns of the segment table: a heading, and whether the column holds numbers (set flush right). */
const COLUMNS: readonly { heading: string; numeric: boolean; cell: (r: SegmentReport) => string }[] = [
  { heading: "Segment", numeric: false, cell: (r) => r.segment },
  { heading: "Arm", numeric: false, cell: (r) => r.arm },
  { heading: "Policy", numeric: false, cell: (r) => r.policyId },
  { heading: "Loans", numeric: true, cell: (r) => r.loans.toLocaleString("en-US") },
  { heading: "Paid", numeric: true, cell: (r) => r.paid.toLocaleString("en-US") },
  { heading: "Paid %", numeric: true, cell: (r) => (r.paidShare * 100).toFixed(1) },
  { heading: "Messages", numeric: true, cell: (r) => r.messages.toLocaleString("en-US") },
  { heading: "Msgs/loan", numeric: true, cell: (r) => r.messagesPerLoan.toFixed(2) },
  { heading: "Hand-offs", numeric: true, cell: (r) => r.handOffs.toLocaleString("en-US") },
  { heading: "Violations", numeric: true, cell: (r) => r.violations.total.toLocaleString("en-US") },
];

/** The segment table as text lines, columns padded, numbers flush right. */
export function segmentTable(rows: readonly SegmentReport[]): string[] {
  const cells = [COLUMNS.map((c) => c.heading), ...rows.map((r) => COLUMNS.map((c) => c.cell(r)))];
  const widths = COLUMNS.map((_, k) => Math.max(...cells.map((line) => (line[k] ?? "").length)));
  return cells.map((line) =>
    line
      .map((cell, k) => (COLUMNS[k]?.numeric ? cell.padStart(widths[k] ?? 0) : cell.padEnd(widths[k] ?? 0)))
      .join("  ")
      .trimEnd(),
  );
}

/** Where each column's text starts (or, for numbers, ends) across the chart's width. */
const COLUMN_X = [20, 170, 270, 460, 540, 610, 710, 790, 870, 945];
const ROW = 20;

/** The chart of messages per day (one line per policy and channel), with the segment table below it. */
export function strategyChartSvg(report: StrategyRunReport): string {
  const { width } = CHART;
  const tableTop = CHART.height + 10;
  const height = tableTop + ROW * (report.bySegment.length + 2) + 10;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    chartSvg(report).trimEnd(),
    `<text x="${width / 2}" y="${tableTop + 6}" text-anchor="middle" font-size="15">${escapeXml(`Strategy "${report.strategy.id}" by segment and arm`)}</text>`,
  ];
  const cells = [
    COLUMNS.map((c) => c.heading),
    ...report.bySegment.map((r) => COLUMNS.map((c) => c.cell(r))),
  ];
  cells.forEach((line, row) => {
    const y = tableTop + ROW * (row + 1) + 6;
    if (row === 0) {
      out.push(`<line x1="20" x2="${width - 15}" y1="${y + 6}" y2="${y + 6}" stroke="#999"/>`);
    }
    line.forEach((cell, k) => {
      const anchor = COLUMNS[k]?.numeric ? ` text-anchor="end"` : "";
      const weight = row === 0 ? ` font-weight="bold"` : "";
      out.push(`<text x="${COLUMN_X[k]}" y="${y}"${anchor}${weight}>${escapeXml(cell)}</text>`);
    });
  });
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
