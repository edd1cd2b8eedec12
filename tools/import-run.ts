import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { writeFile } from "node:fs/promises";
import type { BatchItemResponse } from "../functions/api/app.ts";
import {
  formatOf,
  inBatches,
  type PortfolioLoanRequest,
  type PortfolioRecord,
  readPortfolio,
} from "../functions/import/portfolio-file.ts";

/** What an import did, per loan of the file; `rejected` counts bad lines, refused loans and conflicts. */
export interface ImportSummary {
  file: string;
  total: number;
  created: number;
  exists: number;
  rejected: number;
  /** Of `rejected`: loan ids already subscribed with different details. */
  conflicts: number;
  /** Loans whose outcome is unknown or unfinished after every retry: run the import again. */
  failed: number;
  seconds: number;
  loansPerSecond: number;
  /** The first problems (line numbers and reasons; never a line's content). */
  problems: ImportProblem[];
}

export interface ImportProblem {
  line: number;
  loanId: string | null;
  status: "rejected" | "conflict" | "failed";
  code: string;
  message: string;
  details?: { path: string; message: string }[];
}

export interface ImportOptions {
  file: string;
  url: string;
  key: string;
  /** Loans per request (1-500). */
  batch?: number;
  /** Upper bound on loans sent per second; unlimited when unset or 0. */
  rate?: number;
  /** Requests in flight at once. */
  concurrency?: number;
  /** Called after each answered batch with loans done so far and the file's record count. */
  onProgress?: (done: number, total: number) => void;
  /** Where to write the summary as JSON. */
  report?: string;
  /** Tries per request on 429, 5xx, IDEMPOTENCY_IN_PROGRESS and network errors. */
  attempts?: number;
  /** Rounds of re-sending the loans a batch reported `failed`. */
  retryRounds?: number;
}

const MAX_PROBLEMS = 200;
const REQUEST_TIMEOUT_MS = 120_000;
/** Tries before an API that never answered this import is given up as unreachable. */
const UNREACHABLE_ATTEMPTS = 3;

/** The caller's mistake (bad key, bad URL, refused request): retrying cannot help, so the import stops. */
export class ImportAbortedError extends Error {
  override name = "ImportAbortedError";
}

/**
 * Imports a JSONL or CSV portfolio file through POST /v1/loans:batch. The file is read twice, both times streamed:
 * once for its digest and record count, then to send it; memory stays bounded by `concurrency` × `batch` loans.
 *
 * Each batch carries the Idempotency-Key `import-<file digest>-<batch size>-<index>`, so a retried request (its
 * answer lost) is answered from the first run rather than applied twice. Importing the same file again replays
 * those answers; a replay from an earlier run reports its created loans as `exists` — this run created nothing.
 * Loans a batch reports `failed` are sent again (their own requests, fresh keys) for a few rounds.
 */
export async function runImport(options: ImportOptions): Promise<ImportSummary> {
  const batchSize = options.batch ?? 500;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 500) {
    throw new ImportAbortedError("--batch must be an integer from 1 to 500");
  }
  const started = Date.now();
  const format = formatOf(options.file);
  const { digest, records } = await scan(options.file, format);
  const run = new ImportRun(options, { batchSize, digest, records });
  await run.sendAll(
    readPortfolio(createReadStream(options.file), format) as AsyncIterable<PortfolioRecord>,
    started,
  );
  const { summary } = run;
  summary.seconds = Math.round((Date.now() - started) / 10) / 100;
  summary.loansPerSecond = Math.round(summary.total / Math.max(summary.seconds, 0.001));
  if (options.report) await writeFile(options.report, `${JSON.stringify(summary, null, 2)}\n`);
  return summary;
}

type Numbered = { line: number; loan: PortfolioLoanRequest };
type BatchAnswer = { results: BatchItemResponse[]; replayed: boolean; ownRetry: boolean };

/** One import of one file: its tally, and the batches it sends. */
class ImportRun {
  readonly summary: ImportSummary;
  private done = 0;
  private readonly runId = randomBytes(6).toString("hex");
  /** Until the API has answered once, an address where nothing answers ends the import (exit 2), named with why. */
  private readonly link = { answered: false };

  constructor(
    private readonly options: ImportOptions,
    private readonly file: { batchSize: number; digest: string; records: number },
  ) {
    this.summary = {
      file: options.file,
      total: 0,
      created: 0,
      exists: 0,
      rejected: 0,
      conflicts: 0,
      failed: 0,
      seconds: 0,
      loansPerSecond: 0,
      problems: [],
    };
  }

