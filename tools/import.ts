/**
 * `npm run import -- <file> [--url …] [--key …] [--batch 500] [--rate N] [--concurrency N] [--report out.json]
 * [--no-progress]` imports a JSONL or CSV portfolio into a running stack through POST /v1/loans:batch and prints the
 * summary as JSON. Exit codes: 0 every loan answered (created, exists or rejected), 1 some loans failed after every
 * retry (run it again: it is idempotent), 2 a usage error or an import stopped by the API (bad key, bad URL).
 */
import cliProgress from "cli-progress";
import { Command, InvalidArgumentError } from "commander";
import { fromCaller, runCli, UsageError } from "./cli-io.ts";
import { runImport } from "./import-run.ts";

/** The local stack reads the demo lender key from here too (infra/local/stack.ts KEY_ENV). */
const LENDER_KEY_ENV = "DUNNING_LENDER_KEY";

function positiveInteger(name: string, max = Number.MAX_SAFE_INTEGER) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > max)
      throw new InvalidArgumentError(`${name}: an integer from 1 to ${max}`);
    return n;
  };
}

/** The API's base URL: http or https, nothing else. */
function baseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError("expected a URL such as http://127.0.0.1:3000");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new InvalidArgumentError("expected an http:// or https:// URL");
  }
  return value;
}

const program = new Command()
  .name("npm run import --")
  .description("Import a portfolio file (JSONL or CSV) through POST /v1/loans:batch.")
  .argument(
    "<file>",
    "a .jsonl/.ndjson file (one POST /v1/loans body per line) or a .csv file (see the README)",
  )
  .option("--url <base>", "API base URL", baseUrl, "http://127.0.0.1:3000")
  .option("--key <key>", `a lender API key (default: $${LENDER_KEY_ENV})`)
  .option("--batch <n>", "loans per request, 1-500", positiveInteger("--batch", 500), 500)
  .option(
    "--rate <loans/s>",
    "send at most this many loans per second (default: as fast as answered)",
    positiveInteger("--rate"),
  )
  .option("--concurrency <n>", "requests in flight at once", positiveInteger("--concurrency", 64), 4)
  .option("--report <file>", "also write the summary to this JSON file")
  .option("--no-progress", "no progress bar (it is shown on a terminal only anyway)")
  .action(
    async (
      file: string,
      options: {
        url: string;
        key?: string;
        batch: number;
        rate?: number;
        concurrency: number;
        report?: string;
        progress: boolean;
      },
    ) => {
      const key = options.key ?? process.env[LENDER_KEY_ENV];
      if (!key) throw new UsageError(`a lender key is needed: --key or $${LENDER_KEY_ENV}`);
      const bar =
        options.progress && process.stderr.isTTY
          ? new cliProgress.SingleBar(
              {
                format: "import [{bar}] {percentage}% | {value}/{total} loans | {eta_formatted} left",
                stream: process.stderr,
              },
              cliProgress.Presets.shades_classic,
            )
          : undefined;
      let started = false;
      const summary = await runImport({
        // Paths are the caller's: npm runs this from the package root.
        file: fromCaller(file),
        url: options.url,
        key,
        batch: options.batch,
        concurrency: options.concurrency,
        ...(options.rate ? { rate: options.rate } : {}),
        ...(options.report ? { report: fromCaller(options.report) } : {}),
        onProgress(done, total) {
          if (!bar) return;
          if (!started) {
            bar.start(total, 0);
            started = true;
          }
          bar.setTotal(total);
          bar.update(done);
        },
      });
      if (started) bar?.stop();
      process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      if (summary.failed > 0) process.exitCode = 1;
    },
  );

await runCli(program, { name: "import" });
