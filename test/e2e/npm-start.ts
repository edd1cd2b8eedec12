import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";

/** `npm start -- <args>` in its own process group, as a user runs it; resolves once it is listening. */
export interface StartedStack {
  child: ChildProcess;
  url: string;
  output: () => string;
  /** Signals the whole process group (npm, Node and Java) and waits for npm to exit. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** The package root. */
export const ROOT = new URL("../..", import.meta.url).pathname;

/**
 * `from`: run npm in this folder, as `npm --prefix <package root> start` (relative paths in `args` are the
 * caller's); default: in the package root.
 */
export async function npmStart(
  args: string[],
  env: Record<string, string> = {},
  from?: string,
): Promise<StartedStack> {
  const prefix = from ? ["--prefix", ROOT] : [];
  const child = spawn("npm", [...prefix, "start", "--silent", "--", ...args], {
    cwd: from ?? ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const deadline = Date.now() + 90_000;
  while (!/listening on (http:\/\/\S+)/.test(output)) {
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`npm start did not come up:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const url = (/listening on (http:\/\/\S+)/.exec(output) as RegExpExecArray)[1] as string;
  return {
    child,
    url,
    output: () => output,
    async kill(signal) {
      if (child.exitCode !== null) return;
      const exited = once(child, "exit");
      process.kill(-(child.pid as number), signal);
      await exited;
    },
  };
}
