import { CHANNELS, type Channel } from "../functions/domain/channels.ts";
import type { Policy } from "../functions/domain/policy.ts";
import type { PaymentModel } from "./payments.ts";
import { DAY_MS } from "./run.ts";
import type { Tally } from "./tally.ts";

export interface RunInfo {
  loans: number;
  days: number;
  /** Wall-clock seconds of the whole run (portfolio generation, simulation, merge). */
  seconds: number;
  /** Peak resident memory of the process and its worker threads, in MB. */
  peakRssMb: number;
  workers: number;
  /** Trajectories computed with the domain for single-loan borrowers, summed over the policies. */
  distinctTrajectories: number;
  start: string;
  seed: number;
  portfolio: string;
}

export interface PolicyReport {
  label: string;
  policy: { id: string; version: number };
  /** Messages per day, one field per channel. */
  days: ({ date: string } & Record<Channel, number>)[];
  /** `<channel>PreDue` and `<channel>SoftCollection` for each channel, and their total. */
  messages: Record<string, number> & { total: number };
  funnel: Tally["funnel"];
  handOffs: number;
  deferrals: Tally["deferrals"];
  suppressions: Tally["suppressions"];
  fallbacks: number;
  violations: Tally["violations"] & { total: number };
  installments: Tally["installments"];
  memoisation: {
    distinctTrajectories: number;
    memoisedLoans: number;
    individualLoans: number;
    multiLoanBorrowers: number;
  };
}

export interface SimulationReport {
  run: RunInfo;
  payments: PaymentModel;
  policies: PolicyReport[];
}

export function policyReport(label: string, policy: Policy, tally: Tally, startMs: number): PolicyReport {
  const m = tally.messages;
  const v = tally.violations;
  return {
    label,
    policy: { id: policy.id, version: policy.version },
    days: (tally.perDay[CHANNELS[0] as Channel] ?? []).map((_, day) => ({
      date: new Date(startMs + day * DAY_MS).toISOString().slice(0, 10),
      ...(Object.fromEntries(CHANNELS.map((c) => [c, tally.perDay[c][day] ?? 0])) as Record<Channel, number>),
    })),
    messages: {
      ...Object.fromEntries(
        CHANNELS.flatMap((c) => [
          [`${c}PreDue`, m[c].preDue],
          [`${c}SoftCollection`, m[c].softCollection],
        ]),
      ),
      total: CHANNELS.reduce((sum, c) => sum + m[c].preDue + m[c].softCollection, 0),
    },
    funnel: tally.funnel,
    handOffs: tally.funnel.reachedHandOff,
    deferrals: tally.deferrals,
    suppressions: tally.suppressions,
    fallbacks: tally.fallbacks,
    violations: { ...v, total: v.outsideWindow + v.quietDay + v.smsDailyCap + v.contacts7DayCap },
    installments: tally.installments,
    memoisation: {
      distinctTrajectories: tally.distinctTrajectories,
      memoisedLoans: tally.memoisedLoans,
      individualLoans: tally.individualLoans,
      multiLoanBorrowers: tally.multiLoanBorrowers,
    },
  };
}

/**
 * The report of a run, as `npm run simulate` writes it and the simulation function stores it: the run's facts, the
 * payment model, and one PolicyReport per policy in the order they ran.
 */
export function simulationReport(
  policies: readonly { label: string; policy: Policy }[],
  tallies: readonly Tally[],
  run: Omit<RunInfo, "distinctTrajectories"> & { payments: PaymentModel },
): SimulationReport {
  const { payments, loans, days, seconds, peakRssMb, workers, start, seed, portfolio } = run;
  const startMs = Date.parse(`${run.start}T00:00:00Z`);
  const reports = tallies.map((tally, i) => {
    const { label, policy } = policies[i] as { label: string; policy: Policy };
    return policyReport(label, policy, tally, startMs);
  });
  const distinctTrajectories = reports.reduce((n, r) => n + r.memoisation.distinctTrajectories, 0);
  return {
    run: { loans, days, seconds, peakRssMb, workers, distinctTrajectories, start, seed, portfolio },
    payments,
    policies: reports,
  };
}

