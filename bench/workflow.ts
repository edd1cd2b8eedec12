import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { CreateTableCommand, DynamoDBClient, TransactWriteItemsCommand } from "@aws-sdk/client-dynamodb";
import { DateTime } from "luxon";
import { forEachLimited } from "../functions/concurrency.ts";
import { syntheticPortfolio } from "../functions/simulation/portfolio.ts";
import type { ExecutionRecord } from "../infra/local/engine.ts";
import { ASL_PATH, type LocalStack, startLocalStack } from "../infra/local/stack.ts";
import { exampleBorrower, loanRequest } from "../test/support/fixtures.ts";
import { smsParts } from "./cost.ts";
import { dataPlaneCalls, diffSnapshots, type MeterSnapshot, startDynamoMeter } from "./dynamo-meter.ts";
import { type JsonResponse, jsonClient, log } from "./http.ts";

/** The workflow paths measured one loan at a time, in the order they are reported. */
export const PATHS = ["paid_before_due", "paid_in_soft_collection", "promise_kept", "to_legal"] as const;
export type PathName = (typeof PATHS)[number];

export const PATH_TITLES: Record<PathName, string> = {
  paid_before_due: "Paid before due",
  paid_in_soft_collection: "Paid in soft collection",
  promise_kept: "Promise to pay kept",
  to_legal: "To legal",
};

export interface PathResult {
  path: PathName;
  executions: number;
  statuses: string[];
  /** States entered over every execution of the loan (the execution history's StateEntered events). */
  statesEntered: number;
  retries: number;
  /** Billed transitions: states entered plus retries. */
  transitions: number;
  /** Dunning steps: Send and HandOff tasks entered, each one Wait → Task of the policy. */
  steps: number;
  planTasks: number;
  /** Lambda invocations of the workflow, retries included. */
  taskInvocations: number;
  apiCalls: number;
  /** Mean real time of one task handler call, ms (against DynamoDB Local on this machine). */
  taskMsMean: number;
  /** Mean client-side time of one API call through the local HTTP server, ms. */
  apiMsMean: number;
  emails: number;
  sms: number;
  smsParts: number;
  dynamo: { api: MeterSnapshot; workflow: MeterSnapshot };
}

/** The borrower's time zone, in which the scripts count days. */
const ZONE = exampleBorrower().timeZone;
const CNY = (amount: string) => ({ amount, currency: "CNY" });

/** The tests' example loan (CNY 1250.00, its borrower in ZONE), due on `dueDate`. */
const loanBody = (loanId: string, dueDate: string) => loanRequest(loanId, { dueDate });

/** Task state name → which function it calls, read from the ASL itself. */
function taskKinds(): Map<string, "plan" | "step"> {
  const asl = JSON.parse(readFileSync(ASL_PATH, "utf8")) as {
    States: Record<string, { Type: string; Resource?: string }>;
  };
  const kinds = new Map<string, "plan" | "step">();
  for (const [name, state] of Object.entries(asl.States)) {
    if (state.Type !== "Task") continue;
    // The ASL file names its resources by placeholder; the plan task is the one on the plan function.
    kinds.set(name, state.Resource?.includes("PlanFunctionArn") ? "plan" : "step");
  }
  return kinds;
}

interface PathDriver {
  /** An API call, metered as API work. */
  api(method: string, path: string, body?: unknown): Promise<JsonResponse>;
  advanceTo(instant: DateTime): Promise<void>;
  today(): Promise<DateTime>;
}

const at = (date: DateTime, days: number, time: string) => {
  const [hour, minute] = time.split(":").map(Number);
  return date.plus({ days }).set({ hour: hour ?? 0, minute: minute ?? 0 });
};

