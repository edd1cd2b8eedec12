import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { syntheticPortfolio } from "../simulator/portfolio.ts";
import { loanRequest } from "../test/support/fixtures.ts";
import { CHILD_ENV, REPO_ROOT, runChild, startChildStack, tsxArgs } from "./child.ts";
import { log } from "./http.ts";

export const IMPORT_CLI = "tools/import.ts";
export const SIMULATE_CLI = "tools/simulate.ts";

export const cliAvailable = (path: string) => existsSync(join(REPO_ROOT, path));

/** The import CLI's report file, as documented. */
export interface ImportReport {
  total: number;
  created: number;
  exists: number;
  rejected: number;
  failed: number;
  seconds: number;
  loansPerSecond: number;
}

export interface IngestResult {
  loans: number;
  first: ImportReport;
  again: ImportReport;
  /** Wall time of the first import process, start to exit. */
  processSeconds: number;
  peakRssMb: number | null;
}

async function writePortfolio(file: string, loans: number): Promise<void> {
  const out = createWriteStream(file);
  for (const loan of syntheticPortfolio({
    count: loans,
    seed: 42,
    firstDueDate: "2026-01-20",
    dueDays: 30,
    idPrefix: `BENCH${randomBytes(2).toString("hex")}`,
  })) {
    if (!out.write(`${JSON.stringify(loan)}\n`)) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
}

/**
 * Section 4: a JSONL portfolio imported into a fresh local stack (a child `npm start`) by the import CLI, then
 * imported again: the second run must create nothing.
 */
export async function measureIngest(loans: number, timeoutMs: number): Promise<IngestResult> {
  const dir = mkdtempSync(join(tmpdir(), "bench-ingest-"));
  const stack = await startChildStack();
  try {
    const file = join(dir, "portfolio.jsonl");
    await writePortfolio(file, loans);
    const importOnce = async (name: string) => {
      const report = join(dir, `${name}.json`);
      const run = await runChild(
        tsxArgs(IMPORT_CLI, [
          file,
          "--url",
          stack.url,
          "--key",
          stack.lenderKey,
          "--report",
          report,
          "--no-progress",
        ]),
        { timeoutMs, env: CHILD_ENV },
      );
      if (run.code !== 0 || !existsSync(report)) {
        throw new Error(`import exited with ${run.code}: ${run.stderr.slice(-2000)}`);
      }
      return { run, report: JSON.parse(readFileSync(report, "utf8")) as ImportReport };
    };
    log(`ingest: importing ${loans} loans`);
    const first = await importOnce("first");
    log(`ingest: ${first.report.loansPerSecond?.toFixed?.(0) ?? "?"} loans/s; importing again`);
    const again = await importOnce("again");
    return {
      loans,
      first: first.report,
      again: again.report,
      processSeconds: first.run.seconds,
      peakRssMb: first.run.peakRssMb,
    };
  } finally {
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface LatencyResult {
  rate: number;
  seconds: number;
  connections: number;
  requests: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  achievedRate: number;
}

/** The tests' example loan, due a month later so that a run's loans stay in pre_due. */
const subscribeBody = (loanId: string): string =>
  JSON.stringify(loanRequest(loanId, { dueDate: "2026-02-15" }));

function cannon(
  url: string,
  key: string,
  rate: number,
  seconds: number,
  connections: number,
  prefix: string,
) {
  let seq = 0;
  return autocannon({
    url: `${url}/v1/loans`,
    method: "POST",
    connections,
    overallRate: rate,
    duration: seconds,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    requests: [
      {
        // A new loan per request: every request is a real subscription, never an idempotent replay.
        setupRequest: (request) => ({ ...request, body: subscribeBody(`${prefix}-${++seq}`) }),
      },
    ],
  });
}

/** Section 5: POST /v1/loans at a fixed rate against a fresh child stack, after a short warm-up. */
export async function measureLatency(
  rate: number,
  seconds: number,
  warmupSeconds: number,
): Promise<LatencyResult> {
  const stack = await startChildStack();
  const connections = 20;
  try {
    log(`latency: warm-up ${warmupSeconds} s`);
    await cannon(
      stack.url,
      stack.lenderKey,
      rate,
      warmupSeconds,
      connections,
      `WARM${randomBytes(2).toString("hex")}`,
    );
    log(`latency: ${rate} req/s for ${seconds} s`);
    const result = await cannon(
      stack.url,
      stack.lenderKey,
      rate,
      seconds,
      connections,
      `LAT${randomBytes(2).toString("hex")}`,
    );
    return {
      rate,
      seconds,
      connections,
      requests: result.requests.total,
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
      mean: result.latency.average,
      errors: result.errors,
      timeouts: result.timeouts,
      non2xx: result.non2xx,
      achievedRate: result.requests.total / seconds,
    };
  } finally {
    await stack.stop();
  }
}

export interface SimulateResult {
  loans: number;
  days: number;
  /** The run block of the simulator's own report. */
  run: { loans?: number; days?: number; seconds?: number; peakRssMb?: number; workers?: number };
  processSeconds: number;
  /** Peak resident memory of the simulator process, sampled by the bench from /proc. */
  measuredPeakRssMb: number | null;
}

/** Section 6: the what-if simulator as a child process. */
export async function measureSimulate(
  loans: number,
  days: number,
  timeoutMs: number,
): Promise<SimulateResult> {
  const dir = mkdtempSync(join(tmpdir(), "bench-simulate-"));
  try {
    log(`simulate: ${loans} loans over ${days} days`);
    const run = await runChild(
      tsxArgs(SIMULATE_CLI, [
        "--loans",
        String(loans),
        "--days",
        String(days),
        "--out",
        dir,
        "--no-progress",
      ]),
      { timeoutMs },
    );
    const reportFile = join(dir, "report.json");
    if (run.code !== 0 || !existsSync(reportFile)) {
      throw new Error(`simulate exited with ${run.code}: ${run.stderr.slice(-2000)}`);
    }
    const report = JSON.parse(readFileSync(reportFile, "utf8")) as { run?: SimulateResult["run"] };
    return {
      loans,
      days,
      run: report.run ?? {},
      processSeconds: run.seconds,
      measuredPeakRssMb: run.peakRssMb,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
