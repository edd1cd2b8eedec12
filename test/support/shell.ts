import { spawn } from "node:child_process";

export interface ShellRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command line in bash from `cwd`, as a user types it; answers its exit code and output. */
export function runShell(
  command: string,
  cwd: string,
  env: Record<string, string | undefined> = {},
): Promise<ShellRun> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-c", command], {
      cwd,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** `npm run --silent audit --` from any folder, the package's own script. */
export const auditCommand = (root: string) => `npm --prefix ${JSON.stringify(root)} run --silent audit --`;
