import { createReadStream } from "node:fs";
import { availableParallelism } from "node:os";
import { createInterface } from "node:readline";
import { Worker } from "node:worker_threads";
import { exceedsMaxAmount, MAX_AMOUNT } from "../functions/domain/money.ts";
import { termsIssues } from "../functions/domain/schedule.ts";
import { profileOf, profileProblem, syntheticProfile } from "./customers.ts";
import { assignerOf, matchesEveryLoan } from "./lines.ts";
import { borrowerGrouping, type PortfolioLoan, syntheticLoan } from "./portfolio.ts";
import type { FromSimulationWorker, WorkerJob } from "./protocol.ts";
import {
  type BorrowerLoans,
  type RunSettings,
  runBorrowers,
  runSynthetic,
  type SyntheticSlice,
} from "./run.ts";
import { mergeTally, type Tally } from "./tally.ts";
import { memoiseDateMath, memoiseIsoParsing, memoiseZoneOffsets } from "./zone-offsets.ts";

export type Portfolio =
  | { kind: "synthetic"; options: SyntheticSlice["portfolio"] }
  | { kind: "borrowers"; borrowers: BorrowerLoans[]; loans: number };

export interface Orchestration {
  settings: RunSettings;
  portfolio: Portfolio;
  /** 0: in this thread (tests); otherwise that many worker threads. */
  workers: number;
  onProgress?: (done: number, total: number) => void;
}

export const defaultWorkers = () => availableParallelism();

/** Reads a JSONL portfolio (one POST /v1/loans body a line) and groups its loans by borrower. */
export async function readPortfolio(file: string): Promise<Portfolio> {
  const grouping = borrowerGrouping();
  let index = 0;
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    if (!line.trim()) continue;
    let loan: PortfolioLoan;
    try {
      loan = JSON.parse(line) as PortfolioLoan;
    } catch {
      throw new Error(`${file}:${index + 1}: not a JSON object`);
    }
    const problem = loanProblem(loan);
    if (problem) throw new Error(`${file}:${index + 1}: ${problem}`);
    index++;
    grouping.add(loan);
  }
  return { kind: "borrowers", ...grouping.done() };
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const AMOUNT = /^\d+(\.\d+)?$/;

/** An amount as a file may hold it, until checked: a decimal string and a currency code. */
function isAmount(value: unknown): boolean {
  const m = value as { amount?: unknown; currency?: unknown } | null | undefined;
  return typeof m?.amount === "string" && AMOUNT.test(m.amount) && /^[A-Z]{3}$/.test(String(m.currency));
}

function isInstallment(value: unknown): boolean {
  const item = value as { dueDate?: unknown; amount?: unknown } | null;
  return DATE.test(String(item?.dueDate)) && isAmount(item?.amount);
}

/**
 * Why a portfolio line is no loan the simulator can run (null when it is one): a loan has a loanId, a borrower's
 * time zone, and either a due date or a schedule of dated amounts, which the API's rules accept.
 */
function loanProblem(loan: PortfolioLoan | null): string | null {
  const schedule: unknown = loan?.schedule;
  const hasTerms =
    schedule === undefined
      ? DATE.test(String(loan?.dueDate))
      : Array.isArray(schedule) && schedule.every(isInstallment);
  if (!loan?.loanId || !loan.borrower?.timeZone || !hasTerms) {
    return "expected a loan with loanId, borrower.timeZone and dueDate, or a schedule of { dueDate, amount }";
  }
  if (loan.amountDue !== undefined && !isAmount(loan.amountDue)) {
    return 'amountDue: expected { amount, currency } such as { "amount": "1250.00", "currency": "CNY" }';
  }
  if (loan.amountDue && exceedsMaxAmount(loan.amountDue.amount)) {
    return `amountDue.amount must be at most ${MAX_AMOUNT}, the largest amount accepted`;
  }
  const [issue] = termsIssues(loan);
  return issue ? `${issue.path} ${issue.message}` : profileProblem(loan);
}

