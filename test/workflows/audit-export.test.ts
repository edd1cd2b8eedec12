import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { DynamoApiKeyStore } from "../../functions/adapters/dynamo/api-key-store.ts";
import { makeDocumentClient } from "../../functions/adapters/dynamo/client.ts";
import type { ExportProblem } from "../../functions/formats/export-verify/problems.ts";
import { type LocalStack, startLocalStack } from "../../infra/local/stack.ts";
import {
  downloadExport,
  type ExportAnswer,
  manifestPathOf,
  requestExport,
  verifyFile,
} from "../../tools/audit-files.ts";
import { auditCommand, runShell } from "../support/shell.ts";
import { apiClient, loanRequest } from "./client.ts";

/**
 * The compliance export end to end on the local stack: 1,000 loans subscribed and reminded, exported through the
 * API as the compliance role, downloaded with its manifest from the returned URLs, verified with the CLI's modules;
 * then tampered with in each way verify must catch, and the CLI as a user runs it.
 */
const LOANS = 1000;
/**
 * Borrowers in four zones, so the reminders go out in four bursts of 250 rather than one of 1,000: what is
 * tested here is the export, and one burst of a thousand sends is more than DynamoDB Local on two shared cores
 * answers within the functions' timeouts.
 */
const ZONES = ["Asia/Tokyo", "Asia/Shanghai", "Asia/Kolkata", "Europe/London"];
const spreadLoan = (loanId: string) => {
  const request = loanRequest(loanId);
  const zone = ZONES[Number(loanId.slice(-1)) % ZONES.length] as string;
  return { ...request, borrower: { ...request.borrower, timeZone: zone } };
};
const BATCH = 20;
const suffix = randomBytes(4).toString("hex");
const OTHER = `acme-${suffix}`;
const OTHER_MARK = `other-${suffix}`;
const ROOT = new URL("../..", import.meta.url).pathname;

let stack: LocalStack;
let dir: string;
let otherCompliance: string;
const range = { from: "2026-01-01T00:00:00Z", to: "2026-02-01T00:00:00Z" };

beforeAll(async () => {
  const endpoint = inject("dynamoEndpoint");
  const prefix = `ax-${suffix}-`;
  stack = await startLocalStack({
    clockStart: new Date("2026-01-05T00:00:00Z"),
    frozen: true,
    port: 0,
    dynamoEndpoint: endpoint,
    tablePrefix: prefix,
  });
  dir = await mkdtemp(join(tmpdir(), "audit-export-"));
  const store = new DynamoApiKeyStore(makeDocumentClient({ endpoint }), {
    stateTable: `${prefix}dunning-state`,
  });
  const otherLender = `dk_${OTHER}_lender_${randomBytes(12).toString("hex")}`;
  otherCompliance = `dk_${OTHER}_compliance_${randomBytes(12).toString("hex")}`;
  await store.put(otherLender, { tenantId: OTHER, role: "lender" });
  await store.put(otherCompliance, { tenantId: OTHER, role: "compliance" });
  const other = apiClient(stack.url, otherLender);
  for (const n of [1, 2, 3]) {
    const body = loanRequest(`${OTHER_MARK}-${n}`, {
      borrower: { ...loanRequest("x").borrower, email: `${OTHER_MARK}@example.com` },
    });
    expect((await other.post("/v1/loans", body)).status).toBe(201);
  }
  // The same loan id in both tenants: each export holds only its own tenant's chain.
  expect((await other.post("/v1/loans", loanRequest("ax-00001"))).status).toBe(201);

  const lender = apiClient(stack.url, stack.keys.lender);
  const started = Date.now();
  for (let first = 1; first <= LOANS; first += BATCH) {
    const ids = Array.from(
      { length: Math.min(BATCH, LOANS - first + 1) },
      (_, i) => `ax-${String(first + i).padStart(5, "0")}`,
    );
    const answers = await Promise.all(ids.map((id) => lender.post("/v1/loans", spreadLoan(id))));
    for (const answer of answers) expect(answer.status).toBe(201);
  }
  const subscribed = Date.now();
  // D-7 (email) is 10:00 local on 2026-01-08 for every loan, in four zones (01:00Z to 10:00Z): 1,000 messages.
  expect(
    (await apiClient(stack.url).post("/local/clock/advance", { to: "2026-01-09T00:00:00Z" })).status,
  ).toBe(200);
  console.log(
    `audit export setup: ${LOANS} loans subscribed in ${subscribed - started} ms, clock advanced in ${Date.now() - subscribed} ms`,
  );
}, 600_000);