/** Each path as a lender and borrower would walk it: subscribe, let time pass, pay or promise. */
const SCRIPTS: Record<PathName, (loanId: string, d: PathDriver) => Promise<void>> = {
  async paid_before_due(loanId, d) {
    const due = (await d.today()).plus({ days: 14 });
    await expectStatus(d.api("POST", "/v1/loans", loanBody(loanId, due.toISODate() as string)), 201);
    await d.advanceTo(at(due, -2, "12:00"));
    await expectStatus(
      d.api("POST", `/v1/loans/${loanId}/events`, { type: "payment", amount: CNY("1250.00") }),
      200,
    );
    await d.advanceTo(at(due, 60, "12:00"));
  },
  async paid_in_soft_collection(loanId, d) {
    const due = (await d.today()).plus({ days: 10 });
    await expectStatus(d.api("POST", "/v1/loans", loanBody(loanId, due.toISODate() as string)), 201);
    await d.advanceTo(at(due, 5, "12:00"));
    await expectStatus(
      d.api("POST", `/v1/loans/${loanId}/events`, { type: "payment", amount: CNY("1250.00") }),
      200,
    );
    await d.advanceTo(at(due, 60, "12:00"));
  },
  async promise_kept(loanId, d) {
    const due = (await d.today()).plus({ days: 10 });
    await expectStatus(d.api("POST", "/v1/loans", loanBody(loanId, due.toISODate() as string)), 201);
    await d.advanceTo(at(due, 2, "12:00"));
    await expectStatus(
      d.api("POST", `/v1/loans/${loanId}/events`, {
        type: "promise_to_pay",
        amount: CNY("1250.00"),
        promisedDate: due.plus({ days: 6 }).toISODate(),
      }),
      200,
    );
    await d.advanceTo(at(due, 5, "12:00"));
    await expectStatus(
      d.api("POST", `/v1/loans/${loanId}/events`, { type: "payment", amount: CNY("1250.00") }),
      200,
    );
    await d.advanceTo(at(due, 40, "12:00"));
  },
  async to_legal(loanId, d) {
    const due = (await d.today()).plus({ days: 10 });
    await expectStatus(d.api("POST", "/v1/loans", loanBody(loanId, due.toISODate() as string)), 201);
    await d.advanceTo(at(due, 60, "12:00"));
  },
};

async function expectStatus(response: Promise<JsonResponse>, status: number): Promise<JsonResponse> {
  const res = await response;
  if (res.status !== status) {
    throw new Error(`expected HTTP ${status}, got ${res.status}: ${JSON.stringify(res.body)}`);
  }
  return res;
}

const executionsOf = (stack: LocalStack, loanId: string): ExecutionRecord[] =>
  stack.engine.allExecutions().filter((e) => (e.input as { loanId?: string }).loanId === loanId);

/**
 * Section 1: each path for one loan, through the HTTP API of an in-process stack whose DynamoDB traffic
 * goes through the metering proxy. Paths run one after another on a frozen clock, so every count belongs
 * to the loan being measured.
 */
export async function measurePaths(dynamoEndpoint: string): Promise<PathResult[]> {
  const meter = await startDynamoMeter(dynamoEndpoint);
  const stack = await startLocalStack({
    clockStart: new Date("2026-01-05T00:00:00Z"),
    frozen: true,
    port: 0,
    dynamoEndpoint: meter.endpoint,
    tablePrefix: `bench-paths-${randomBytes(3).toString("hex")}-`,
  });
  try {
    const run: PathRun = {
      meter,
      stack,
      kinds: taskKinds(),
      lender: jsonClient(stack.url, stack.keys.lender),
      local: jsonClient(stack.url),
    };
    await warmUp(run);
    const results: PathResult[] = [];
    for (const path of PATHS) results.push(await measurePath(path, run));
    return results;
  } finally {
    await stack.stop();
    await meter.close();
  }
}

interface PathRun {
  meter: Awaited<ReturnType<typeof startDynamoMeter>>;
  stack: LocalStack;
  kinds: ReturnType<typeof taskKinds>;
  lender: ReturnType<typeof jsonClient>;
  local: ReturnType<typeof jsonClient>;
}

/**
 * One unmeasured loan first: policy versions are cached per process and the code paths get compiled, so each
 * measured loan shows the steady state a warm Lambda fleet sees, not this process's first calls.
 */
async function warmUp({ lender, local, stack }: PathRun): Promise<void> {
  const warm = `bench-warmup-${randomBytes(3).toString("hex")}`;
  await expectStatus(lender("POST", "/v1/loans", loanBody(warm, "2026-01-10")), 201);
  await expectStatus(local("POST", "/local/clock/advance", { to: "2026-01-14T00:00:00Z" }), 200);
  // Paid off, so its execution ends and none of its steps runs while a measured loan is being counted.
  await expectStatus(
    lender("POST", `/v1/loans/${warm}/events`, { type: "payment", amount: CNY("1250.00") }),
    200,
  );
  await stack.engine.settle();
}

