import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../", import.meta.url));

/** Node with tsx's loader: how the product's TypeScript entry points run without a build. */
export function tsxArgs(script: string, args: string[] = []): string[] {
  return ["--import", "tsx", script, ...args];
}

export const CHILD_ENV = {
  ...process.env,
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  POWERTOOLS_LOG_LEVEL: "ERROR",
};

export interface ChildStack {
  url: string;
  lenderKey: string;
  pid: number;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * `npm start` as a child process (the same entry point), with a known lender key and a frozen clock, so
 * load generators in this process do not share an event loop with the server they measure.
 */
export async function startChildStack(clock = "2026-01-05T00:00:00Z"): Promise<ChildStack> {
  const port = await freePort();
  const lenderKey = `dk_lender_bench_${randomBytes(12).toString("hex")}`;
  const child = spawn(
    process.execPath,
    tsxArgs("infra/local/main.ts", ["--port", String(port), "--frozen", "--clock", clock]),
    {
      cwd: REPO_ROOT,
      env: { ...CHILD_ENV, DUNNING_LENDER_KEY: lenderKey },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`local stack did not start:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`local stack exited (${code}):\n${output}`));
    });
  });
  // Keep draining its output (step logs) so the pipe never fills and stalls it.
  child.stdout?.resume();
  return { url, lenderKey, pid: child.pid as number, stop: () => stopChild(child) };
}

export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/** Peak resident memory of a running process (VmHWM), MB; null once it is gone or off Linux. */
export function peakRssMb(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
    return kb ? Number(kb) / 1024 : null;
  } catch {
    return null;
  }
}

export interface ChildRun {
  code: number | null;
  seconds: number;
  stdout: string;
  stderr: string;
  /** Largest VmHWM seen while it ran (sampled every 100 ms), MB. */
  peakRssMb: number | null;
}

/** Runs a child to its end, sampling its peak memory, with a time limit. */
export function runChild(
  args: string[],
  options: { timeoutMs: number; env?: NodeJS.ProcessEnv },
): Promise<ChildRun> {
  const began = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: options.env ?? CHILD_ENV,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout = (stdout + chunk.toString("utf8")).slice(-20_000);
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString("utf8")).slice(-20_000);
  });
  let peak: number | null = null;
  const sampler = setInterval(() => {
    const now = child.pid ? peakRssMb(child.pid) : null;
    if (now !== null) peak = Math.max(peak ?? 0, now);
  }, 100);
  const killer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs);
  return new Promise((resolve) => {
    // "close": the process has exited and its output is fully read.
    child.once("close", (code) => {
      clearInterval(sampler);
      clearTimeout(killer);
      resolve({ code, seconds: (performance.now() - began) / 1000, stdout, stderr, peakRssMb: peak });
    });
  });
}
