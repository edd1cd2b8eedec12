import type { Channel } from "../../functions/domain/channels.ts";
import type { ActionCosts } from "./costs.ts";
import { MINUTE_MS } from "./load.ts";
import type { CapacityResult, PacingSummary, SeriesId } from "./model.ts";
import { LARGE_SFN_REGIONS, type Quota, type QuotaId } from "./quotas.ts";

/** Ask AWS for this much more than the peak: room for growth and for a busier month than the modelled one. */
export const ASK_MARGIN = 1.25;
/** Below this much headroom the plan asks for more even though the quota holds. */
const ASK_BELOW_HEADROOM = 0.2;

export interface QuotaCheck {
  id: QuotaId;
  name: string;
  label: string;
  unit: string;
  quota: number;
  burst?: number;
  /** The highest minute of the month (a level, or a per-second average over the minute). */
  peak: number;
  peakAt: string;
  /** (quota − peak) / quota, in per cent: negative when the peak is above the quota. */
  headroomPercent: number;
  /** peak / quota when above it, else null. */
  exceededBy: number | null;
  /** What to ask AWS for, when the quota is exceeded or nearly so. */
  ask: string | null;
  source: string;
  checked: string;
  note?: string;
}

export interface CapacityRun {
  loans: number;
  sample: number;
  planned: number;
  distinctPlans: number;
  individualPlans: number;
  /** How many loans of the portfolio each planned loan (with one due date) counts for. */
  weight: number;
  region: string;
  start: string;
  days: number;
  horizonDays: number;
  leadDays: number;
  sendRates: Partial<Record<Channel, number>>;
  policy: string;
  portfolio: string;
  payments: string;
  seed: number;
  workers: number;
  seconds: number;
}

export interface CapacityReport {
  method: string;
  run: CapacityRun;
  costs: ActionCosts;
  checks: QuotaCheck[];
  /** SMS as messages (the quota counts message parts). */
  sms: { peakMessagesPerSecond: number; partsPerSms: number };
  pacing: Partial<Record<Channel, PacingSummary>>;
  /** Each day's highest minute, per figure. */
  days: ({ date: string } & Record<SeriesId, number>)[];
  /** The day with the most state transitions, minute by minute (UTC). */
  busiestDay: { date: string; minutes: Record<SeriesId, number[]> };
}

/** Up to two significant digits, rounded up: 3,371,234 → 3,400,000. */
export function roundUpNicely(value: number): number {
  if (value <= 0) return 0;
  const power = 10 ** Math.max(0, Math.floor(Math.log10(value)) - 1);
  return Math.ceil(value / power) * power;
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });

function peakOf(series: Float64Array): { peak: number; minute: number } {
  let peak = 0;
  let minute = 0;
  series.forEach((v, m) => {
    if (v > peak) {
      peak = v;
      minute = m;
    }
  });
  return { peak, minute };
}

/** Each quota against the month's highest minute, and what to ask for where it does not hold with room to spare. */
export function checksOf(result: CapacityResult, quotas: Quota[], region: string): QuotaCheck[] {
  return quotas.map((q) => {
    const { peak, minute } = peakOf(result.series[q.id]);
    const exceeded = peak > q.value;
    const short = peak > q.value * (1 - ASK_BELOW_HEADROOM);
    const perSecond = q.unit.endsWith("/s");
    const askFor = roundUpNicely(peak * ASK_MARGIN);
    return {
      id: q.id,
      name: q.name,
      label: q.label,
      unit: q.unit,
      quota: q.value,
      ...(q.burst ? { burst: q.burst } : {}),
      peak,
      peakAt: new Date(result.originMs + minute * MINUTE_MS).toISOString(),
      headroomPercent: Math.round(((q.value - peak) / q.value) * 1000) / 10,
      exceededBy: exceeded ? Math.round((peak / q.value) * 10) / 10 : null,
      ask: short
        ? `ask for ${q.ask} ≥ ${fmt(askFor)}${q.askUnit ?? (perSecond ? "/s" : "")} in ${region}`
        : null,
      source: q.source,
      checked: q.checked,
      ...(q.note ? { note: q.note } : {}),
    };
  });
}

const SERIES: readonly SeriesId[] = [
  "openExecutions",
  "startExecution",
  "stopExecution",
  "stateTransitions",
  "lambdaConcurrency",
  "smsMessages",
  "smsParts",
  "emails",
  "dynamoWrites",
  "dynamoReads",
];

/** Figures kept in the report to two decimals (the rest are whole). */
const round = (v: number) => Math.round(v * 100) / 100;

function daysOf(result: CapacityResult): CapacityReport["days"] {
  const days = result.minutes / 1440;
  return Array.from({ length: days }, (_, d) => {
    const row = { date: new Date(result.originMs + d * 86_400_000).toISOString().slice(0, 10) } as {
      date: string;
    } & Record<SeriesId, number>;
    for (const id of SERIES) {
      row[id] = round(peakOf(result.series[id].subarray(d * 1440, (d + 1) * 1440)).peak);
    }
    return row;
  });
}

