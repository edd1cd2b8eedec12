/**
 * Manners shared by the command-line tools (`npm start`, `npm run keys|simulate|import|audit`):
 *
 * - exit code 2 on every usage error (unknown option, bad value, missing argument), 0 for `--help`;
 * - relative paths resolve from the folder the user ran npm in, not from the package root npm runs scripts in;
 * - a reader that goes away (`… | head -1`) ends the tool quietly instead of with an EPIPE stack trace.
 *
 *   const program = new Command().name("npm run tool --") …;
 *   await runCli(program, { name: "tool", exitCodeOf: (error) => (error instanceof NotFound ? 1 : 2) });
 */
import { dirname, resolve } from "node:path";
import { type Command, CommanderError } from "commander";

/** A usage or input error: the command cannot do what it was asked as asked. */
export const EXIT_USAGE = 2;

/** A mistake in how the tool was called, found after parsing (a missing key, a folder with no stack, …). */
export class UsageError extends Error {
  override name = "UsageError";
}

/**
 * The folder the user called the tool from. npm runs scripts from the package root and names the caller's folder in
 * `INIT_CWD`; run any other way (tsx directly), the tool's own working directory is the caller's.
 */
export function callerDir(): string {
  const initCwd = process.env.INIT_CWD;
  const packageJson = process.env.npm_package_json;
  if (initCwd && packageJson && resolve(dirname(packageJson)) === resolve(process.cwd())) return initCwd;
  return process.cwd();
}

/** A path as the user typed it, resolved from the folder they called the tool from. */
export function fromCaller(path: string): string {
  return resolve(callerDir(), path);
}

let pipesWatched = false;

/**
 * When whoever reads stdout or stderr goes away (`| head -1`), end at once and quietly: the reader has what it
 * wanted. The exit code is the one already set (0 when none), as a tool that had finished writing would give.
 */
export function endQuietlyOnClosedPipe(): void {
  if (pipesWatched) return;
  pipesWatched = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EPIPE" || error.code === "ERR_STREAM_DESTROYED") {
        process.exit(typeof process.exitCode === "number" ? process.exitCode : 0);
      }
      // Anything else is not ours to hide.
      process.nextTick(() => {
        throw error;
      });
    });
  }
}

/** Makes commander throw instead of exiting (with 1) on a usage error, for this command and its subcommands. */
function throwOnUsageErrors(command: Command): void {
  command.exitOverride();
  for (const sub of command.commands) throwOnUsageErrors(sub);
}

export interface RunCliOptions {
  /** Prefixes error messages: `<name>: <message>`. */
  name: string;
  /** The exit code for an error thrown while running (default 2); usage errors always exit 2. */
  exitCodeOf?: (error: unknown) => number;
  /** The arguments (default: process.argv). */
  argv?: string[];
}

/**
 * Parses the command line and runs the command with the manners above. Commander has already printed its own
 * usage errors (and the help) when it throws; other errors are printed here as one line, without a stack trace.
 */
export async function runCli(program: Command, options: RunCliOptions): Promise<void> {
  endQuietlyOnClosedPipe();
  throwOnUsageErrors(program);
  try {
    await program.parseAsync(options.argv ?? process.argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? 0 : EXIT_USAGE;
      return;
    }
    process.stderr.write(`${options.name}: ${describeError(error)}\n`);
    process.exitCode = error instanceof UsageError ? EXIT_USAGE : (options.exitCodeOf?.(error) ?? EXIT_USAGE);
  }
}

/** An error's message, followed by its causes' (`fetch failed: connect ECONNREFUSED 127.0.0.1:3000`). */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    const message = current instanceof Error ? current.message : String(current);
    if (message && !parts.some((part) => part.includes(message))) parts.push(message);
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(": ") || "unknown error";
}
