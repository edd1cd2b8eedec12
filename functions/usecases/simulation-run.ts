import { borrowerGrouping, type PortfolioLoan, syntheticOptions } from "../../simulator/portfolio.ts";
import { chartSvg, type SimulationReport, simulationReport } from "../../simulator/report.ts";
import {
  type BorrowerLoans,
  borrowersRun,
  type RunSettings,
  type SteppedRun,
  syntheticRun,
} from "../../simulator/run.ts";
import type { Tally } from "../../simulator/tally.ts";
import { channelSpec } from "../domain/channels.ts";
import type { LoanCase } from "../domain/loan-case.ts";
import { compare, subtract } from "../domain/money.ts";
import {
  failureOf,
  MAX_SIMULATED_LOANS,
  MAX_STORED_RESULT_BYTES,
  type SimulationMessage,
} from "../domain/simulation-job.ts";
import { toInstant } from "../domain/time.ts";
import type {
  OpenCaseSource,
  SimulationInput,
  SimulationRef,
  SimulationStore,
} from "../ports/simulations.ts";
import type { Clock } from "../ports.ts";

/** What the simulation function needs: the job records, the tenant's open cases, the clock. */
export interface SimulationRunDeps {
  jobs: SimulationStore;
  openCases: OpenCaseSource;
  clock: Clock;
  /** Whether a failure is a dependency's (DynamoDB out of reach): the run is worth trying again later. */
  isUnavailable(error: unknown): boolean;
}

/** The invocation running a job: how long it has left, and whether the queue will deliver the job again. */
export interface RunRuntime {
  remainingMs(): number;
  lastTry: boolean;
}

export type RunResult =
  | { kind: "succeeded"; loans: number; seconds: number }
  | { kind: "failed"; failure: string }
  | { kind: "dropped"; reason: string };

/** A run stops taking loans when its invocation has less than this left, to fail the job in time rather than die. */
const TIME_TO_FINISH_MS = 20_000;
/** Real time between two progress notes on the job. */
const PROGRESS_EVERY_MS = 2_000;
/** Positions worked between two looks at the time (synthetic loans; borrowers of open cases). */
const SYNTHETIC_STEP = 500;
const BORROWER_STEP = 200;

/**
 * Runs a job's simulation with the simulator (the production domain on a virtual clock, in this thread) and stores
 * its report and chart, noting progress as it goes. A job that has ended is left alone (a repeated message). A run
 * the simulator cannot finish (too long, too many open cases) ends the job `failed` with why; a dependency that is out
 * of reach is thrown, so the queue delivers the job again — on its last delivery the job ends `failed` first.
 */
export async function runSimulation(
  deps: SimulationRunDeps,
  message: SimulationMessage,
  runtime: RunRuntime,
): Promise<RunResult> {
  const ref: SimulationRef = { tenantId: message.tenantId, id: message.simulationId };
  const job = await deps.jobs.get(ref);
  if (!job) return { kind: "dropped", reason: "no such simulation" };
  if (job.status !== "running") return { kind: "dropped", reason: `the simulation has ${job.status}` };
  try {
    return await run(deps, ref, job.input, runtime);
  } catch (error) {
    const unavailable = deps.isUnavailable(error);
    if (unavailable && !runtime.lastTry) throw error;
    const failure = failureOf(error);
    await deps.jobs.fail(ref, failure, toInstant(deps.clock.now()));
    if (unavailable) throw error;
    return { kind: "failed", failure };
  }
}

async function run(
  deps: SimulationRunDeps,
  ref: SimulationRef,
  input: SimulationInput,
  runtime: RunRuntime,
): Promise<RunResult> {
  const began = performance.now();
  const settings: RunSettings = {
    startMs: Date.parse(`${input.start}T00:00:00Z`),
    days: input.days,
    policies: input.policies.map((p) => p.policy),
    payments: input.payments,
    seed: input.portfolio.seed,
  };
  const portfolio = await portfolioRun(deps, ref, input, settings);
  const tallies = await advanceAll(deps, { ref, portfolio, runtime });
  const report = simulationReport(input.policies, tallies, {
    loans: portfolio.loans,
    days: input.days,
    seconds: Math.round((performance.now() - began) / 10) / 100,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    workers: 0,
    start: input.start,
    seed: input.portfolio.seed,
    portfolio: portfolio.label,
    payments: input.payments,
  });
  const chart = chartSvg(report);
  checkSize(report, chart);
  const progress = { done: portfolio.loans, total: portfolio.loans };
  const at = toInstant(deps.clock.now());
  if (!(await deps.jobs.succeed(ref, { report, chartSvg: chart, progress, at }))) {
    return { kind: "dropped", reason: "the simulation had ended meanwhile" };
  }
  return { kind: "succeeded", loans: portfolio.loans, seconds: report.run.seconds };
}

