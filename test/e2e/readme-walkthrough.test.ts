import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The README's walkthrough, as a reader runs it: its shell blocks (fenced as `sh walkthrough`) pasted whole into
 * bash in a checkout, against a stack the walkthrough itself starts with `npm start` on a private port (without
 * `--data-dir` a stack keeps its data in a private folder of its own). Each block's output is checked against what
 * the README says it prints.
 */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const README = readFileSync(join(ROOT, "README.md"), "utf8");
const RUN_LIMIT_MS = 170_000;

/** The walkthrough's blocks, in README order. */
function walkthroughBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```sh walkthrough\n([\s\S]*?)^```$/gm)].map((match) => match[1] as string);
}

/**
 * What a test harness needs to stand in for an interactive shell. `npm install` is skipped: this checkout is
 * installed already. An interactive shell puts a background job in a process group of its own (which the
 * walkthrough's stop relies on); a script does not, so `npm start` is given one.
 */
const PRELUDE = `npm() {
  case "$1" in
    install) echo "npm install: already installed" ;;
    start) exec setsid npm "$@" ;;
    *) command npm "$@" ;;
  esac
}
`;

const MARK = "@@walkthrough-block";
const END = "@@walkthrough-end";

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, "close");
  return port;
}

/** The fields of the printed answers the checks read. */
interface Answer {
  loanId?: string;
  status?: string;
  now?: string;
  id?: string;
  version?: number;
  error?: unknown;
  entries?: { type: string }[];
  messages?: { step: string; sentAt: string }[];
  buckets?: unknown[];
}

interface Printed {
  /** A JSON document the block printed, one per line. */
  json: Answer;
  /** The "HTTP <status>" line that followed it, if any. */
  status?: number;
}

/** The JSON lines of a block's output, each with the HTTP status printed after it. */
function printed(output: string): Printed[] {
  const found: Printed[] = [];
  for (const line of output.split("\n")) {
    const status = /^HTTP (\d{3})$/.exec(line);
    const last = found.at(-1);
    if (status && last && last.status === undefined) last.status = Number(status[1]);
    else if (line.startsWith("{") && line.endsWith("}")) found.push({ json: JSON.parse(line) });
  }
  return found;
}

const blocks = walkthroughBlocks(README);
let outputs: string[] = [];
let ended = false;
let stackGroup: number | undefined;
let work: string | undefined;
let scriptDir: string;