export const totalLoans = (portfolio: Portfolio) =>
  portfolio.kind === "synthetic" ? portfolio.options.count : portfolio.loans;

/** How many loans of the portfolio no rule of the run's strategy matches (0 without a strategy). */
export function unmatchedLoans(settings: RunSettings, portfolio: Portfolio): number {
  if (!settings.strategy || matchesEveryLoan(settings.strategy.strategy)) return 0;
  const assigned = assignerOf(settings.strategy, settings.startMs);
  let unmatched = 0;
  if (portfolio.kind === "synthetic") {
    const { options } = portfolio;
    for (let i = 0; i < options.count; i++) {
      if (!assigned(syntheticLoan(i, options), syntheticProfile(i, options))) unmatched++;
    }
    return unmatched;
  }
  for (const { loan } of portfolio.borrowers.flatMap((b) => b.loans)) {
    if (!assigned(loan, profileOf(loan))) unmatched++;
  }
  return unmatched;
}

/** Same zone → same worker, so each distinct trajectory is computed by one worker only. */
export function zoneHash(zone: string): number {
  let h = 0;
  for (let i = 0; i < zone.length; i++) h = (Math.imul(h, 31) + zone.charCodeAt(i)) >>> 0;
  return h;
}

function jobs(settings: RunSettings, portfolio: Portfolio, parts: number): WorkerJob[] {
  if (portfolio.kind === "synthetic") {
    return Array.from({ length: parts }, (_, part) => ({
      settings,
      input: {
        kind: "synthetic",
        slice: { portfolio: portfolio.options, from: 0, to: portfolio.options.count, part, parts },
      },
    }));
  }
  const shares: BorrowerLoans[][] = Array.from({ length: parts }, () => []);
  for (const b of portfolio.borrowers) {
    shares[zoneHash(b.loans[0]?.loan.borrower.timeZone ?? "") % parts]?.push(b);
  }
  return shares.map((borrowers) => ({ settings, input: { kind: "borrowers", borrowers } }));
}

function runWorker(job: WorkerJob, onProgress: (done: number) => void): Promise<Tally[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./worker-entry.mjs", import.meta.url), { workerData: job });
    let settled = false;
    worker.on("message", (message: FromSimulationWorker) => {
      if (message.type === "progress") onProgress(message.done);
      else {
        settled = true;
        void worker.terminate();
        if (message.type === "done") resolve(message.tallies);
        else reject(new Error(`simulation worker failed: ${message.message}`));
      }
    });
    worker.on("error", (error) => {
      settled = true;
      reject(error);
    });
    worker.on("exit", (code) => {
      if (!settled) reject(new Error(`simulation worker exited with code ${code}`));
    });
  });
}

/** Runs the portfolio through the settings' policies or strategy; one merged tally per line (see linesOf). */
export async function orchestrate(o: Orchestration): Promise<Tally[]> {
  const total = totalLoans(o.portfolio);
  if (o.workers <= 0) {
    memoiseZoneOffsets();
    memoiseIsoParsing();
    memoiseDateMath();
    const progress = (done: number) => o.onProgress?.(done, total);
    const [job] = jobs(o.settings, o.portfolio, 1);
    if (!job) return [];
    return job.input.kind === "synthetic"
      ? runSynthetic(job.input.slice, o.settings, progress)
      : runBorrowers(job.input.borrowers, o.settings, progress);
  }
  const done = new Array<number>(o.workers).fill(0);
  const results = await Promise.all(
    jobs(o.settings, o.portfolio, o.workers).map((job, w) =>
      runWorker(job, (n) => {
        done[w] = n;
        o.onProgress?.(
          done.reduce((a, b) => a + b, 0),
          total,
        );
      }),
    ),
  );
  const [first, ...rest] = results;
  if (!first) return [];
  for (const tallies of rest) {
    tallies.forEach((t, p) => {
      const into = first[p];
      if (into) mergeTally(into, t);
    });
  }
  return first;
}
