import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendToChain, EMPTY_CHAIN } from "../../functions/domain/audit-chain.ts";
import { manifestJson } from "../../functions/formats/audit-export-files.ts";
import type { ScopedAuditEntry } from "../../functions/ports/audit.ts";
import { exportAudit } from "../../functions/usecases/audit-export.ts";
import { auditCommand, runShell, type ShellRun } from "../support/shell.ts";

/**
 * `npm run audit` as a user runs it: paths from the folder they are in, a verdict that a pager or `head` may cut
 * short without a stack trace, usage errors with exit code 2.
 */
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
let dir: string;
let caller: string;

/** Runs a shell command line from `cwd`, with `npm run --silent audit --` spelled `AUDIT`. */
const sh = (command: string, cwd: string, env: Record<string, string | undefined> = {}): Promise<ShellRun> =>
  runShell(command.replaceAll("AUDIT", auditCommand(ROOT)), cwd, env);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "audit-cli-"));
  caller = join(dir, "caller");
  await mkdir(caller);
  // A small export of two loans, and its manifest beside it, in the caller's folder.
  const entries: ScopedAuditEntry[] = [];
  for (const loanId of ["L-1", "L-2"]) {
    const events = [1, 2, 3].map((n) => ({ type: "message_sent", actor: "system:workflow", data: { n } }));
    const chain = appendToChain({ tenantId: "demo", loanId }, EMPTY_CHAIN, events, "2026-01-05T10:00:00Z");
    for (const entry of chain.entries) entries.push({ tenantId: "demo", loanId, ...entry });
  }
  const run = exportAudit(
    {
      reader: {
        entries: async function* () {
          yield* [...entries].sort((a, b) => a.loanId.localeCompare(b.loanId) || a.seq - b.seq);
        },
      },
      clock: { now: () => new Date("2026-01-06T00:00:00Z") },
    },
    { tenantId: "demo", role: "compliance", keyId: "k1" },
    { from: "2026-01-01T00:00:00Z", to: "2026-02-01T00:00:00Z", format: "jsonl" },
  );
  const lines: string[] = [];
  for await (const line of run) lines.push(line);
  await writeFile(join(caller, "small.jsonl"), `${lines.join("\n")}\n`);
  await writeFile(join(caller, "small.jsonl.manifest.json"), manifestJson(run.manifest()));
  // Thousands of broken lines: a verdict far longer than a pipe holds.
  await writeFile(join(caller, "broken.jsonl"), "not an entry\n".repeat(5000));
}, 60_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("npm run audit", () => {
  it("takes relative paths from the folder it is run in", async () => {
    const run = await sh("AUDIT verify small.jsonl", caller);
    expect(run.stderr).toBe("");
    expect(run.stdout).toMatch(/^valid: 6 entries of 2 case\(s\), tenant demo/);
    expect(run.code).toBe(0);
    const named = await sh("AUDIT verify small.jsonl small.jsonl.manifest.json", caller);
    expect(named.code).toBe(0);
  });

  it("ends quietly when its reader goes away (`| head -1`), keeping the verdict's exit code", async () => {
    const run = await sh("set -o pipefail; AUDIT verify broken.jsonl | head -1", caller);
    expect(run.stdout.split("\n")).toHaveLength(2);
    expect(run.stdout).toMatch(/^manifest: MISSING_MANIFEST|^line 1: MALFORMED_LINE/);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(1);
  });

  it("answers usage errors with exit code 2", async () => {
    const missing = await sh("AUDIT verify", caller);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("missing required argument");
    expect((await sh("AUDIT verify small.jsonl --nope", caller)).code).toBe(2);
    const noKey = await sh(
      "AUDIT export --url http://127.0.0.1:9 --from 2026-01-01T00:00:00Z --to 2026-02-01T00:00:00Z --out x.jsonl",
      caller,
      { DUNNING_API_KEY: undefined },
    );
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain("DUNNING_API_KEY");
  });
});