afterAll(async () => {
  await stack?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function exportTo(
  file: string,
  options: { key?: string; loanId?: string; format?: "jsonl" | "csv" } = {},
) {
  const started = Date.now();
  const answer = await requestExport({
    baseUrl: stack.url,
    key: options.key ?? stack.keys.compliance,
    ...range,
    ...(options.loanId ? { loanId: options.loanId } : {}),
    ...(options.format ? { format: options.format } : {}),
  });
  const exported = Date.now();
  const { bytes } = await downloadExport(answer, file);
  return { answer, bytes, exportMs: exported - started, downloadMs: Date.now() - exported };
}

const lines = async (file: string) => (await readFile(file, "utf8")).split("\n").slice(0, -1);
/** Writes `content` as an export, the manifest of `of` beside it, and verifies it. */
async function verifyLines(name: string, content: string[], of = join(dir, "full.jsonl")) {
  const file = join(dir, name);
  await writeFile(file, `${content.join("\n")}\n`);
  await copyFile(manifestPathOf(of), manifestPathOf(file));
  return { file, verdict: await verifyFile(file) };
}
const run = runShell;
const AUDIT = auditCommand(ROOT);
const entryOf = (line: string) => JSON.parse(line) as { loanId: string; seq: number; tenantId: string };
const names = (problems: ExportProblem[], line: number, entry: { loanId: string; seq: number }) =>
  problems.some((p) => p.line === line && p.loanId === entry.loanId && p.seq === entry.seq);

describe("compliance audit export", () => {
  let full: string;
  let answer: ExportAnswer;

  it("exports every entry of the tenant's 1,000 loans, downloadable from the returned URL, and it verifies", async () => {
    full = join(dir, "full.jsonl");
    const run = await exportTo(full);
    answer = run.answer;
    expect(answer.url).toMatch(new RegExp(`^${stack.url}/local/exports/[0-9a-f]{32}-audit-`));
    expect(answer.manifestUrl).toBe(`${answer.url}.manifest.json`);
    // The links' expiry on the business clock, in whole seconds: 15 minutes after the frozen clock.
    expect(answer.expiresAt).toBe("2026-01-09T00:15:00Z");
    expect(run.bytes).toBe(answer.bytes);
    const { manifest } = answer;
    expect(manifest).toMatchObject({ tenantId: "demo", format: "jsonl", from: range.from, to: range.to });
    expect(manifest.cases).toHaveLength(LOANS);
    expect(JSON.parse(await readFile(manifestPathOf(full), "utf8"))).toEqual(manifest);
    expect(manifest.entryCount).toBeGreaterThanOrEqual(LOANS * 3);

    const started = Date.now();
    const verdict = await verifyFile(full);
    console.log(
      `audit export: ${manifest.entryCount} entries, ${manifest.cases.length} cases, ${answer.bytes} bytes; ` +
        `export ${run.exportMs} ms, download ${run.downloadMs} ms, verify ${Date.now() - started} ms`,
    );
    expect(verdict.problems).toEqual([]);
    expect(verdict.valid).toBe(true);
    expect(verdict.manifest).toEqual(manifest);

    const text = await readFile(full, "utf8");
    expect(text).not.toContain(OTHER_MARK);
    expect(text).not.toContain(OTHER);
    expect(text).not.toContain("li.wei@example.com");
    expect(text).not.toContain("+8613800138000");
    const content = await lines(full);
    // Entries only: the manifest is the file beside.
    expect(content).toHaveLength(manifest.entryCount);
    const sent = content.map((l) => JSON.parse(l)).filter((e) => e.type === "message_sent");
    expect(sent).toHaveLength(LOANS);
    for (const entry of sent) expect(entry.data.to).toBe("l***@example.com");
    expect(new Set(content.map((l) => entryOf(l).tenantId))).toEqual(new Set(["demo"]));
  });

  it("names the entry when a byte is flipped, an entry deleted, two swapped or one inserted", async () => {
    const content = await lines(full);
    const at = 1234;
    const target = entryOf(content[at] as string);

    const flipped = [...content];
    flipped[at] = (content[at] as string).replace('"actor":"', '"actor":"X');
    const flip = (await verifyLines("flipped.jsonl", flipped)).verdict;
    expect(flip.valid).toBe(false);
    expect(names(flip.problems, at + 1, target)).toBe(true);

    // Delete an entry in the middle of its case's chain.
    const deletable = content.findIndex((line, i) => {
      const e = entryOf(line);
      return i > 100 && e.seq > 1 && content.slice(i + 1, -1).some((l) => entryOf(l).loanId === e.loanId);
    });
    const removed = entryOf(content[deletable] as string);
    const del = (
      await verifyLines(
        "deleted.jsonl",
        content.filter((_, i) => i !== deletable),
      )
    ).verdict;
    expect(del.problems).toContainEqual(
      expect.objectContaining({ code: "SEQ_BREAK", loanId: removed.loanId, seq: removed.seq + 1 }),
    );

    const swapped = [...content];
    [swapped[at], swapped[at + 1]] = [content[at + 1] as string, content[at] as string];
    const swap = (await verifyLines("swapped.jsonl", swapped)).verdict;
    expect(swap.valid).toBe(false);
    expect(names(swap.problems, at + 2, target)).toBe(true);

    const inserted = [...content.slice(0, at), content[at + 5] as string, ...content.slice(at)];
    const insert = (await verifyLines("inserted.jsonl", inserted)).verdict;
    expect(insert.valid).toBe(false);
    expect(names(insert.problems, at + 1, entryOf(content[at + 5] as string))).toBe(true);

    const truncated = (await verifyLines("truncated.jsonl", content.slice(0, -10))).verdict;
    expect(truncated.problems.map((p) => p.code)).toEqual(
      expect.arrayContaining(["DIGEST_MISMATCH", "COUNT_MISMATCH"]),
    );
  });

  it("answers exit code 1 and one line per problem from `npm run audit -- verify`", async () => {
    const content = await lines(full);
    const target = entryOf(content[42] as string);
    const tampered = [...content];
    tampered[42] = (content[42] as string).replace('"type":"', '"type":"x');
    const { file } = await verifyLines("cli.jsonl", tampered);
    const verified = await run(`${AUDIT} verify ${JSON.stringify(file)}`, ROOT);
    expect(verified.code).toBe(1);
    expect(verified.stdout).toContain(`line 43: loan ${target.loanId}: seq ${target.seq}: `);
  });

  it("exports one loan, and CSV, each verifying", async () => {
    const one = join(dir, "one.jsonl");
    const { answer: single } = await exportTo(one, { loanId: "ax-00007" });
    expect(single.manifest.loanId).toBe("ax-00007");
    expect(single.manifest.cases.map((c) => c.loanId)).toEqual(["ax-00007"]);
    expect(single.manifest.cases[0]?.firstSeq).toBe(1);
    expect((await verifyFile(one)).valid).toBe(true);

    const csv = join(dir, "full.csv");
    const { answer: csvAnswer } = await exportTo(csv, { format: "csv" });
    expect(csvAnswer.manifest.entryCount).toBe(answer.manifest.entryCount);
    const verdict = await verifyFile(csv);
    expect(verdict.problems).toEqual([]);
    expect(verdict.format).toBe("csv");
  });

  it("writes CSV rows only, which Python's csv and sqlite3 load; verify finds a changed row with the manifest beside", async () => {
    const csv = join(dir, "full.csv");
    const { answer: csvAnswer } = await exportTo(csv, { format: "csv" });
    const { entryCount } = csvAnswer.manifest;
    expect(csvAnswer.manifestUrl).toBe(`${csvAnswer.url}.manifest.json`);
    expect(JSON.parse(await readFile(manifestPathOf(csv), "utf8"))).toEqual(csvAnswer.manifest);

    // RFC 4180 as Python reads it (strict quoting): the header and one nine-field record per entry.
    const python = spawnSync(
      "python3",
      [
        "-c",
        [
          "import csv, json, sys",
          "rows = list(csv.reader(open(sys.argv[1], newline='', encoding='utf-8'), strict=True))",
          "print(json.dumps({'rows': len(rows), 'widths': sorted({len(r) for r in rows}), 'header': rows[0]}))",
        ].join("\n"),
        csv,
      ],
      { encoding: "utf8" },
    );
    expect(python.stderr).toBe("");
    expect(JSON.parse(python.stdout)).toEqual({
      rows: entryCount + 1,
      widths: [9],
      header: ["tenantId", "loanId", "seq", "at", "type", "actor", "data", "prevHash", "hash"],
    });
    // sqlite3 imports it as a table: the header names the columns, every entry is a row.
    if (spawnSync("sqlite3", ["-version"]).status === 0) {
      const sqlite = spawnSync(
        "sqlite3",
        [
          ":memory:",
          "-cmd",
          `.import --csv ${csv} audit`,
          "SELECT count(*), sum(json_valid(data)), count(DISTINCT loanId) FROM audit;",
        ],
        { encoding: "utf8" },
      );
      expect(sqlite.stderr).toBe("");
      expect(sqlite.stdout.trim()).toBe(`${entryCount}|${entryCount}|${LOANS}`);
    }

    // One row changed: verify, reading the manifest beside the file, names it.
    const content = await lines(csv);
    const at = 500;
    const [, loanId, seq, , type] = (content[at] as string).split(",");
    const changed = [...content];
    changed[at] = (content[at] as string).replace(`,${type},`, `,${type}x,`);
    expect(changed[at]).not.toBe(content[at]);
    const { file, verdict } = await verifyLines("changed.csv", changed, csv);
    expect(verdict.valid).toBe(false);
    expect(verdict.problems).toContainEqual(
      expect.objectContaining({ line: at + 1, loanId, seq: Number(seq), code: "HASH_MISMATCH" }),
    );
    const cli = await run(`${AUDIT} verify ${JSON.stringify(file)} | head -1`, ROOT);
    expect(cli.stdout).toBe(
      `line ${at + 1}: loan ${loanId}: seq ${seq}: HASH_MISMATCH: the entry's hash does not match its content\n`,
    );
    expect(cli.stderr).toBe("");
  });

  it("`npm run audit -- export` reads the key from DUNNING_API_KEY and writes where the caller is", async () => {
    const caller = join(dir, "caller");
    await mkdir(caller, { recursive: true });
    const exported = await run(
      `${AUDIT} export --url ${stack.url} --from ${range.from} --to ${range.to} --loan ax-00007 --format csv --out ax-00007.csv`,
      caller,
      { DUNNING_API_KEY: stack.keys.compliance },
    );
    expect(exported.stderr).toBe("");
    expect(exported.code).toBe(0);
    expect(exported.stdout).not.toContain(stack.keys.compliance);
    const verified = await run(`${AUDIT} verify ax-00007.csv`, caller);
    expect(verified.stdout).toMatch(/^valid: \d+ entries of 1 case\(s\), tenant demo/);
    expect(verified.code).toBe(0);
    const manifest = JSON.parse(await readFile(join(caller, "ax-00007.csv.manifest.json"), "utf8"));
    expect(manifest).toMatchObject({ loanId: "ax-00007", format: "csv" });
  });

  it("keeps tenants apart: the other tenant's export holds only its own entries", async () => {
    const file = join(dir, "other.jsonl");
    const { answer: theirs } = await exportTo(file, { key: otherCompliance });
    expect(theirs.manifest.tenantId).toBe(OTHER);
    expect(theirs.manifest.cases.map((c) => c.loanId).sort()).toEqual(
      ["ax-00001", `${OTHER_MARK}-1`, `${OTHER_MARK}-2`, `${OTHER_MARK}-3`].sort(),
    );
    expect((await verifyFile(file)).valid).toBe(true);
    const ourHead = answer.manifest.cases.find((c) => c.loanId === "ax-00001")?.headHash;
    expect(await readFile(file, "utf8")).not.toContain(ourHead);
    // Another tenant's loan looks like a loan that does not exist.
    const compliance = apiClient(stack.url, stack.keys.compliance);
    const q = new URLSearchParams({ ...range, loanId: `${OTHER_MARK}-1` });
    const foreign = await compliance.get(`/v1/audit/export?${q}`);
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe("NOT_FOUND");
  });

  it("is for the compliance role only, and refuses a bad query with 400", async () => {
    const q = new URLSearchParams(range);
    for (const role of ["lender", "ops", "legal"] as const) {
      const answer = await apiClient(stack.url, stack.keys[role]).get(`/v1/audit/export?${q}`);
      expect(answer.status, role).toBe(403);
      expect(answer.body.error.code).toBe("FORBIDDEN");
    }
    const compliance = apiClient(stack.url, stack.keys.compliance);
    const queries: Record<string, string>[] = [
      { from: range.to, to: range.from },
      { from: "2025-01-01T00:00:00Z", to: "2026-01-03T00:00:00Z" },
      { from: "yesterday", to: range.to },
      { ...range, format: "xml" },
      { to: range.to },
    ];
    for (const query of queries) {
      const answer = await compliance.get(`/v1/audit/export?${new URLSearchParams(query)}`);
      expect(answer.status, JSON.stringify(query)).toBe(400);
      expect(answer.body.error).toMatchObject({ code: "VALIDATION_FAILED", details: expect.any(Array) });
    }
    const local = apiClient(stack.url);
    for (const path of [
      "/local/exports/..%2F..%2Fetc%2Fpasswd",
      "/local/exports/.hidden",
      "/local/exports/nope.jsonl",
    ]) {
      expect((await local.get(path)).status, path).toBeGreaterThanOrEqual(400);
    }
  });
});
