/**
 * `npm run bench`: measures the product on this machine and writes bench/report.json and bench/report.md.
 * Every figure comes from the same run; progress goes to stderr, the Markdown report to stdout.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
// Step handlers log JSON per step; the bench reads counters, not logs.
process.env.POWERTOOLS_LOG_LEVEL ??= "ERROR";

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, platform, release, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, InvalidArgumentError } from "commander";
import type { DeployedFunction } from "./bundles.ts";
import { log } from "./http.ts";
import type { Machine, Report, Section } from "./report.ts";
import { renderReport } from "./report.ts";
import { SECTION_IDS, type SectionContext, type SectionId, sectionRunners } from "./sections.ts";

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError("expected a positive integer");
  return n;
}

/** A local time the paced section's window may end at: after its sends wake (10:00), at most 21:00. */
function windowEnd(value: string): string {
  if (!/^(1[0-9]|2[01]):[0-5][0-9]$/.test(value) || value <= "10:00" || value > "21:00") {
    throw new InvalidArgumentError("expected HH:MM after 10:00 and at most 21:00");
  }
  return value;
}

function sectionList(value: string): SectionId[] {
  const ids = value.split(",").map((part) => {
    const name = part.trim();
    const byNumber = /^\d+$/.test(name) ? SECTION_IDS[Number(name) - 1] : undefined;
    const id = byNumber ?? name;
    if (!SECTION_IDS.includes(id as SectionId)) {
      throw new InvalidArgumentError(
        `unknown section "${name}": one of ${SECTION_IDS.join(", ")} or 1-${SECTION_IDS.length}`,
      );
    }
    return id as SectionId;
  });
  return [...new Set(ids)];
}

const program = new Command()
  .name("npm run bench --")
  .description(
    "Measure the loan dunning product on this machine; writes bench/report.json and bench/report.md.",
  )
  .option("--quick", "small counts: a smoke run of every section in a minute or two", false)
  .option(
    "--only <sections>",
    `comma-separated sections: ${SECTION_IDS.join(", ")} (or 1-${SECTION_IDS.length})`,
    sectionList,
  )
  .option(
    "--ingest-loans <n>",
    "loans imported by the batch ingest section (default 100000; quick 2000)",
    positiveInt,
  )
  .option(
    "--paced-loans <n>",
    "loans due in the same minute in the paced-sending section (default 1000; quick 200; the full check 20000)",
    positiveInt,
  )
  .option(
    "--paced-window-end <HH:MM>",
    "end of the paced-sending section's contact window (default 21:00): an earlier end leaves sends for the next day",
    windowEnd,
  )
  .option(
    "--apply-cases <n>",
    "open cases a policy change is applied to in flight (default 10000; quick 1000; the full check 100000)",
    positiveInt,
  )
  .option(
    "--out <dir>",
    "where report.json and report.md are written",
    fileURLToPath(new URL(".", import.meta.url)),
  )
  .parse();

const options = program.opts<{
  quick: boolean;
  only?: SectionId[];
  ingestLoans?: number;
  simulateLoans?: number;
  pacedLoans?: number;
  pacedWindowEnd?: string;
  applyCases?: number;
  out: string;
}>();

function machine(): Machine {
  const cores = cpus();
  return {
    cpu: cores[0]?.model.trim() ?? "unknown",
    cores: cores.length,
    ramGb: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    platform: `${platform()} ${release()}`,
    date: new Date().toISOString(),
    loadAverage: loadavg()[0] ?? 0,
  };
}

const began = performance.now();
// Taken before anything starts: the load average says how busy the machine was before the bench.
const host = machine();
const selected = options.only ?? [...SECTION_IDS];
const scratch = mkdtempSync(join(tmpdir(), "bench-"));
const context: SectionContext = {
  quick: options.quick,
  // 100,000 loans at the import rates seen on a 2-core machine (50–150 loans/s) takes 11–33 minutes.
  ingestLoans: options.ingestLoans ?? (options.quick ? 1_000 : 10_000),
  simulateLoans: options.simulateLoans ?? (options.quick ? 10_000 : 1_000_000),
  // 1,000 loans take a few minutes on a 2-core machine; the full check (20,000) is asked for by name.
  pacedLoans: options.pacedLoans ?? (options.quick ? 200 : 1_000),
  ...(options.pacedWindowEnd ? { pacedWindowEnd: options.pacedWindowEnd } : {}),
  applyCases: options.applyCases ?? (options.quick ? 1_000 : 10_000),
  scratch,
  results: {},
  functions: undefined as DeployedFunction[] | undefined,
  cleanups: [],
};

const sections: Section[] = [];
try {
  for (const id of selected) {
    const sectionBegan = performance.now();
    log(`section ${id}: start`);
    const section = await sectionRunners[id](context).catch(
      (error: Error): Section => ({
        id,
        title: id,
        status: "failed",
        columns: [],
        rows: [],
        checks: [],
        notes: [`failed: ${error.message.split("\n")[0]}`],
        data: { error: error.stack ?? error.message },
        seconds: 0,
      }),
    );
    section.seconds = (performance.now() - sectionBegan) / 1000;
    log(`section ${id}: ${section.status} in ${section.seconds.toFixed(1)} s`);
    sections.push(section);
  }
} finally {
  for (const cleanup of context.cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  rmSync(scratch, { recursive: true, force: true });
}

const report: Report = {
  machine: host,
  options: { quick: options.quick, only: options.only ?? null },
  totalSeconds: (performance.now() - began) / 1000,
  sections,
};
const markdown = renderReport(report);
mkdirSync(options.out, { recursive: true });
writeFileSync(join(options.out, "report.json"), `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(join(options.out, "report.md"), markdown);
process.stdout.write(markdown);
log(`wrote ${join(options.out, "report.json")} and report.md in ${report.totalSeconds.toFixed(0)} s`);
// Child processes and DynamoDB Local are stopped; a stray handle must not keep the bench alive.
process.exit(0);
