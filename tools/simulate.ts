/**
 * `npm run simulate -- [options]`: the what-if simulator. Runs a synthetic or supplied portfolio through one
 * policy (or two, side by side), or through a strategy that gives each loan its policy, with the production domain
 * code on a virtual clock, and writes report.json and report.svg. Exit codes: 0 done, 1 the run found contact-rule
 * violations, 2 a usage error.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Command, Option } from "commander";
import { DEFAULT_POLICY, type Policy } from "../functions/domain/policy.ts";
import { isValidTimeZone } from "../functions/domain/time.ts";
import { type CustomerMix, DEFAULT_CUSTOMER_MIX, mixLabel } from "../simulator/customers.ts";
import { linesOf, unmatchedMessage } from "../simulator/lines.ts";
import {
  defaultWorkers,
  orchestrate,
  type Portfolio,
  readPortfolio,
  totalLoans,
  unmatchedLoans,
} from "../simulator/orchestrator.ts";
import { DEFAULT_INSTALLMENT_SHARE, syntheticOptions } from "../simulator/portfolio.ts";
import { chartSvg, type SimulationReport, simulationReport } from "../simulator/report.ts";
import type { RunSettings, StrategySettings } from "../simulator/settings.ts";
import { type StrategyRunReport, strategyChartSvg, strategyReport } from "../simulator/strategy-report.ts";
import { fromCaller, runCli, UsageError } from "./cli-io.ts";
import { date, integer, loadPayments, loadPolicy, progressBar, share } from "./simulation-inputs.ts";
import { customerMix, loadStrategy, printSegments } from "./strategy-inputs.ts";

/** Highest resident memory of this process (all its threads) so far, in MB. */
const peakRssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);

interface Options {
  policy?: string;
  compare?: string;
  strategy?: string;
  policies?: string;
  segmentMix: CustomerMix;
  portfolio?: string;
  loans: number;
  seed: number;
  start: string;
  days: number;
  dueDays?: number;
  installmentShare: number;
  payments?: string;
  workers: number;
  progress: boolean;
  out: string;
}

const program = new Command()
  .name("npm run simulate --")
  .description(
    "What-if simulator: a portfolio through one or two dunning policies, or a strategy, with the production domain.",
  )
  .option("--policy <file>", "policy JSON (PUT /v1/policies body or Policy); default: the default policy")
  .option("--compare <file>", "a second policy to run side by side")
  .addOption(
    new Option(
      "--strategy <file>",
      "strategy JSON (segments → policies, champion–challenger splits): each loan runs the policy it assigns",
    ).conflicts(["policy", "compare"]),
  )
  .option(
    "--policies <dir>",
    "with --strategy: one <id>.json policy per id the strategy names (default.json too)",
  )
  .addOption(
    new Option(
      "--segment-mix <mix>",
      "share of synthetic borrowers of each customer type (or unassessed), together 1",
    )
      .argParser(customerMix)
      .default(DEFAULT_CUSTOMER_MIX, mixLabel(DEFAULT_CUSTOMER_MIX)),
  )
  .option("--portfolio <file>", "JSONL of loans (POST /v1/loans bodies); default: a synthetic portfolio")
  .option("--loans <n>", "synthetic portfolio size", integer(1), 100_000)
  .option("--seed <n>", "seed of the synthetic portfolio and the payment draws", integer(0), 1)
  .option("--start <date>", "first simulated day (UTC midnight), YYYY-MM-DD", date, "2026-03-02")
  .option("--days <n>", "days to simulate", integer(1), 120)
  .option(
    "--due-days <n>",
    "synthetic due dates spread over this many days from the day after --start (default min(30, days))",
    integer(1),
  )
  .option(
    "--installment-share <share>",
    "share of synthetic loans repaid in 3, 6 or 12 monthly installments (0 to 1)",
    share,
    DEFAULT_INSTALLMENT_SHARE,
  )
  .option(
    "--payments <file>",
    "payment-behaviour model JSON (see the simulator docs); default model built in",
  )
  .option(
    "--workers <n>",
    `worker threads, at most the CPU count (${defaultWorkers()} here); 0: run in this thread`,
    integer(0),
    defaultWorkers(),
  )
  .option("--no-progress", "no progress bar")
  .option("--out <dir>", "where report.json and report.svg go", "simulation")
  .action(simulate);