/** The day of the month with the most state transitions: the workflow's busiest. */
export function busiestDayOf(result: CapacityResult): number {
  let best = 0;
  let most = -1;
  for (let d = 0; d < result.minutes / 1440; d++) {
    const total = result.series.stateTransitions
      .subarray(d * 1440, (d + 1) * 1440)
      .reduce((a, b) => a + b, 0);
    if (total > most) {
      most = total;
      best = d;
    }
  }
  return best;
}

export function methodOf(run: CapacityRun, maxIndividual: number): string {
  const scaled =
    run.weight === 1
      ? "every loan of the portfolio is planned once"
      : `a uniform sample of ${fmt(run.sample)} of the ${fmt(run.loans)} loans is planned and each counts ` +
        `for ${fmt(run.weight, 2)} loans (loans on a schedule: at most ${maxIndividual} planned, each counting for its ` +
        "share of the sample's)";
  return (
    `Plans loans with the product's own domain (subscribe, then the workflow's step transition at every wake, ` +
    `payments from the payment model): ${scaled}. A month of ${run.days} days repeats: each loan is subscribed ` +
    `0–${run.leadDays} days before its due date and its whole life is taken modulo the month, so every minute ` +
    "carries the work of every cohort alive then (a steady state). Executions open and close as the product " +
    "runs them (horizon, waker every 5 minutes, hand-over after 350 days, stop on payment); transitions per " +
    "step follow the ASL; Lambda time and DynamoDB units per step are the costs below. Rates are averages " +
    "over each minute; a level (open executions, concurrency) is the minute's."
  );
}

export function buildReport(
  result: CapacityResult,
  run: CapacityRun,
  costs: ActionCosts,
  quotas: Quota[],
  maxIndividual: number,
): CapacityReport {
  const day = busiestDayOf(result);
  const minutes = Object.fromEntries(
    SERIES.map((id) => [id, [...result.series[id].subarray(day * 1440, (day + 1) * 1440)].map(round)]),
  ) as Record<SeriesId, number[]>;
  return {
    method: methodOf(run, maxIndividual),
    run,
    costs,
    checks: checksOf(result, quotas, run.region),
    sms: {
      peakMessagesPerSecond: round(peakOf(result.series.smsMessages).peak),
      partsPerSms: costs.smsPartsPerSms,
    },
    pacing: result.pacing,
    days: daysOf(result),
    busiestDay: { date: new Date(result.originMs + day * 86_400_000).toISOString().slice(0, 10), minutes },
  };
}

/** The short table the command prints. */
export function reportTable(report: CapacityReport): string {
  const { run } = report;
  const regionClass = LARGE_SFN_REGIONS.includes(run.region) ? "" : " (smaller Step Functions quotas)";
  const sends = Object.entries(run.sendRates)
    .map(([channel, rate]) => `${channel} ≤ ${rate}/s`)
    .join(", ");
  const lines = [
    `Capacity plan: ${fmt(run.loans)} loans a month in ${run.region}${regionClass}, ` +
      `horizon ${run.horizonDays > 0 ? `${run.horizonDays} days` : "none"}, ` +
      `sending ${sends || "at the planned minute"}; ${fmt(run.planned)} loans planned, ${run.seconds} s`,
    `${"quota".padEnd(26)}${"peak".padStart(12)}${"default".padStart(12)}${"headroom".padStart(10)}`,
  ];
  for (const c of report.checks) {
    const digits = c.peak < 100 ? 1 : 0;
    const headroom = c.headroomPercent > 0 ? `${fmt(c.headroomPercent, 1)}%` : "none";
    const status = c.exceededBy !== null ? `  EXCEEDED ×${c.exceededBy.toFixed(1)}` : "";
    lines.push(
      `${c.label.padEnd(26)}${fmt(c.peak, digits).padStart(12)}${fmt(c.quota).padStart(12)}` +
        `${headroom.padStart(10)}${status}`,
    );
    if (c.ask) lines.push(`${"".padEnd(4)}→ ${c.ask}`);
  }
  const busiest = report.days.find((d) => d.date === report.busiestDay.date);
  if (busiest) {
    lines.push(
      `SMS ${fmt(report.sms.peakMessagesPerSecond, 1)}/s at the peak (${fmt(report.sms.partsPerSms, 2)} parts each); ` +
        `busiest day ${report.busiestDay.date}: ${fmt(busiest.stateTransitions)} transitions/s at its peak`,
    );
  }
  for (const [channel, p] of Object.entries(report.pacing)) {
    lines.push(
      `${channel} paced at ${p.perSecond}/s: longest wait ` +
        (p.maxDelayMinutes < 120 ? `${fmt(p.maxDelayMinutes)} min` : `${fmt(p.maxDelayMinutes / 60, 1)} h`) +
        (p.fallingBehind ? `, FALLING BEHIND (${fmt(p.backlogAtEnd)} waiting at the month's end)` : ""),
    );
  }
  return `${lines.join("\n")}\n`;
}