  private problem(p: ImportProblem): void {
    if (this.summary.problems.length < MAX_PROBLEMS) this.summary.problems.push(p);
  }

  private progressed(n: number): void {
    this.done += n;
    this.options.onProgress?.(this.done, Math.max(this.file.records, this.done));
  }

  /** The file's valid loans with their line numbers; the invalid ones are tallied as rejected on the way. */
  private async *valid(records: AsyncIterable<PortfolioRecord>): AsyncGenerator<Numbered> {
    for await (const record of records) {
      this.summary.total++;
      if ("loan" in record) {
        yield record;
        continue;
      }
      this.summary.rejected++;
      this.problem({
        line: record.line,
        loanId: record.loanId,
        status: "rejected",
        code: "VALIDATION_FAILED",
        message: record.error.message,
        details: record.error.details,
      });
      this.progressed(1);
    }
  }

  /** Producer: batches are read only as fast as they are sent, so memory stays bounded whatever the file size. */
  async sendAll(records: AsyncIterable<PortfolioRecord>, started: number): Promise<void> {
    const concurrency = Math.max(1, this.options.concurrency ?? 4);
    const rate = this.options.rate && this.options.rate > 0 ? this.options.rate : Number.POSITIVE_INFINITY;
    const inFlight = new Set<Promise<void>>();
    let failure: unknown;
    let sent = 0;
    let index = 0;
    for await (const loans of inBatches(this.valid(records), this.file.batchSize)) {
      if (failure) break;
      if (Number.isFinite(rate)) await sleep(started + (sent / rate) * 1000 - Date.now());
      sent += loans.length;
      while (inFlight.size >= concurrency) await Promise.race(inFlight);
      const task = this.importBatch(loans, index++)
        .catch((error: unknown) => {
          failure ??= error;
        })
        .finally(() => inFlight.delete(task));
      inFlight.add(task);
    }
    await Promise.all(inFlight);
    if (failure) throw failure;
  }

  /** One batch, and its failed loans again for a few rounds under fresh keys. */
  private async importBatch(loans: Numbered[], index: number): Promise<void> {
    let pending = loans;
    const rounds = this.options.retryRounds ?? 3;
    const { digest, batchSize } = this.file;
    for (let round = 0; pending.length > 0; round++) {
      const key =
        round === 0
          ? `import-${digest.slice(0, 40)}-${batchSize}-${index}`
          : `import-${digest.slice(0, 40)}-${batchSize}-${index}-r${round}-${this.runId}`;
      let answer: BatchAnswer;
      try {
        answer = await postBatch(
          this.options,
          this.link,
          pending.map((l) => l.loan),
          key,
          this.options.attempts ?? 8,
        );
      } catch (error) {
        if (error instanceof ImportAbortedError) throw error;
        this.tallyUnsent(pending, error as Error);
        return;
      }
      const retry = this.tally(pending, answer, round < rounds);
      this.progressed(pending.length - retry.length);
      pending = retry;
      if (pending.length > 0) await sleep(backoff(round + 1));
    }
  }

  private tallyUnsent(loans: Numbered[], error: Error): void {
    for (const l of loans) {
      this.problem({
        line: l.line,
        loanId: l.loan.loanId,
        status: "failed",
        code: "REQUEST_FAILED",
        message: error.message,
      });
    }
    this.summary.failed += loans.length;
    this.progressed(loans.length);
  }

  /** Tallies a batch's answer; answers the loans to send again (failed, while rounds are left). */
  private tally(loans: Numbered[], answer: BatchAnswer, mayRetry: boolean): Numbered[] {
    const { summary } = this;
    // A replay this run did not cause answers for an earlier run: whatever it created exists now.
    const fromEarlierRun = answer.replayed && !answer.ownRetry;
    const retry: Numbered[] = [];
    for (const [i, loan] of loans.entries()) {
      const result = answer.results[i];
      const status = result?.outcome ?? "failed";
      if (status === "created") summary[fromEarlierRun ? "exists" : "created"]++;
      else if (status === "exists") summary.exists++;
      else if (status === "failed" && mayRetry) retry.push(loan);
      else {
        if (status === "conflict") summary.conflicts++;
        if (status === "failed") summary.failed++;
        else summary.rejected++;
        this.problem({
          line: loan.line,
          loanId: loan.loan.loanId,
          status: status === "conflict" || status === "failed" ? status : "rejected",
          code: result?.error?.code ?? "NO_RESULT",
          message: result?.error?.message ?? "the answer had no result for this loan",
          ...(result?.error?.details ? { details: result.error.details } : {}),
        });
      }
    }
    return retry;
  }
}