function alive(group: number): boolean {
  try {
    process.kill(-group, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether the group is gone once its last exited process has been reaped: a shell that has just ended stays in the
 * group as a zombie until its parent collects it, a moment after the stack itself is down.
 */
async function goneSoon(group: number, withinMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (alive(group)) {
    if (Date.now() > deadline) return false;
    await new Promise((done) => setTimeout(done, 100));
  }
  return true;
}

beforeAll(async () => {
  scriptDir = mkdtempSync(join(tmpdir(), "readme-walkthrough-"));
  const script = join(scriptDir, "walkthrough.sh");
  const body = blocks.map(
    (block, i) =>
      `printf '\\n${MARK} ${i}\\n'\n${block}${i === 0 ? 'printf "\\n@@stack %s %s\\n" "$STACK" "$WORK"\n' : ""}`,
  );
  writeFileSync(script, `${PRELUDE}${body.join("\n")}printf '\\n${END}\\n'\n`);
  const env: Record<string, string | undefined> = { ...process.env, PORT: String(await freePort()) };
  for (const name of Object.keys(env)) if (name.startsWith("DUNNING_")) delete env[name];
  const bash = spawn("bash", [script], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
  bash.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  bash.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const timer = setTimeout(() => process.kill(-(bash.pid as number), "SIGKILL"), RUN_LIMIT_MS);
  await once(bash, "exit");
  clearTimeout(timer);
  const stack = /^@@stack (\d+) (\S+)$/m.exec(output);
  stackGroup = stack ? Number(stack[1]) : undefined;
  work = stack?.[2];
  ended = output.includes(`\n${END}\n`);
  outputs = output.split(new RegExp(`^${MARK} \\d+$`, "m")).slice(1);
}, RUN_LIMIT_MS + 20_000);

afterAll(async () => {
  if (stackGroup && alive(stackGroup)) process.kill(-stackGroup, "SIGINT");
  rmSync(scriptDir, { recursive: true, force: true });
  if (work?.startsWith(tmpdir())) rmSync(work, { recursive: true, force: true });
});

describe("the README walkthrough", () => {
  it("is a handful of blocks that start the stack without a sleep and stop it at the end", () => {
    expect(blocks.length).toBeGreaterThanOrEqual(5);
    expect(blocks[0]).toContain("npm install");
    expect(blocks[0]).toMatch(/until curl -sf "\$API\/health"/);
    expect(blocks.join("\n")).not.toMatch(/^\s*sleep\s+\d+\s*$/m);
    expect(blocks.at(-1)).toContain('kill -INT -- -"$STACK"');
  });

  it("runs to the end in bash, and the stack it started is gone", async () => {
    expect(outputs, outputs.join("\n")).toHaveLength(blocks.length);
    expect(ended, outputs.join("\n")).toBe(true);
    expect(stackGroup).toBeDefined();
    expect(await goneSoon(stackGroup as number)).toBe(true);
  });

  it("waits for /health", () => {
    expect(outputs[0]).toContain('{"status":"ok"}');
  });

  it("subscribes loans, and refuses an amount above the limit", () => {
    const [first, second, tooLarge] = printed(outputs[1] ?? "");
    expect(first?.status).toBe(201);
    expect(first?.json).toMatchObject({
      loanId: "L-1001",
      status: "active",
      nextAction: { at: "2026-01-08T02:00:00Z", step: "pre_due_7" },
    });
    expect([second?.status, second?.json.loanId]).toEqual([201, "L-1002"]);
    expect(tooLarge?.status).toBe(400);
    expect(tooLarge?.json.error).toMatchObject({
      code: "VALIDATION_FAILED",
      details: [{ path: "amountDue.amount" }],
    });
  });

  it("stores the example policy and runs a loan under it", () => {
    const [policy, loan] = printed(outputs[2] ?? "");
    expect(policy?.status).toBe(201);
    expect(policy?.json).toMatchObject({ id: "gentle", version: 1 });
    expect(loan?.status).toBe(201);
    expect(loan?.json).toMatchObject({ loanId: "L-1004", policy: { id: "gentle", version: 1 } });
  });

  it("imports the example portfolios, the second time creating nothing", () => {
    const created = [...(outputs[3] ?? "").matchAll(/"created": (\d+)/g)].map((m) => Number(m[1]));
    const exists = [...(outputs[3] ?? "").matchAll(/"exists": (\d+)/g)].map((m) => Number(m[1]));
    expect(created).toEqual([6, 0, 3]);
    expect(exists).toEqual([0, 6, 0]);
  });

  it("pays one loan and skips to March", () => {
    const [toJanuary, payment, toMarch] = printed(outputs[4] ?? "");
    expect([toJanuary?.status, toJanuary?.json.now]).toEqual([200, "2026-01-20T00:00:00.000Z"]);
    expect([payment?.status, payment?.json.status]).toEqual([200, "paid"]);
    expect([toMarch?.status, toMarch?.json.now]).toEqual([200, "2026-03-01T00:00:00.000Z"]);
  });

  it("shows the unpaid loan with legal, its trail and messages, nothing after the payment, and the aging report", () => {
    const [loan, trail, outbox1001, outbox1002, aging] = printed(outputs[5] ?? "");
    expect([loan?.status, loan?.json.status]).toEqual([200, "legal"]);
    expect(trail?.status).toBe(200);
    expect(trail?.json.entries?.map((e) => e.type)).toContain("handoff_published");
    expect(outbox1001?.json.messages?.map((m) => m.step)).toContain("final_notice_21");
    const sent = outbox1002?.json.messages?.map((m) => m.sentAt) ?? [];
    expect(sent.length).toBeGreaterThan(0);
    for (const at of sent) expect(at < "2026-01-20T00:00:00Z", at).toBe(true);
    expect(aging?.status).toBe(200);
    expect(aging?.json.buckets).toHaveLength(5);
  });

  it("simulates the two example policies with the example payment model: no violations", () => {
    const output = outputs[6] ?? "";
    expect(output).toMatch(/^policy-gentle: .*, 0 violations$/m);
    expect(output).toMatch(/^policy-firm: .*, 0 violations$/m);
    const out = /→ (\S+)$/m.exec(output)?.[1] as string;
    expect(existsSync(join(out, "report.json"))).toBe(true);
    expect(existsSync(join(out, "report.svg"))).toBe(true);
  });
});

describe("the README", () => {
  it("links nowhere outside the repository", () => {
    const external = [...README.matchAll(/https?:\/\/[^\s)`'"]+/g)]
      .map((m) => m[0])
      .filter((url) => !/^https?:\/\/(127\.0\.0\.1|localhost)([:/]|$)/.test(url));
    expect(external).toEqual([]);
    for (const [, target] of README.matchAll(/\]\(([^)#\s]+)[^)]*\)/g)) {
      expect(existsSync(join(ROOT, target as string)), target).toBe(true);
    }
    expect(README).not.toMatch(/`\.\.\//);
  });

  it("ships every example file its commands mention", () => {
    const mentioned = new Set([...README.matchAll(/examples\/[\w.-]+/g)].map((m) => m[0]));
    expect(mentioned.size).toBeGreaterThanOrEqual(5);
    for (const path of mentioned) expect(existsSync(join(ROOT, path)), path).toBe(true);
    // An input file a command names lives under examples/.
    const commands = [...README.matchAll(/^```sh[^\n]*\n([\s\S]*?)^```$/gm)].map((m) => m[1]).join("\n");
    const inputs = [
      ...commands.matchAll(/--(?:policy|compare|payments|portfolio) (\S+)/g),
      ...commands.matchAll(/npm run import -- (\S+)/g),
      ...commands.matchAll(/-d @(\S+)/g),
    ].map((m) => m[1] as string);
    expect(inputs.length).toBeGreaterThanOrEqual(5);
    for (const input of inputs) expect(input, input).toMatch(/^examples\//);
  });
});