/** One path for one fresh loan: its states, steps, invocations, messages and DynamoDB calls (API apart). */
async function measurePath(path: PathName, run: PathRun): Promise<PathResult> {
  const { meter, stack, kinds, lender, local } = run;
  const loanId = `bench-${path}-${randomBytes(3).toString("hex")}`;
  let apiUsage = diffSnapshots(meter.snapshot(), meter.snapshot());
  const apiMs: number[] = [];
  const driver: PathDriver = {
    async api(method, route, body) {
      const before = meter.snapshot();
      const res = await lender(method, route, body);
      apiMs.push(res.ms);
      apiUsage = addSnapshots(apiUsage, diffSnapshots(meter.snapshot(), before));
      return res;
    },
    async advanceTo(instant) {
      await expectStatus(local("POST", "/local/clock/advance", { to: instant.toUTC().toISO() }), 200);
    },
    async today() {
      const now = (await local("GET", "/local/clock")).body.now as string;
      return DateTime.fromISO(now).setZone(ZONE).startOf("day");
    },
  };
  const start = meter.snapshot();
  const statsBefore = { ...stack.engine.stats };
  await SCRIPTS[path](loanId, driver);
  await stack.engine.settle();
  const total = diffSnapshots(meter.snapshot(), start);
  const executions = executionsOf(stack, loanId);
  const entered = executions.flatMap((e) => e.states);
  const steps = entered.filter((s) => kinds.get(s) === "step").length;
  const taskCalls = stack.engine.stats.taskCalls - statsBefore.taskCalls;
  const messages = stack.outbox.list({ loanId });
  const sms = messages.filter((m) => m.channel === "sms");
  const retries = executions.reduce((sum, e) => sum + e.retries, 0);
  log(`paths: ${path} — ${entered.length} states, ${steps} steps, ${dataPlaneCalls(total)} DynamoDB calls`);
  return {
    path,
    executions: executions.length,
    statuses: executions.map((e) => e.status),
    statesEntered: entered.length,
    retries,
    transitions: entered.length + retries,
    steps,
    planTasks: entered.filter((s) => kinds.get(s) === "plan").length,
    taskInvocations: executions.reduce((sum, e) => sum + e.taskCalls, 0),
    apiCalls: apiMs.length,
    taskMsMean: taskCalls > 0 ? (stack.engine.stats.taskMs - statsBefore.taskMs) / taskCalls : 0,
    apiMsMean: apiMs.reduce((a, b) => a + b, 0) / Math.max(1, apiMs.length),
    emails: messages.filter((m) => m.channel === "email").length,
    sms: sms.length,
    smsParts: sms.reduce((sum, m) => sum + smsParts(m.body), 0),
    dynamo: { api: apiUsage, workflow: diffSnapshots(total, apiUsage) },
  };
}

function addSnapshots(a: MeterSnapshot, b: MeterSnapshot): MeterSnapshot {
  const calls = { ...a.calls };
  for (const [op, n] of Object.entries(b.calls)) calls[op] = (calls[op] ?? 0) + n;
  return {
    calls,
    writeUnits: a.writeUnits + b.writeUnits,
    readUnits: a.readUnits + b.readUnits,
    failedCalls: a.failedCalls + b.failedCalls,
  };
}

export interface RawThroughput {
  transactionsPerSecond: number;
  transactions: number;
  seconds: number;
  concurrency: number;
  errors: number;
}

