import { readFileSync, statSync } from "node:fs";
import { chmod, mkdir, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

/**
 * What `npm start -- --data-dir <dir>` keeps in its data folder besides DynamoDB Local's database, hand-off packages
 * and exports — and how the command-line tools find a running stack from that folder.
 */

/** The demo tenant's keys the stack minted, `{ tenant, keys: { <role>: <key> } }`, mode 0600; reused at every start. */
export const KEYS_FILE = "api-keys.json";
/** The key (base64, 32 bytes) lenders' endpoint secrets are sealed with, mode 0600: without it they never open. */
export const WEBHOOK_KEY_FILE = "webhook-secret.key";
/** Written while a stack runs on the folder (removed when it stops): where its database and API are. */
export const STACK_FILE = "local-stack.json";

/** The content of STACK_FILE. */
export interface RunningStack {
  pid: number;
  url: string;
  dynamoEndpoint: string;
  stateTable: string;
  auditTable: string;
}

/** Why no running stack could be found from a data folder; the message says what to do. */
export class NoRunningStackError extends Error {
  override name = "NoRunningStackError";
}

/** The stack running on this data folder, from its STACK_FILE; throws NoRunningStackError when there is none. */
export function readRunningStack(dataDir: string): RunningStack {
  const start = `start it with: npm start -- --data-dir ${dataDir}`;
  if (!isDirectory(dataDir)) throw new NoRunningStackError(`${dataDir} is not a folder`);
  const file = join(dataDir, STACK_FILE);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new NoRunningStackError(
      `no local stack is running on ${dataDir} (no ${STACK_FILE} there); ${start}`,
    );
  }
  let running: RunningStack;
  try {
    running = JSON.parse(text) as RunningStack;
  } catch {
    throw new NoRunningStackError(`${file} is not JSON; ${start}`);
  }
  if (typeof running.dynamoEndpoint !== "string" || typeof running.stateTable !== "string") {
    throw new NoRunningStackError(`${file} lacks the DynamoDB endpoint or the table; ${start}`);
  }
  if (typeof running.pid === "number" && !isAlive(running.pid)) {
    throw new NoRunningStackError(
      `the local stack that ran on ${dataDir} (pid ${running.pid}) has stopped; ${start}`,
    );
  }
  return running;
}

/** Writes a file only its owner can read and write (0600), replacing it in one step. */
export async function writePrivateFile(file: string, content: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, content, { mode: 0o600 });
  await chmod(temporary, 0o600);
  await rename(temporary, file);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