/** SHA-256 of the file's bytes and its number of non-blank lines (an upper bound on its records), streamed. */
async function scan(file: string, format: "jsonl" | "csv"): Promise<{ digest: string; records: number }> {
  const hash = createHash("sha256");
  let lines = 0;
  let blank = true;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    for (const byte of chunk) {
      if (byte === 10) {
        if (!blank) lines++;
        blank = true;
      } else if (byte !== 13 && byte !== 32) blank = false;
    }
  }
  if (!blank) lines++;
  return { digest: hash.digest("hex"), records: format === "csv" ? Math.max(0, lines - 1) : lines };
}

/**
 * One POST /v1/loans:batch, tried again on 429, 5xx, 409 IDEMPOTENCY_IN_PROGRESS and network errors with
 * exponential back-off (Retry-After honoured). 401/403 and other refusals stop the import.
 */
async function postBatch(
  options: ImportOptions,
  link: { answered: boolean },
  loans: PortfolioLoanRequest[],
  idempotencyKey: string,
  attempts: number,
): Promise<{ results: BatchItemResponse[]; replayed: boolean; ownRetry: boolean }> {
  const body = JSON.stringify({ loans });
  const target = new URL("/v1/loans:batch", options.url);
  let lastError = "";
  for (let attempt = 1; attempt <= attempts; attempt++) {
    let wait = backoff(attempt);
    try {
      const response = await fetch(target, {
        method: "POST",
        headers: {
          authorization: `Bearer ${options.key}`,
          "content-type": "application/json",
          "idempotency-key": idempotencyKey,
        },
        body,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      link.answered = true;
      const text = await response.text();
      if (response.status === 207) {
        const parsed = JSON.parse(text) as { results: BatchItemResponse[] };
        return {
          results: parsed.results,
          replayed: response.headers.get("idempotent-replayed") === "true",
          ownRetry: attempt > 1,
        };
      }
      const code = errorCode(text);
      lastError = `HTTP ${response.status}${code ? ` ${code}` : ""}`;
      const retryable =
        response.status === 429 ||
        response.status >= 500 ||
        (response.status === 409 && code === "IDEMPOTENCY_IN_PROGRESS");
      if (!retryable)
        throw new ImportAbortedError(`POST /v1/loans:batch answered ${lastError}: ${message(text)}`);
      const retryAfter = Number(response.headers.get("retry-after"));
      if (Number.isFinite(retryAfter) && retryAfter > 0) wait = Math.max(wait, retryAfter * 1000);
    } catch (error) {
      if (error instanceof ImportAbortedError) throw error;
      lastError = describeFailure(error);
      if (!link.answered && attempt >= Math.min(attempts, UNREACHABLE_ATTEMPTS) && unreachable(error)) {
        throw new ImportAbortedError(
          `cannot reach the API at ${options.url} (${lastError}): is a stack running there? Start one with ` +
            "npm start, or pass its address with --url",
        );
      }
    }
    if (attempt < attempts) await sleep(wait);
  }
  throw new Error(`POST ${target.href} failed ${attempts} times; last: ${lastError}`);
}

/** fetch's own message ("fetch failed") with its cause's: `fetch failed: connect ECONNREFUSED 127.0.0.1:3000`. */
function describeFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error ? (error.cause as NodeJS.ErrnoException | undefined) : undefined;
  if (!cause) return message;
  const detail = cause.message || cause.code || String(cause);
  return cause.code && !detail.includes(cause.code)
    ? `${message}: ${cause.code} ${detail}`
    : `${message}: ${detail}`;
}

/**
 * fetch failed before any answer (refused, unknown host, unreachable network, a port fetch will not use, TLS):
 * unlike a request that timed out waiting for its answer, nothing at that address is listening to us.
 */
function unreachable(error: unknown): boolean {
  return error instanceof TypeError && error.message === "fetch failed";
}

function errorCode(text: string): string | undefined {
  try {
    return (JSON.parse(text) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}

function message(text: string): string {
  try {
    return (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text.slice(0, 200);
  } catch {
    return text.slice(0, 200);
  }
}

/** Full-jitter exponential back-off: up to 250 ms × 2^(attempt-1), capped at 10 s. */
function backoff(attempt: number): number {
  return Math.random() * Math.min(10_000, 250 * 2 ** (attempt - 1));
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));