/** Two-item TransactWriteItems against DynamoDB Local, `concurrency` in flight, for `seconds`. */
export async function rawDynamoThroughput(
  endpoint: string,
  seconds: number,
  concurrency: number,
): Promise<RawThroughput> {
  const client = new DynamoDBClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  const table = `bench-raw-${randomBytes(3).toString("hex")}`;
  await client.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [
        { AttributeName: "pk", AttributeType: "S" },
        { AttributeName: "sk", AttributeType: "S" },
      ],
      KeySchema: [
        { AttributeName: "pk", KeyType: "HASH" },
        { AttributeName: "sk", KeyType: "RANGE" },
      ],
    }),
  );
  // About the size of a case item and an audit entry.
  const payload = "x".repeat(600);
  let transactions = 0;
  let errors = 0;
  let seq = 0;
  const began = performance.now();
  const deadline = began + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const id = `loan-${++seq}`;
        try {
          await client.send(
            new TransactWriteItemsCommand({
              TransactItems: [
                { Put: { TableName: table, Item: { pk: { S: id }, sk: { S: "case" }, v: { S: payload } } } },
                {
                  Put: { TableName: table, Item: { pk: { S: id }, sk: { S: "audit#1" }, v: { S: payload } } },
                },
              ],
            }),
          );
          transactions++;
        } catch {
          errors++;
        }
      }
    }),
  );
  const elapsed = (performance.now() - began) / 1000;
  client.destroy();
  return {
    transactionsPerSecond: transactions / elapsed,
    transactions,
    seconds: elapsed,
    concurrency,
    errors,
  };
}

export interface StackThroughput {
  loans: number;
  subscribeSeconds: number;
  /** Dunning steps run while the clock moved (send and hand-off task calls). */
  steps: number;
  taskCalls: number;
  messages: number;
  seconds: number;
  stepsPerSecond: number;
  /** Share of the advance's wall time spent inside task handlers (summed over overlapping calls). */
  taskTimeShare: number;
  meanTaskMs: number;
  workerRequestsPerStep: number;
}

/**
 * Full stack: `loans` loans from the synthetic portfolio subscribed through the API, then the virtual
 * clock moved past every step and the legal hand-off in one advance; steps executed ÷ seconds of that advance.
 */
export async function stackThroughput(dynamoEndpoint: string, loans: number): Promise<StackThroughput> {
  const stack = await startLocalStack({
    clockStart: new Date("2026-01-05T00:00:00Z"),
    frozen: true,
    port: 0,
    dynamoEndpoint,
    tablePrefix: `bench-tp-${randomBytes(3).toString("hex")}-`,
  });
  try {
    const lender = jsonClient(stack.url, stack.keys.lender);
    const local = jsonClient(stack.url);
    const portfolio = syntheticPortfolio({
      count: loans,
      seed: 7,
      firstDueDate: "2026-01-15",
      dueDays: 7,
      idPrefix: `TP${randomBytes(2).toString("hex")}`,
    });
    const subscribeBegan = performance.now();
    let failed = 0;
    await forEachLimited(portfolio, 8, async (loan) => {
      const res = await lender("POST", "/v1/loans", loan);
      if (res.status !== 201) failed++;
    });
    if (failed > 0) throw new Error(`${failed} of ${loans} subscriptions failed`);
    await stack.engine.settle();
    const subscribeSeconds = (performance.now() - subscribeBegan) / 1000;
    log(`throughput: ${loans} loans subscribed in ${subscribeSeconds.toFixed(1)} s; advancing the clock`);

    const stats = { ...stack.engine.stats };
    const messagesBefore = stack.outbox.list().length;
    const began = performance.now();
    const res = await local("POST", "/local/clock/advance", { to: "2026-03-31T00:00:00Z" });
    if (res.status !== 200) throw new Error(`advance failed: ${JSON.stringify(res.body)}`);
    const seconds = (performance.now() - began) / 1000;
    const taskCalls = stack.engine.stats.taskCalls - stats.taskCalls;
    const kinds = taskKinds();
    const steps = stack.engine
      .allExecutions()
      .flatMap((e) => e.states)
      .filter((s) => kinds.get(s) === "step").length;
    const taskMs = stack.engine.stats.taskMs - stats.taskMs;
    return {
      loans,
      subscribeSeconds,
      steps,
      taskCalls,
      messages: stack.outbox.list().length - messagesBefore,
      seconds,
      stepsPerSecond: steps / seconds,
      taskTimeShare: taskMs / (seconds * 1000),
      meanTaskMs: taskMs / Math.max(1, taskCalls),
      workerRequestsPerStep: (stack.engine.stats.workerRequests - stats.workerRequests) / Math.max(1, steps),
    };
  } finally {
    await stack.stop();
  }
}
