/**
 * `npm run capacity -- --loans 10000000 [options]`: the capacity plan. Plans a month of a portfolio with the
 * product's domain, minute by minute, against AWS's default quotas (open executions, StartExecution and
 * StopExecution, state transitions, Lambda concurrency, SMS and email rates, DynamoDB units); writes capacity.json
 * and busiest-day.svg and prints what to ask AWS for. Exit codes: 0 done, 2 a usage or input error.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { CHANNELS, type Channel } from "../functions/domain/channels.ts";
import { DEFAULT_POLICY } from "../functions/domain/policy.ts";
import { isValidTimeZone } from "../functions/domain/time.ts";
import { DEFAULT_HORIZON_DAYS } from "../functions/domain/workflow-horizon.ts";
import { type ActionCosts, ASSUMED_COSTS, costsFromBench } from "../simulator/capacity/costs.ts";
import { planCapacity } from "../simulator/capacity/model.ts";
import { type CapacityPortfolio, monthPortfolio } from "../simulator/capacity/plan.ts";
import { isRegionName, quotasFor } from "../simulator/capacity/quotas.ts";
import { buildReport, type CapacityRun, reportTable } from "../simulator/capacity/report.ts";
import { type CapacityInput, MAX_INDIVIDUAL_PLANS } from "../simulator/capacity/share.ts";
import { busiestDaySvg } from "../simulator/capacity/svg.ts";
import { defaultWorkers, readPortfolio } from "../simulator/orchestrator.ts";
import { DEFAULT_INSTALLMENT_SHARE } from "../simulator/portfolio.ts";
import { fromCaller, UsageError } from "./cli-io.ts";
import { date, integer, loadPayments, loadPolicy, progressBar, share } from "./simulation-inputs.ts";

/** The plan covers one month of this many days, which repeats. */
export const MONTH_DAYS = 30;
const DEFAULT_LOANS = 1_000_000;
/** The bench report of this checkout: where per-step costs are measured. */
const PACKAGE_BENCH = new URL("../bench/report.json", import.meta.url);

/** "sms=50,email=14": messages per second per channel. */
export function sendRates(value: string): Partial<Record<Channel, number>> {
  const rates: Partial<Record<Channel, number>> = {};
  for (const part of value.split(",")) {
    const [name, rate] = part.split("=").map((s) => s.trim());
    const n = Number(rate);
    if (!CHANNELS.includes(name as Channel) || !rate || !(n > 0)) {
      throw new InvalidArgumentError(
        `expected channel=rate pairs such as sms=50,email=14 (channels: ${CHANNELS})`,
      );
    }
    rates[name as Channel] = n;
  }
  return rates;
}

function region(value: string): string {
  if (!isRegionName(value)) throw new InvalidArgumentError("expected an AWS Region such as us-east-1");
  return value;
}

interface Options {
  loans?: number;
  sample: number;
  policy?: string;
  portfolio?: string;
  payments?: string;
  region: string;
  horizonDays: number;
  leadDays: number;
  sendRates?: Partial<Record<Channel, number>>;
  start: string;
  installmentShare: number;
  seed: number;
  bench?: string;
  workers: number;
  progress: boolean;
  out: string;
}

/** Per-step costs: the bench report given, else this checkout's, else the stated assumptions. */
async function costsOf(file: string | undefined): Promise<ActionCosts> {
  const path = file ? fromCaller(file) : PACKAGE_BENCH;
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if (file) throw new UsageError(`${file}: cannot be read (${(error as Error).message})`);
    return ASSUMED_COSTS;
  }
  const costs = costsFromBench(JSON.parse(text) as unknown);
  if (!costs && file) throw new UsageError(`${file}: no "paths" section with per-step figures`);
  return costs ?? ASSUMED_COSTS;
}

/** The portfolio file's loans (each with its position, which seeds its draws), or the synthetic month. */
async function portfolioOf(options: Options): Promise<{ portfolio: CapacityPortfolio; loans: number }> {
  if (!options.portfolio) {
    const loans = options.loans ?? DEFAULT_LOANS;
    const synthetic = monthPortfolio(
      loans,
      options.seed,
      options.start,
      MONTH_DAYS,
      options.installmentShare,
    );
    return { portfolio: synthetic, loans };
  }
  const read = await readPortfolio(fromCaller(options.portfolio));
  const entries = read.kind === "borrowers" ? read.borrowers.flatMap((b) => b.loans) : [];
  const bad = entries.find((e) => !isValidTimeZone(e.loan.borrower.timeZone));
  if (bad) throw new Error(`loan ${bad.loan.loanId}: unknown time zone ${bad.loan.borrower.timeZone}`);
  if (entries.length === 0) throw new UsageError(`${options.portfolio}: no loans`);
  return { portfolio: { kind: "loans", loans: entries }, loans: options.loans ?? entries.length };
}

