import { randomBytes } from "node:crypto";
import { paginateScan } from "@aws-sdk/lib-dynamodb";
import { DynamoCaseRepository } from "../functions/adapters/dynamo/case-repository.ts";
import { makeDocumentClient } from "../functions/adapters/dynamo/client.ts";
import type { CaseChange } from "../functions/domain/loan-case.ts";
import { subscribe } from "../functions/domain/loan-case.ts";
import { DEFAULT_POLICY } from "../functions/domain/policy.ts";
import { parkedIfBeyondHorizon } from "../functions/usecases/workflow-start.ts";
import { startLocalStack } from "../infra/local/stack.ts";
import { loanRequest } from "../test/support/fixtures.ts";
import { jsonClient, log, patientClient } from "./http.ts";

/** What applying a policy change in flight to a book of open cases did. */
export interface ApplyRun {
  cases: number;
  /** Open cases that were parked (no execution) when the change came. */
  parked: number;
  seedSeconds: number;
  /** The PUT and every progress GET: the slowest answer (ms), and how many there were. */
  slowestAnswerMs: number;
  answers: number;
  job: { status: string; total: number; moved: number; failed: number };
  /** Virtual seconds from the PUT to the job's end, and the wall-clock seconds it took here. */
  virtualSeconds: number;
  runSeconds: number;
  /** Cases on the new version, and cases whose trail holds exactly one `policy_applied` (none more). */
  onNewVersion: number;
  appliedOnce: number;
  appliedTwice: number;
}

const START = "2026-01-05T00:00:00Z";
const CREATE_BATCH = 25;
/** Virtual time the clock moves beyond the job's own length at its pace. */
const STEP_SECONDS = 60;
/** Real time between two progress reads while the job runs. */
const POLL_MS = 250;

/**
 * `cases` open loans (due dates spread over the next year: most are parked beyond the workflow horizon, the rest
 * hold no execution either, as seeded) stored straight through the case repository, then the default policy's D+3
 * SMS moved to D+5 with `applyTo: "in_flight"` over HTTP on an in-process local stack: how fast every request
 * answers while the job runs, and whether every case ends on the new version exactly once.
 */
