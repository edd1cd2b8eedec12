import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type LocalStack, startLocalStack } from "../../infra/local/stack.ts";
import { syntheticPortfolio } from "../../simulator/portfolio.ts";
import { runImport } from "../../tools/import-run.ts";
import { apiClient } from "./client.ts";

/** Portfolio import (tools/import.ts) against the local stack over real HTTP. */
let stack: LocalStack;
let lender: ReturnType<typeof apiClient>;
let dir: string;
const suffix = randomBytes(3).toString("hex");

beforeAll(async () => {
  stack = await startLocalStack({
    clockStart: new Date("2026-01-01T00:00:00Z"),
    frozen: true,
    port: 0,
    dynamoEndpoint: inject("dynamoEndpoint"),
    tablePrefix: `imp-${suffix}-`,
  });
  lender = apiClient(stack.url, stack.keys.lender);
  dir = mkdtempSync(join(tmpdir(), "import-test-"));
});

afterAll(async () => {
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Every loan id of the tenant, through the list route. */
async function storedLoanIds(): Promise<Set<string>> {
  const ids = new Set<string>();
  let cursor: string | null = null;
  do {
    const page: { body: { items: { loanId: string }[]; nextCursor: string | null } } = await lender.get(
      `/v1/loans?limit=100${cursor ? `&cursor=${cursor}` : ""}`,
    );
    for (const item of page.body.items) ids.add(item.loanId);
    cursor = page.body.nextCursor;
  } while (cursor);
  return ids;
}

describe("portfolio import", () => {
  it("imports 500 loans from JSONL, reports bad lines by number, and re-imports nothing new", async () => {
    const prefix = `IMP${suffix}`;
    const loans = [
      ...syntheticPortfolio({
        count: 500,
        seed: 7,
        // Every first reminder within the workflow horizon: each loan starts its execution at once.
        firstDueDate: "2026-01-10",
        dueDays: 20,
        idPrefix: prefix,
      }),
    ];
    const lines = loans.map((loan) => JSON.stringify(loan));
    // Two bad lines (numbers 101 and 252 once inserted) and a blank line, which is skipped.
    lines.splice(100, 0, "{not json");
    lines.splice(251, 0, JSON.stringify({ ...loans[0], loanId: `${prefix}-bad`, dueDate: "20260101" }));
    lines.splice(400, 0, "");
    const file = join(dir, "portfolio.jsonl");
    writeFileSync(file, `${lines.join("\n")}\n`);

    const first = await runImport({
      file,
      url: stack.url,
      key: stack.keys.lender,
      batch: 100,
      concurrency: 2,
    });
    expect(first).toMatchObject({ total: 502, created: 500, exists: 0, rejected: 2, failed: 0 });
    expect(first.problems.map((p) => [p.line, p.code])).toEqual([
      [101, "VALIDATION_FAILED"],
      [252, "VALIDATION_FAILED"],
    ]);
    expect(first.problems[1]?.details).toEqual([
      { path: "dueDate", message: "must be a date as YYYY-MM-DD" },
    ]);
    expect(first.loansPerSecond).toBeGreaterThan(0);

    const stored = await storedLoanIds();
    expect(loans.filter((loan) => !stored.has(loan.loanId))).toEqual([]);
    expect(stored.has(`${prefix}-bad`)).toBe(false);
    const running = stack.engine.allExecutions().filter((e) => e.name.startsWith(`${prefix}-`));
    expect(running).toHaveLength(500);

    // The same file again: the same Idempotency-Keys replay the first answers, which this run did not cause.
    const again = await runImport({ file, url: stack.url, key: stack.keys.lender, batch: 100 });
    expect(again).toMatchObject({ total: 502, created: 0, exists: 500, rejected: 2, failed: 0 });
    // Another batch size means other requests: the API itself answers exists.
    const regrouped = await runImport({
      file,
      url: stack.url,
      key: stack.keys.lender,
      batch: 60,
      rate: 5000,
    });
    expect(regrouped).toMatchObject({ created: 0, exists: 500, rejected: 2, failed: 0 });
    expect(stack.engine.allExecutions().filter((e) => e.name.startsWith(`${prefix}-`))).toHaveLength(500);
  }, 240_000);

  it("imports a CSV through the CLI child process, with quoting, a report file and conflicts", async () => {
    const file = join(dir, "small.csv");
    const id = (n: number) => `CSV${suffix}-${n}`;
    writeFileSync(
      file,
      [
        "loanId,name,email,phone,locale,timeZone,amount,currency,dueDate,policyId",
        `${id(1)},"Wei, Li",li.wei@example.com,+8613800138000,zh-CN,Asia/Shanghai,1250.00,CNY,2026-01-15,default`,
        `${id(2)},"Anna ""Ann"" Smith",,+14155550100,en-US,America/Los_Angeles,99.50,USD,2026-01-20,`,
        `${id(3)},No Contact,,,en-US,Europe/London,10.00,GBP,2026-01-20,default`,
        `${id(4)},"Multi`,
        `Line",m@example.com,,en-US,Europe/Berlin,10.00,EUR,2026-01-21,default`,
        `${id(5)},Too,Few,Fields`,
      ].join("\r\n"),
    );
    const report = join(dir, "report.json");
    const run = () =>
      promisify(execFile)(
        "npx",
        ["tsx", "tools/import.ts", file, "--url", stack.url, "--report", report, "--no-progress"],
        {
          env: { ...process.env, DUNNING_LENDER_KEY: stack.keys.lender },
          cwd: join(import.meta.dirname, "../.."),
        },
      );
    const { stdout } = await run();
    const summary = JSON.parse(readFileSync(report, "utf8"));
    expect(JSON.parse(stdout)).toEqual(summary);
    expect(summary).toMatchObject({ total: 5, created: 2, exists: 0, rejected: 3, failed: 0 });
    expect(summary.problems.map((p: { line: number }) => p.line)).toEqual([4, 5, 7]);
    expect((await lender.get(`/v1/loans/${id(1)}`)).body.borrower.name).toBe("Wei, Li");
    expect((await lender.get(`/v1/loans/${id(2)}`)).body.borrower.name).toBe('Anna "Ann" Smith');
    // The quoted line break is read into the name, which may not hold one: that loan is refused.
    expect(JSON.stringify(summary.problems[1])).toContain("borrower.name");
    expect((await lender.get(`/v1/loans/${id(4)}`)).status).toBe(404);

    // Changed details for a loan already imported: a conflict, reported and nothing changed.
    writeFileSync(
      file,
      `loanId,name,phone,locale,timeZone,amount,currency,dueDate\n${id(1)},Li Wei,+8613800138000,zh-CN,Asia/Shanghai,1.00,CNY,2026-01-15\n`,
    );
    await run();
    const conflict = JSON.parse(readFileSync(report, "utf8"));
    expect(conflict).toMatchObject({ total: 1, created: 0, rejected: 1, conflicts: 1 });
    expect(conflict.problems[0]).toMatchObject({ line: 2, status: "conflict", code: "LOAN_EXISTS" });
  });
});
