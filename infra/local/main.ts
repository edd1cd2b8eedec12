/**
 * `npm start`: the whole product on one machine — DynamoDB Local, the real ASL on the local engine with
 * in-process Lambda handlers, the outbox and the virtual clock, behind the HTTP API.
 */
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { ROLES } from "../../functions/ports.ts";
import { EXIT_USAGE, fromCaller } from "../../tools/cli-io.ts";

// Set before the handlers load: their logger reads its level once, at start. Step logs are JSON on stdout.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
process.env.POWERTOOLS_LOG_LEVEL ??= "WARN";
// Metrics are CloudWatch's business (embedded metric format in the logs); on one machine they would be noise.
process.env.POWERTOOLS_METRICS_DISABLED ??= "true";
const { DEMO_TENANT, KEY_ENV, startLocalStack } = await import("./stack.ts");

function instant(value: string): Date {
  const date = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(date.getTime())) {
    throw new InvalidArgumentError("expected an ISO 8601 timestamp such as 2026-01-05T00:00:00Z");
  }
  return date;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError("expected a port number");
  return n;
}

/** A path as one shell word, quoted only when it needs to be. */
function shellWord(path: string): string {
  return /^[\w@%+=:,./-]+$/.test(path) ? path : `'${path.replaceAll("'", `'\\''`)}'`;
}

const program = new Command()
  .name("npm start --")
  .description("Run the loan dunning product on this machine.")
  .option("--clock <instant>", "start the virtual clock at this instant (default: now)", instant)
  .option("--frozen", "move the clock only through POST /local/clock/advance", false)
  .option("--port <port>", "HTTP port (default: $PORT or 3000)", port)
  .option(
    "--data-dir <dir>",
    "keep DynamoDB Local's data, the demo API keys, hand-off packages and exports in this folder (default: in memory)",
    fromCaller,
  )
  .exitOverride();
try {
  program.parse();
} catch (error) {
  // Commander has printed the usage error (or the help); a usage error exits 2.
  process.exit(error instanceof CommanderError && error.exitCode === 0 ? 0 : EXIT_USAGE);
}

const options = program.opts<{ clock?: Date; frozen: boolean; port?: number; dataDir?: string }>();

const keys = Object.fromEntries(
  ROLES.flatMap((role) => {
    const value = process.env[KEY_ENV[role]];
    return value ? [[role, value]] : [];
  }),
);

let httpPort = 3000;
try {
  httpPort = options.port ?? (process.env.PORT ? port(process.env.PORT) : 3000);
} catch (error) {
  process.stderr.write(`npm start: PORT=${process.env.PORT}: ${(error as Error).message}\n`);
  process.exit(EXIT_USAGE);
}
const stack = await startLocalStack({
  ...(options.clock ? { clockStart: options.clock } : {}),
  frozen: options.frozen,
  port: httpPort,
  ...(options.dataDir ? { dataDir: options.dataDir } : {}),
  keys,
  // Without its store the stack can only answer errors: say so and end, so a supervisor notices.
  onStoreLost: (reason) => {
    process.stderr.write(`npm start: ${reason}; stopping\n`);
    void stack.stop().finally(() => process.exit(1));
  },
}).catch((error: NodeJS.ErrnoException) => {
  // Everything started so far has been stopped; say what went wrong without a stack trace.
  const reason =
    error.code === "EADDRINUSE"
      ? `port ${httpPort} is already in use: pass --port <n> (or set PORT), or stop what is using it`
      : error.message;
  process.stderr.write(`npm start: ${reason}\n`);
  process.exit(1);
});

const lines = [
  `loan dunning listening on ${stack.url}`,
  `DynamoDB ${stack.dynamoEndpoint}${stack.dynamoLoopbackOnly ? " (127.0.0.1 only)" : ""}`,
  ...(stack.dynamoWarning ? [`warning: ${stack.dynamoWarning}`] : []),
  ...(stack.resumed > 0
    ? [`resumed the workflow of ${stack.resumed} open case(s) from ${options.dataDir}`]
    : []),
  `clock ${stack.clock.now().toISOString()} (${stack.clock.frozen ? "frozen: advance with POST /local/clock/advance" : "running"})`,
  `API keys for tenant "${DEMO_TENANT}"${stack.keysFile ? ` (kept in ${stack.keysFile}, the same at every start)` : ""}:`,
  ...ROLES.map(
    (role) =>
      // A key given in the environment is the caller's secret already: name where it came from, never echo it.
      `  ${role.padEnd(10)} ${process.env[KEY_ENV[role]] ? `(from ${KEY_ENV[role]})` : stack.keys[role]}`,
  ),
  ...(options.dataDir
    ? [`manage keys: npm run keys -- --data-dir ${shellWord(options.dataDir)} list --tenant ${DEMO_TENANT}`]
    : []),
  `legal hand-off packages are written to ${stack.handoffDir}`,
  "Ctrl-C stops everything.",
];
process.stdout.write(`${lines.join("\n")}\n`);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    void stack.stop().then(() => process.exit(0));
  });
}