interface PortfolioRun {
  run: SteppedRun;
  loans: number;
  /** How the report names the portfolio. */
  label: string;
  step: number;
}

/** The job's portfolio as a stepped run: a synthetic one built loan by loan, or the tenant's open cases read whole. */
async function portfolioRun(
  deps: SimulationRunDeps,
  ref: SimulationRef,
  input: SimulationInput,
  settings: RunSettings,
): Promise<PortfolioRun> {
  const { portfolio } = input;
  if (portfolio.kind === "synthetic") {
    const options = syntheticOptions(input.start, input.days, portfolio);
    const slice = { portfolio: options, from: 0, to: options.count, part: 0, parts: 1 };
    return {
      run: syntheticRun(slice, settings),
      loans: options.count,
      label: "synthetic",
      step: SYNTHETIC_STEP,
    };
  }
  const { borrowers, loans, read } = await openCasePortfolio(deps, ref.tenantId);
  await deps.jobs.progress(ref, { done: 0, total: loans });
  const left = read - loans;
  return {
    run: borrowersRun(borrowers, settings),
    loans,
    label: `open cases: ${loans} of ${read}${left > 0 ? ` (${left} left out: with legal, contact ended or no channel left)` : ""}`,
    step: BORROWER_STEP,
  };
}

/** The tenant's open cases as the simulator's loans, grouped by borrower as a portfolio file is. */
async function openCasePortfolio(
  deps: SimulationRunDeps,
  tenantId: string,
): Promise<{ borrowers: BorrowerLoans[]; loans: number; read: number }> {
  const grouping = borrowerGrouping();
  let read = 0;
  for await (const page of deps.openCases.pages(tenantId)) {
    read += page.length;
    if (read > MAX_SIMULATED_LOANS) {
      throw new Error(
        `the tenant has more than ${MAX_SIMULATED_LOANS} open cases: simulate a synthetic portfolio`,
      );
    }
    for (const loanCase of page) {
      const loan = simulatedLoan(loanCase);
      if (loan) grouping.add(loan);
    }
  }
  return { ...grouping.done(), read };
}

/**
 * An open case as the simulator takes a loan: its borrower reachable on the channels not opted out of, and what is
 * still owed — the balance on its due date, or each installment's unpaid part. Null for a case no policy acts on any
 * more: with legal, or with contact ended.
 */
export function simulatedLoan(loanCase: LoanCase): PortfolioLoan | null {
  if (loanCase.status === "legal" || loanCase.contactEnded) return null;
  const borrower = { ...loanCase.borrower };
  for (const channel of loanCase.optedOut) delete borrower[channelSpec(channel).address];
  if (!borrower.email && !borrower.phone) return null;
  const unpaid = (loanCase.installments ?? [])
    .filter((installment) => compare(installment.paid, installment.amount) < 0)
    .map((installment) => ({
      dueDate: installment.dueDate,
      amount: subtract(installment.amount, installment.paid),
    }));
  const base = { loanId: loanCase.loanId, borrower };
  // A schedule has two installments at least; one left is a due date.
  if (unpaid.length >= 2) return { ...base, schedule: unpaid };
  return { ...base, amountDue: loanCase.balance, dueDate: unpaid[0]?.dueDate ?? loanCase.dueDate };
}

/**
 * Runs every part of the portfolio, noting progress on the job every few seconds; stops with an error when the
 * invocation's time runs short. The tallies are the same however the run was cut.
 */
async function advanceAll(
  deps: SimulationRunDeps,
  work: { ref: SimulationRef; portfolio: PortfolioRun; runtime: RunRuntime },
): Promise<Tally[]> {
  const { ref, portfolio, runtime } = work;
  const { run, loans, step } = portfolio;
  let noted = performance.now();
  let done = 0;
  for (let at = run.from; at < run.to; ) {
    if (runtime.remainingMs() < TIME_TO_FINISH_MS) {
      throw new Error(
        `the run did not finish in the simulation function's time (${done} of ${loans} loans): ` +
          "simulate fewer loans or days, or a smaller installment share",
      );
    }
    at = Math.min(run.to, at + step);
    done = run.advance(at);
    if (performance.now() - noted >= PROGRESS_EVERY_MS) {
      await deps.jobs.progress(ref, { done, total: loans });
      noted = performance.now();
    }
  }
  return run.finish();
}

/** The report and chart must fit the job's item; they are summaries, so only a pathological run comes near. */
function checkSize(report: SimulationReport, chart: string): void {
  const bytes = Buffer.byteLength(JSON.stringify(report)) + Buffer.byteLength(chart);
  if (bytes > MAX_STORED_RESULT_BYTES) {
    throw new Error(`the report (${bytes} bytes) is larger than a job can keep (${MAX_STORED_RESULT_BYTES})`);
  }
}