export const escapeXml = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** A round axis maximum and tick step for values up to `max` (1, 2 or 5 times a power of ten). */
export function niceScale(max: number, ticks = 5): { top: number; step: number } {
  if (max <= 0) return { top: 1, step: 1 };
  const raw = max / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * power >= raw) ?? 10) * power;
  return { top: Math.ceil(max / step) * step, step };
}

/** One colour per channel, in CHANNELS order. */
const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"];
const colourOf = (channel: Channel) => PALETTE[CHANNELS.indexOf(channel) % PALETTE.length] as string;

/**
 * Messages per day and channel as an SVG line chart: one line per channel and policy (the compared policy
 * dashed), a y axis with round ticks, dates along the x axis and a legend.
 */
/** The chart's size in pixels; a strategy's report sets its table below it (strategy-report.ts). */
export const CHART = { width: 960, height: 420 } as const;

export function chartSvg(report: SimulationReport): string {
  const { width, height } = CHART;
  const pad = { left: 80, right: 20, top: 40, bottom: 90 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const days = Math.max(1, ...report.policies.map((p) => p.days.length));
  const max = Math.max(
    0,
    ...report.policies.flatMap((p) => p.days.flatMap((d) => CHANNELS.map((c) => d[c]))),
  );
  const { top, step } = niceScale(max);
  const x = (day: number) => pad.left + (days <= 1 ? 0 : (day / (days - 1)) * plotW);
  const y = (value: number) => pad.top + plotH - (value / top) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">Messages per day by channel</text>`,
  ];
  for (let v = 0; v <= top + step / 2; v += step) {
    out.push(
      `<line x1="${pad.left}" x2="${pad.left + plotW}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e5e5e5"/>`,
      `<text x="${pad.left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${v.toLocaleString("en-US")}</text>`,
    );
  }
  const dates = report.policies[0]?.days ?? [];
  const every = Math.max(1, Math.ceil(days / 12));
  for (let d = 0; d < days; d += every) {
    const label = dates[d]?.date ?? String(d);
    out.push(
      `<line x1="${x(d).toFixed(1)}" x2="${x(d).toFixed(1)}" y1="${pad.top + plotH}" y2="${pad.top + plotH + 5}" stroke="black"/>`,
      `<text x="${x(d).toFixed(1)}" y="${pad.top + plotH + 18}" text-anchor="end" transform="rotate(-40 ${x(d).toFixed(1)} ${pad.top + plotH + 18})">${label}</text>`,
    );
  }
  out.push(
    `<line x1="${pad.left}" x2="${pad.left}" y1="${pad.top}" y2="${pad.top + plotH}" stroke="black"/>`,
    `<line x1="${pad.left}" x2="${pad.left + plotW}" y1="${pad.top + plotH}" y2="${pad.top + plotH}" stroke="black"/>`,
    `<text x="18" y="${pad.top + plotH / 2}" transform="rotate(-90 18 ${pad.top + plotH / 2})" text-anchor="middle">messages</text>`,
    `<text x="${pad.left + plotW / 2}" y="${height - 8}" text-anchor="middle">simulated day (UTC)</text>`,
  );
  const legend: string[] = [];
  report.policies.forEach((policy, p) => {
    const dash = p === 0 ? "" : ` stroke-dasharray="${6 + 2 * p} 4"`;
    for (const channel of CHANNELS) {
      const points = policy.days.map((d, i) => `${x(i).toFixed(1)},${y(d[channel]).toFixed(1)}`).join(" ");
      out.push(
        `<polyline fill="none" stroke="${colourOf(channel)}" stroke-width="1.6"${dash} points="${points}"/>`,
      );
      const ly = pad.top + 4 + (legend.length / 2) * 18;
      const lx = pad.left + plotW - 230;
      legend.push(
        `<line x1="${lx}" x2="${lx + 28}" y1="${ly}" y2="${ly}" stroke="${colourOf(channel)}" stroke-width="2"${dash}/>`,
        `<text x="${lx + 34}" y="${ly + 4}">${escapeXml(`${channel.toUpperCase()} — ${policy.label}`)}</text>`,
      );
    }
  });
  out.push(
    `<rect x="${pad.left + plotW - 238}" y="${pad.top - 8}" width="236" height="${(legend.length / 2) * 18 + 6}" fill="white" fill-opacity="0.85" stroke="#ccc"/>`,
    ...legend,
    "</svg>",
  );
  return `${out.join("\n")}\n`;
}
