/**
 * `npm run audit -- export …` asks the API for an audit export and downloads it with its manifest beside it;
 * `npm run audit -- verify <file> [manifest]` checks one against its manifest.
 *
 *   DUNNING_API_KEY=dk_… npm run audit -- export --url http://127.0.0.1:3000 \
 *     --from 2026-01-01T00:00:00Z --to 2026-02-01T00:00:00Z --format csv --out january.csv
 *   npm run audit -- verify january.csv          (reads january.csv.manifest.json beside it)
 *
 * The compliance key is read from DUNNING_API_KEY, so it shows neither in the shell's history nor in the process
 * list. Relative paths are taken from the folder npm was run in. Exit codes: 0 valid / done, 1 a verification
 * problem (one line each on stdout), 2 a usage or request error.
 */
import cliProgress from "cli-progress";
import { Command, InvalidArgumentError, Option } from "commander";
import { describeProblem } from "../functions/formats/export-verify/problems.ts";
import { downloadExport, type Progress, requestExport, verifyFile } from "./audit-files.ts";
import { fromCaller, runCli, UsageError } from "./cli-io.ts";

/** The environment variable the compliance API key is read from. */
export const API_KEY_ENV = "DUNNING_API_KEY";

function instant(value: string): string {
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(Date.parse(value))) {
    throw new InvalidArgumentError("expected an ISO 8601 timestamp such as 2026-01-05T00:00:00Z");
  }
  return value;
}

/** A progress bar on stdout when it is a terminal; nothing otherwise (pipes and files stay clean). */
function progressBar(label: string): { update: Progress; stop: () => void } {
  if (!process.stdout.isTTY) return { update: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {percentage}% | {value}/{total} bytes`, stream: process.stdout },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total) {
      if (!started) {
        bar.start(Math.max(total, done), 0);
        started = true;
      }
      if (total > 0) bar.setTotal(Math.max(total, done));
      bar.update(done);
    },
    stop: () => started && bar.stop(),
  };
}

const program = new Command()
  .name("npm run audit --")
  .description("Compliance audit exports.")
  .showHelpAfterError();

program
  .command("export")
  .description(
    `export the tenant's audit entries in a time range to a file, its manifest beside it (<file>.manifest.json); ` +
      `the compliance API key is read from ${API_KEY_ENV}`,
  )
  .requiredOption("--url <base>", "API base URL, e.g. http://127.0.0.1:3000")
  .option(
    "--key <key>",
    `a compliance API key (discouraged: it shows in the shell's history and the process list; set ${API_KEY_ENV})`,
  )
  .requiredOption("--from <instant>", "range start (inclusive), ISO 8601", instant)
  .requiredOption("--to <instant>", "range end (exclusive), ISO 8601", instant)
  .option(
    "--loan <loanId>",
    "only this loan's entries (tenant:admin: the tenant's own policy and key changes)",
  )
  .addOption(new Option("--format <format>", "file format").choices(["jsonl", "csv"]).default("jsonl"))
  .requiredOption("--out <file>", "where to write the export (relative to the folder npm was run in)")
  .action(
    async (options: {
      url: string;
      key?: string;
      from: string;
      to: string;
      loan?: string;
      format: "jsonl" | "csv";
      out: string;
    }) => {
      const key = options.key ?? process.env[API_KEY_ENV];
      if (!key) throw new UsageError(`no API key: set ${API_KEY_ENV} to a compliance key`);
      const out = fromCaller(options.out);
      const started = Date.now();
      const answer = await requestExport({
        baseUrl: options.url,
        key,
        from: options.from,
        to: options.to,
        format: options.format,
        ...(options.loan ? { loanId: options.loan } : {}),
      });
      const bar = progressBar("download");
      const { bytes, manifestPath } = await downloadExport(answer, out, bar.update);
      bar.stop();
      const { manifest } = answer;
      process.stdout.write(
        `${options.out}: ${manifest.entryCount} entries of ${manifest.cases.length} case(s), ${bytes} bytes, ` +
          `digest ${manifest.digest} (${Date.now() - started} ms); manifest ${manifestPath}\n`,
      );
    },
  );

program
  .command("verify")
  .description("verify an export file against its manifest: hashes, chains, order, digest and counts")
  .argument("<file>", "the export file (JSONL or CSV), relative to the folder npm was run in")
  .argument("[manifest]", "its manifest (default: <file>.manifest.json beside it)")
  .action(async (file: string, manifest: string | undefined) => {
    const bar = progressBar("verify");
    const verdict = await verifyFile(
      fromCaller(file),
      manifest === undefined ? undefined : fromCaller(manifest),
      bar.update,
    );
    bar.stop();
    if (verdict.valid) {
      process.stdout.write(
        `valid: ${verdict.entries} entries of ${verdict.cases} case(s), tenant ${verdict.manifest?.tenantId}, ` +
          `${verdict.manifest?.from} to ${verdict.manifest?.to}\n`,
      );
      return;
    }
    // Set before writing: a reader that stops early (`| head -1`) still sees the verdict in the exit code.
    process.exitCode = 1;
    for (const problem of verdict.problems) process.stdout.write(`${describeProblem(problem)}\n`);
    process.stdout.write(`invalid: ${verdict.problems.length} problem(s)\n`);
  });

await runCli(program, { name: "audit" });
