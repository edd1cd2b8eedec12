import { execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

/**
 * How the command-line tools behave as commands: usage errors exit 2 (help exits 0), paths are the caller's, the
 * simulator's worker count is capped at the CPUs, an unreachable API is named with its cause, and a reader that
 * goes away (`| head -1`) ends a tool quietly. Every tool runs as a user runs it: `npm run <tool> -- …`, from a
 * folder outside the package.
 */
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const caller = mkdtempSync(join(tmpdir(), "dunning-cli-"));
const ENV = {
  ...process.env,
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  DUNNING_LENDER_KEY: "",
};

afterAll(() => rmSync(caller, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `npm --prefix <package> run --silent <tool> -- <args>` from the caller's folder. */
function npmRun(tool: string, args: string[]): Promise<Run> {
  return new Promise((done) => {
    execFile(
      "npm",
      ["--prefix", ROOT, "run", "--silent", tool, "--", ...args],
      { cwd: caller, env: ENV, timeout: 120_000 },
      (error, stdout, stderr) => done({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The same, with stdout a pipe whose reader is gone before the tool writes (as `| head -1` leaves it). */
function npmRunIntoClosedPipe(
  tool: string,
  args: string[],
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done) => {
    const child = spawn("npm", ["--prefix", ROOT, "run", "--silent", tool, "--", ...args], {
      cwd: caller,
      env: ENV,
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.destroy();
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("close", (code) => done({ code, stderr }));
  });
}

/** A valid loan line (POST /v1/loans body) and one that is not. */
const LOAN = JSON.stringify({
  loanId: "CLI-1",
  borrower: { name: "Li Wei", email: "li.wei@example.com", locale: "zh-CN", timeZone: "Asia/Shanghai" },
  amountDue: { amount: "1250.00", currency: "CNY" },
  dueDate: "2026-01-15",
});
writeFileSync(join(caller, "one.jsonl"), `${LOAN}\n`);
writeFileSync(join(caller, "bad.jsonl"), '{"loanId":"CLI-BAD"}\n{"loanId":"CLI-BAD-2"}\n');

/** A loopback port nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

const usageErrors: [string, string[]][] = [
  ["simulate", ["--loans", "abc"]],
  ["simulate", ["--days", "0"]],
  ["simulate", ["--start", "2026-13-01"]],
  ["simulate", ["--start", "2026-02-30"]],
  ["simulate", ["--no-such-flag"]],
  ["keys", ["--no-such-flag", "list", "--tenant", "acme", "--table", "t"]],
  ["keys", ["list", "--tenant", "acme"]],
  ["keys", ["create", "--tenant", "acme", "--role", "boss", "--table", "t"]],
  ["keys", ["--endpoint", "http://127.0.0.1:1", "--data-dir", ".", "list", "--tenant", "acme"]],
  ["keys", ["nonsense"]],
  ["import", []],
  ["import", ["one.jsonl", "--batch", "0"]],
  ["import", ["one.jsonl", "--url", "not a url", "--key", "k"]],
  ["import", ["one.jsonl", "--no-such-flag"]],
  ["import", ["one.jsonl"]],
];

describe("command-line manners", () => {
  it("exits 2 on every usage error, with a message and no stack trace", async () => {
    for (const [tool, args] of usageErrors) {
      const run = await npmRun(tool, args);
      expect({ tool, args, code: run.code }).toEqual({ tool, args, code: 2 });
      expect(run.stderr).not.toMatch(/^\s+at /m);
      expect(run.stderr.trim()).not.toBe("");
    }
  }, 600_000);

  it("exits 0 on --help", async () => {
    for (const tool of ["simulate", "keys", "import"]) {
      const run = await npmRun(tool, ["--help"]);
      expect({ tool, code: run.code }).toEqual({ tool, code: 0 });
      expect(run.stdout).toContain("Usage:");
    }
  }, 120_000);

  it("simulate: caps --workers at the CPU count and writes --out in the caller's folder", async () => {
    const cpus = availableParallelism();
    const run = await npmRun("simulate", ["--loans", "60", "--days", "3", "--workers", "99", "--out", "sim"]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`--workers 99 is more than the ${cpus} CPU(s) here; using ${cpus}`);
    const report = JSON.parse(readFileSync(join(caller, "sim", "report.json"), "utf8"));
    expect(report.run.workers).toBe(cpus);
    expect(existsSync(join(ROOT, "sim"))).toBe(false);
  }, 120_000);

  it("the simulator's default output folder is git-ignored, the simulator's sources are not", async () => {
    const ignored = await new Promise<string>((done) =>
      execFile(
        "git",
        ["check-ignore", "simulation/report.json", "ops/simulation/report.json", "simulator/engine.ts"],
        { cwd: ROOT },
        (_error, stdout) => done(stdout),
      ),
    );
    expect(ignored.trim().split("\n")).toEqual(["simulation/report.json", "ops/simulation/report.json"]);
  });

  it("import: reads the file and writes --report in the caller's folder", async () => {
    const run = await npmRun("import", ["bad.jsonl", "--key", "k", "--report", "summary.json"]);
    expect(run.code).toBe(0);
    const summary = JSON.parse(readFileSync(join(caller, "summary.json"), "utf8"));
    expect(summary).toMatchObject({ file: join(caller, "bad.jsonl"), total: 2, rejected: 2 });
  }, 120_000);

  it("import: an API nothing answers at is named with the cause, exit 2, no stack trace", async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const started = Date.now();
    const run = await npmRun("import", ["one.jsonl", "--url", url, "--key", "k"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`cannot reach the API at ${url}`);
    expect(run.stderr).toContain("ECONNREFUSED");
    expect(run.stderr).not.toMatch(/^\s+at /m);
    expect(run.stdout).toBe("");
    // Given up after a few quick tries, not after the full retry schedule of every batch.
    expect(Date.now() - started).toBeLessThan(30_000);
  }, 120_000);

  it("ends quietly when the reader of its output has gone (| head -1)", async () => {
    const runs = [
      await npmRunIntoClosedPipe("simulate", ["--loans", "20", "--days", "2", "--out", "sim-pipe"]),
      await npmRunIntoClosedPipe("import", ["bad.jsonl", "--key", "k"]),
      await npmRunIntoClosedPipe("keys", ["--help"]),
    ];
    for (const run of runs) {
      expect(run).toEqual({ code: 0, stderr: "" });
    }
    expect(existsSync(join(caller, "sim-pipe", "report.json"))).toBe(true);
  }, 300_000);
});
