/**
 * `npm run audit -- export …` asks the API for an audit export and downloads it; `npm run audit -- verify <file>`
 * checks one. Exit codes: 0 valid / done, 1 a verification problem (one line each on stdout), 2 a usage or
 * request error.
 */
import cliProgress from "cli-progress";
import { Command, InvalidArgumentError, Option } from "commander";
import { describeProblem } from "../../functions/domain/export-verify.ts";
import { download, type Progress, requestExport, verifyFile } from "./audit-files.ts";

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

const program = new Command().name("npm run audit --").description("Compliance audit exports.");

program
  .command("export")
  .description("export the tenant's audit entries in a time range to a file")
  .requiredOption("--url <base>", "API base URL, e.g. http://127.0.0.1:3000")
  .requiredOption("--key <key>", "a compliance API key")
  .requiredOption("--from <instant>", "range start (inclusive), ISO 8601", instant)
  .requiredOption("--to <instant>", "range end (exclusive), ISO 8601", instant)
  .option("--loan <loanId>", "only this loan's entries")
  .addOption(new Option("--format <format>", "file format").choices(["jsonl", "csv"]).default("jsonl"))
  .requiredOption("--out <file>", "where to write the export")
  .action(
    async (options: {
      url: string;
      key: string;
      from: string;
      to: string;
      loan?: string;
      format: "jsonl" | "csv";
      out: string;
    }) => {
      const started = Date.now();
      const answer = await requestExport({
        baseUrl: options.url,
        key: options.key,
        from: options.from,
        to: options.to,
        format: options.format,
        ...(options.loan ? { loanId: options.loan } : {}),
      });
      const bar = progressBar("download");
      const bytes = await download(answer.url, options.out, answer.bytes, bar.update);
      bar.stop();
      const { manifest } = answer;
      process.stdout.write(
        `${options.out}: ${manifest.entryCount} entries of ${manifest.cases.length} case(s), ${bytes} bytes, ` +
          `digest ${manifest.digest} (${Date.now() - started} ms)\n`,
      );
    },
  );

program
  .command("verify")
  .description("verify an export file: hashes, chains, order and its manifest")
  .argument("<file>", "the export file (JSONL or CSV)")
  .action(async (file: string) => {
    const bar = progressBar("verify");
    const verdict = await verifyFile(file, bar.update);
    bar.stop();
    if (verdict.valid) {
      process.stdout.write(
        `valid: ${verdict.entries} entries of ${verdict.cases} case(s), tenant ${verdict.manifest?.tenantId}, ` +
          `${verdict.manifest?.from} to ${verdict.manifest?.to}\n`,
      );
      return;
    }
    for (const problem of verdict.problems) process.stdout.write(`${describeProblem(problem)}\n`);
    process.stdout.write(`invalid: ${verdict.problems.length} problem(s)\n`);
    process.exitCode = 1;
  });

try {
  await program.parseAsync();
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 2;
}