export async function measurePolicyApply(dynamoEndpoint: string, cases: number): Promise<ApplyRun> {
  const tablePrefix = `bench-apply-${randomBytes(3).toString("hex")}-`;
  const stack = await startLocalStack({
    clockStart: new Date(START),
    frozen: true,
    port: 0,
    dynamoEndpoint,
    tablePrefix,
  });
  try {
    // The seeding and the final tally read whole tables of a busy DynamoDB Local: a page may take longer than
    // the product's own 5-second request timeout.
    const client = makeDocumentClient({
      endpoint: dynamoEndpoint,
      timeouts: { connectionTimeout: 5_000, requestTimeout: 120_000, maxAttempts: 3 },
    });
    const tables = { stateTable: `${tablePrefix}dunning-state`, auditTable: `${tablePrefix}dunning-audit` };
    const seedStarted = performance.now();
    const parked = await seed(new DynamoCaseRepository(client, tables), cases);
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    log(`policy apply: ${cases} cases seeded in ${seedSeconds.toFixed(0)} s (${parked} parked)`);

    const ops = jsonClient(stack.url, stack.keys.ops);
    const local = patientClient(stack.url);
    // A first call starts the API function's sandbox, as the first request to a cold Lambda would.
    await ops("GET", "/v1/policies/default");
    const runStarted = performance.now();
    const put = await ops("PUT", "/v1/policies/default", {
      steps: DEFAULT_POLICY.steps.map((s) => (s.id === "soft_3" ? { ...s, offsetDays: 5 } : s)),
      handOff: DEFAULT_POLICY.handOff,
      contactWindow: DEFAULT_POLICY.contactWindow,
      applyTo: "in_flight",
    });
    if (put.status !== 202) throw new Error(`PUT answered ${put.status}: ${JSON.stringify(put.body)}`);
    const jobUrl = `/v1/policies/default/applications/${put.body.job.id}`;
    let slowest = put.ms;
    let answers = 1;
    let job = put.body.job;
    let virtualSeconds = 0;
    // The clock runs the job while progress is read, as a lender's client would poll a running deployment.
    const span = Math.ceil(cases / 50) + STEP_SECONDS;
    while (job.status === "running") {
      let advancing = true;
      const advance = local("POST", "/local/clock/advance", { by: `PT${span}S` }).finally(() => {
        advancing = false;
      });
      while (advancing) {
        const read = await ops("GET", jobUrl);
        slowest = Math.max(slowest, read.ms);
        answers++;
        job = read.body;
        if (answers % 20 === 0) log(`policy apply: ${job.moved}/${cases} moved`);
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
      await advance;
      virtualSeconds += span;
      const read = await ops("GET", jobUrl);
      slowest = Math.max(slowest, read.ms);
      answers++;
      job = read.body;
    }
    const runSeconds = (performance.now() - runStarted) / 1000;
    return {
      cases,
      parked,
      seedSeconds,
      slowestAnswerMs: slowest,
      answers,
      job: { status: job.status, total: job.total, moved: job.moved, failed: job.failed },
      virtualSeconds,
      runSeconds,
      ...(await tally(client, tables)),
    };
  } finally {
    await stack.stop();
  }
}

/** Stores `count` subscribed cases on the default policy v1, due over the next year; returns how many park. */
async function seed(cases: DynamoCaseRepository, count: number): Promise<number> {
  const now = new Date(START);
  let parked = 0;
  for (let first = 0; first < count; first += CREATE_BATCH) {
    const changes: CaseChange[] = [];
    for (let i = first; i < Math.min(count, first + CREATE_BATCH); i++) {
      const due = new Date(now.getTime() + (2 + Math.floor((i / count) * 365)) * 86_400_000);
      const request = loanRequest(`APPLY-${String(i).padStart(6, "0")}`, {
        dueDate: due.toISOString().slice(0, 10),
      });
      const change = subscribe("demo", request as never, DEFAULT_POLICY, "bench", "lender:bench", now);
      const next = parkedIfBeyondHorizon(change.next, now, 30);
      if (next.parked) parked++;
      changes.push({ ...change, next });
    }
    const outcomes = await cases.createMany(changes, START);
    if (outcomes.some((o) => o.created !== true)) throw new Error("a seeded case was not created");
  }
  return parked;
}

/** Counts, over every stored case and audit entry, the cases on version 2 and the `policy_applied` per loan. */
/** Items a tally Scan page evaluates: DynamoDB Local fails whole-megabyte pages of a table this large. */
const SCAN_PAGE = 2_000;

async function tally(
  client: ReturnType<typeof makeDocumentClient>,
  tables: { stateTable: string; auditTable: string },
): Promise<Pick<ApplyRun, "onNewVersion" | "appliedOnce" | "appliedTwice">> {
  let onNewVersion = 0;
  for await (const page of paginateScan(
    { client },
    {
      TableName: tables.stateTable,
      FilterExpression: "sk = :case AND #policy.#version = :two",
      ExpressionAttributeNames: { "#policy": "policy", "#version": "version" },
      ExpressionAttributeValues: { ":case": "CASE", ":two": 2 },
      Select: "COUNT",
      Limit: SCAN_PAGE,
    },
  )) {
    onNewVersion += page.Count ?? 0;
  }
  const applied = new Map<string, number>();
  for await (const page of paginateScan(
    { client },
    {
      TableName: tables.auditTable,
      FilterExpression: "#type = :applied",
      ExpressionAttributeNames: { "#type": "type", "#pk": "pk" },
      ExpressionAttributeValues: { ":applied": "policy_applied" },
      ProjectionExpression: "#pk",
      Limit: SCAN_PAGE,
    },
  )) {
    for (const item of page.Items ?? []) {
      const pk = String(item.pk);
      applied.set(pk, (applied.get(pk) ?? 0) + 1);
    }
  }
  const counts = [...applied.values()];
  return {
    onNewVersion,
    appliedOnce: counts.filter((n) => n === 1).length,
    appliedTwice: counts.filter((n) => n > 1).length,
  };
}
