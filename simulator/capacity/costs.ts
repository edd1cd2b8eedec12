/**
 * What each thing the product does costs in the units AWS meters: state transitions, Lambda time, DynamoDB
 * request units, SMS message parts. Transitions follow from workflows/dunning.asl.json; the rest is measured by
 * `npm run bench` (bench/report.json, section "paths") when that report is at hand, else the assumptions below.
 */

export interface ActionCosts {
  /** A new loan's execution: the first Choice and the first Wait (it starts with the action planned at subscribe). */
  transitionsAtStart: number;
  /** Any other fresh execution (woken from the horizon, re-planned, next epoch): Choice, Plan, Choice, Wait. */
  transitionsAtRestart: number;
  /** A dunning step: its Task, then the Choice and the next Wait (or the end state). */
  transitionsPerStep: number;
  /** Handing over to the next execution of a year-long plan: its Task, the Choice and the Succeed state. */
  transitionsAtHandOver: number;
  /** Mean run time of a step task (and of the Plan task and the delivery function), ms. */
  taskMs: number;
  /** Mean run time of an API call (subscribe, payment), ms. */
  apiMs: number;
  /** DynamoDB write and read request units per dunning step, delivery reports included. */
  writeUnitsPerStep: number;
  readUnitsPerStep: number;
  /** DynamoDB units per API call that changes a case (subscribe, payment). */
  writeUnitsPerApiCall: number;
  readUnitsPerApiCall: number;
  /** Message parts per SMS (Chinese reminders are UCS-2: 70 characters a part). */
  smsPartsPerSms: number;
  /** Where the measured figures come from, or that they are assumptions. */
  source: string;
}

/**
 * Each step is Choice → Wait (TimestampPath) → Task in the ASL, so 3 per step; a new execution adds 2 (the first
 * Choice, and the end). `npm run bench` counts 2 + 3 × steps on every path (32 for the ten steps to legal).
 */
const ASL_TRANSITIONS = {
  transitionsAtStart: 2,
  transitionsAtRestart: 4,
  transitionsPerStep: 3,
  transitionsAtHandOver: 3,
};

/**
 * Assumptions when no bench report is at hand: a step task of 150 ms (512 MB, arm64, two DynamoDB round trips and a
 * provider call), and the units the bench of 2026-12-06 measured, rounded up.
 */
export const ASSUMED_COSTS: ActionCosts = {
  ...ASL_TRANSITIONS,
  taskMs: 150,
  apiMs: 60,
  writeUnitsPerStep: 64,
  readUnitsPerStep: 4,
  writeUnitsPerApiCall: 23,
  readUnitsPerApiCall: 2,
  smsPartsPerSms: 2,
  source: "assumptions (no bench/report.json): 150 ms a task, units as last measured, rounded up",
};

/** One path of the bench's "paths" section, as far as the plan reads it. */
interface BenchPath {
  steps: number;
  taskInvocations: number;
  apiCalls: number;
  taskMsMean: number;
  apiMsMean: number;
  sms: number;
  smsParts: number;
  dynamo: {
    api: { writeUnits: number; readUnits: number };
    workflow: { writeUnits: number; readUnits: number };
  };
}

const isNumber = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value);

function isBenchPath(value: unknown): value is BenchPath {
  const p = value as Partial<BenchPath> | null;
  return (
    !!p &&
    [p.steps, p.taskInvocations, p.apiCalls, p.taskMsMean, p.apiMsMean, p.sms, p.smsParts].every(isNumber) &&
    isNumber(p.dynamo?.api?.writeUnits) &&
    isNumber(p.dynamo?.workflow?.writeUnits)
  );
}

const sum = (paths: BenchPath[], of: (p: BenchPath) => number) => paths.reduce((n, p) => n + of(p), 0);

/**
 * The costs a bench report measured: units per step and per API call over all its paths, task and API times
 * weighted by their calls. Null when the report has no usable "paths" section.
 */
export function costsFromBench(report: unknown): ActionCosts | null {
  const r = report as { machine?: { date?: string }; sections?: { id?: string; data?: unknown }[] } | null;
  const data = r?.sections?.find((s) => s.id === "paths")?.data;
  const paths = Array.isArray(data) ? data.filter(isBenchPath) : [];
  const steps = sum(paths, (p) => p.steps);
  const tasks = sum(paths, (p) => p.taskInvocations);
  const api = sum(paths, (p) => p.apiCalls);
  const sms = sum(paths, (p) => p.sms);
  if (steps === 0 || tasks === 0 || api === 0) return null;
  return {
    ...ASL_TRANSITIONS,
    taskMs: sum(paths, (p) => p.taskMsMean * p.taskInvocations) / tasks,
    apiMs: sum(paths, (p) => p.apiMsMean * p.apiCalls) / api,
    writeUnitsPerStep: sum(paths, (p) => p.dynamo.workflow.writeUnits) / steps,
    readUnitsPerStep: sum(paths, (p) => p.dynamo.workflow.readUnits) / steps,
    writeUnitsPerApiCall: sum(paths, (p) => p.dynamo.api.writeUnits) / api,
    readUnitsPerApiCall: sum(paths, (p) => p.dynamo.api.readUnits) / api,
    smsPartsPerSms: sms > 0 ? sum(paths, (p) => p.smsParts) / sms : ASSUMED_COSTS.smsPartsPerSms,
    source:
      `bench/report.json (run of ${r?.machine?.date?.slice(0, 10) ?? "unknown date"}, ${paths.length} paths, ` +
      `${steps} steps): task and API times against DynamoDB Local, units as DynamoDB meters them`,
  };
}