async function capacity(options: Options): Promise<void> {
  const started = performance.now();
  const policy = options.policy
    ? await loadPolicy(options.policy)
    : { label: "default", policy: DEFAULT_POLICY };
  const payments = await loadPayments(options.payments);
  const { portfolio, loans } = await portfolioOf(options);
  const costs = await costsOf(options.bench);
  const input: CapacityInput = {
    loans,
    sample: options.sample,
    portfolio,
    settings: { policy: policy.policy, payments, seed: options.seed, leadDays: options.leadDays },
    startMs: Date.parse(`${options.start}T00:00:00Z`),
    days: MONTH_DAYS,
    horizonDays: options.horizonDays,
    sendRates: options.sendRates ?? {},
    costs,
  };
  const workers = Math.min(options.workers, defaultWorkers());
  const bar = progressBar(options.progress, "capacity", "loans planned");
  const result = await planCapacity(input, { workers, onProgress: bar.update });
  bar.stop();
  const size = portfolio.kind === "synthetic" ? portfolio.options.count : portfolio.loans.length;
  const run: CapacityRun = {
    loans,
    sample: Math.min(options.sample, size),
    planned: result.sample.planned,
    distinctPlans: result.sample.distinctPlans,
    individualPlans: result.sample.individual,
    weight: loans / Math.min(options.sample, size),
    region: options.region,
    start: options.start,
    days: MONTH_DAYS,
    horizonDays: options.horizonDays,
    leadDays: options.leadDays,
    sendRates: input.sendRates,
    policy: policy.label,
    portfolio: options.portfolio ?? "synthetic",
    payments: options.payments ?? "built-in model",
    seed: options.seed,
    workers,
    seconds: Math.round((performance.now() - started) / 100) / 10,
  };
  const report = buildReport(result, run, costs, quotasFor(options.region), MAX_INDIVIDUAL_PLANS);
  const out = fromCaller(options.out);
  await mkdir(out, { recursive: true });
  await writeFile(join(out, "capacity.json"), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(join(out, "busiest-day.svg"), busiestDaySvg(report));
  process.stdout.write(
    `${reportTable(report)}→ ${options.out}/capacity.json, ${options.out}/busiest-day.svg\n`,
  );
}

/** The command line of `npm run capacity`. */
export function capacityProgram(): Command {
  return new Command()
    .name("npm run capacity --")
    .description("Capacity plan: a month of a portfolio, minute by minute, against AWS's default quotas.")
    .option("--loans <n>", `loans a month (default: the portfolio file's, or ${DEFAULT_LOANS})`, integer(1))
    .option(
      "--sample <n>",
      "loans planned with the domain; each counts for loans / sample",
      integer(1),
      100_000,
    )
    .option("--policy <file>", "policy JSON (PUT /v1/policies body or Policy); default: the default policy")
    .option("--portfolio <file>", "JSONL of loans (POST /v1/loans bodies); default: a synthetic portfolio")
    .option("--payments <file>", "payment-behaviour model JSON; default model built in")
    .option("--region <region>", "AWS Region whose default quotas apply", region, "us-east-1")
    .option(
      "--horizon-days <n>",
      "a case whose next action is further away holds no execution (0: no horizon)",
      integer(0),
      DEFAULT_HORIZON_DAYS,
    )
    .option(
      "--lead-days <n>",
      "loans are subscribed up to this many days before their due date",
      integer(0),
      30,
    )
    .option("--send-rates <list>", "paced sending, messages/s per channel, e.g. sms=50,email=14", sendRates)
    .option("--start <date>", "first day of the month (UTC), YYYY-MM-DD", date, "2026-03-02")
    .option(
      "--installment-share <share>",
      "share of synthetic loans on a schedule",
      share,
      DEFAULT_INSTALLMENT_SHARE,
    )
    .option("--seed <n>", "seed of the synthetic portfolio, the sample and the payment draws", integer(0), 1)
    .option(
      "--bench <file>",
      "bench report with per-step costs (default: bench/report.json of this checkout)",
    )
    .option(
      "--workers <n>",
      `worker threads, at most the CPU count (${defaultWorkers()} here); 0: plan in this thread`,
      integer(0),
      defaultWorkers(),
    )
    .option("--no-progress", "no progress bar")
    .option("--out <dir>", "where capacity.json and busiest-day.svg go", "capacity")
    .action(capacity);
}
