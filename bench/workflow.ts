import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { DateTime } from "luxon";
import type { ExecutionRecord } from "../infra/local/engine.ts";
import { ASL_PATH, type LocalStack, startLocalStack } from "../infra/local/stack.ts";
import { smsParts } from "./cost.ts";
import { dataPlaneCalls, diffSnapshots, type MeterSnapshot, startDynamoMeter } from "./dynamo-meter.ts";
import { jsonClient, log } from "./http.ts";
import {
  CNY,
  expectStatus,
  loanBody,
  PATHS,
  type PathDriver,
  type PathName,
  SCRIPTS,
  ZONE,
} from "./path-scripts.ts";

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

/** Task state name → which function it calls, read from the ASL itself. */
export function taskKinds(): Map<string, "plan" | "step"> {
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
    caseItemBytes: [...a.caseItemBytes, ...b.caseItemBytes],
  };
}