/** Runs the simulation the options describe, writes its report and prints one line per policy. */
async function simulate(options: Options): Promise<void> {
  const started = performance.now();
  // Each worker holds its own share of the portfolio and its own heap: more workers than CPUs only cost memory.
  const cpus = defaultWorkers();
  if (options.workers > cpus) {
    process.stderr.write(
      `simulate: --workers ${options.workers} is more than the ${cpus} CPU(s) here; using ${cpus}\n`,
    );
    options.workers = cpus;
  }
  const { policies, strategy } = await planOf(options);
  const payments = await loadPayments(options.payments);
  const portfolio = await portfolioOf(options);
  const settings: RunSettings = {
    startMs: Date.parse(`${options.start}T00:00:00Z`),
    days: options.days,
    policies: policies.map((p) => p.policy),
    payments,
    seed: options.seed,
    ...(strategy ? { strategy } : {}),
  };
  if (strategy && strategy.fallbackPolicyId === undefined) {
    // Found before the run rather than by a worker halfway through it.
    const unmatched = unmatchedLoans(settings, portfolio);
    if (unmatched > 0) throw new Error(unmatchedMessage(strategy, unmatched, totalLoans(portfolio)));
  }
  const bar = progressBar(options.progress, "simulate", "loans");
  const tallies = await orchestrate({
    settings,
    portfolio,
    workers: options.workers,
    onProgress: bar.update,
  });
  bar.stop();
  const run = {
    loans: totalLoans(portfolio),
    days: options.days,
    seconds: Math.round((performance.now() - started) / 10) / 100,
    peakRssMb: peakRssMb(),
    workers: options.workers,
    start: options.start,
    seed: options.seed,
    portfolio: options.portfolio ?? "synthetic",
    payments,
  };
  const report = strategy
    ? strategyReport(linesOf(settings), tallies, run, strategy)
    : simulationReport(policies, tallies, run);
  await writeReport(report, options.out);
  if (report.policies.some((r) => r.violations.total > 0)) process.exitCode = 1;
}

interface Plan {
  policies: { label: string; policy: Policy }[];
  strategy?: StrategySettings;
}

/** What the portfolio runs through: a strategy and the policies it gives, or one or two policies. */
async function planOf(options: Options): Promise<Plan> {
  if (options.strategy === undefined) {
    if (options.policies !== undefined) throw new UsageError("--policies goes with --strategy <file>");
    return { policies: await policiesOf(options) };
  }
  if (options.policies === undefined)
    throw new UsageError("--strategy needs --policies <dir>: the policies it names, one <id>.json each");
  const loaded = await loadStrategy(options.strategy, options.policies, options.start);
  return { policies: loaded.policies, strategy: loaded.settings };
}

/** The policy to simulate, and the one to compare it with, each with the label the report gives it. */
async function policiesOf(options: Options) {
  const policies = [
    options.policy ? await loadPolicy(options.policy) : { label: "default", policy: DEFAULT_POLICY },
    ...(options.compare ? [await loadPolicy(options.compare)] : []),
  ];
  if (policies.length === 2 && policies[0]?.label === policies[1]?.label) {
    (policies[1] as { label: string }).label += " (compare)";
  }
  return policies;
}

/** The portfolio file given, checked for time zones the simulator cannot place; else a synthetic one. */
async function portfolioOf(options: Options): Promise<Portfolio> {
  if (!options.portfolio) {
    const { loans, seed, dueDays, installmentShare } = options;
    return {
      kind: "synthetic",
      options: {
        ...syntheticOptions(options.start, options.days, { loans, seed, dueDays, installmentShare }),
        customerMix: options.segmentMix,
      },
    };
  }
  const portfolio = await readPortfolio(fromCaller(options.portfolio));
  if (portfolio.kind === "borrowers") {
    const bad = portfolio.borrowers
      .flatMap((b) => b.loans)
      .find((l) => !isValidTimeZone(l.loan.borrower.timeZone));
    if (bad) throw new Error(`loan ${bad.loan.loanId}: unknown time zone ${bad.loan.borrower.timeZone}`);
  }
  return portfolio;
}

/** report.json and report.svg into the output folder, and a summary on stdout. */
async function writeReport(report: SimulationReport | StrategyRunReport, outOption: string): Promise<void> {
  const out = fromCaller(outOption);
  await mkdir(out, { recursive: true });
  await writeFile(join(out, "report.json"), `${JSON.stringify(report, null, 2)}\n`);
  const strategic = "bySegment" in report ? report : null;
  await writeFile(join(out, "report.svg"), strategic ? strategyChartSvg(strategic) : chartSvg(report));
  for (const r of report.policies) {
    const f = r.funnel;
    process.stdout.write(
      `${r.label}: ${r.messages.total} messages, ${f.subscribed} subscribed, ${f.paidBeforeDue} paid before due, ` +
        `${f.paidInSoftCollection} paid in soft collection, ${r.handOffs} handed off, ${r.violations.total} violations` +
        `${r.installments.loans > 0 ? `; ${r.installments.loans} on a schedule, ${r.installments.cures} cures` : ""}\n`,
    );
  }
  if (strategic) printSegments(strategic);
  const { run } = report;
  process.stdout.write(
    `${run.loans} loans × ${run.days} days in ${run.seconds} s, peak ${run.peakRssMb} MB, ` +
      `${run.workers} worker(s), ${run.distinctTrajectories} distinct trajectories → ${outOption}\n`,
  );
}

await runCli(program, { name: "simulate" });
