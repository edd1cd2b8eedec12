import { describe, expect, it } from "vitest";
import type { LoanCase } from "../../functions/domain/loan-case.ts";
import { money } from "../../functions/domain/money.ts";
import { DEFAULT_POLICY } from "../../functions/domain/policy.ts";
import type { SimulationMessage } from "../../functions/domain/simulation-job.ts";
import type { OpenCaseSource } from "../../functions/ports/simulations.ts";
import { type RunRuntime, runSimulation, simulatedLoan } from "../../functions/usecases/simulation-run.ts";
import { memoiseDateMath, memoiseIsoParsing, memoiseZoneOffsets } from "../../simulator/zone-offsets.ts";
import { inMemoryApi } from "../support/memory-api.ts";
import { expectDocumented, opAt, requestExample } from "../support/openapi.ts";
import { newCase } from "./fixtures.ts";

/**
 * Simulations through the API on in-memory ports: the edge (roles, refusals that store nothing, the documented
 * answers), and the simulation function's use case running a job with the simulator.
 */

// As the simulation function does at its start: the simulator's date caches, which change only its speed.
memoiseZoneOffsets();
memoiseIsoParsing();
memoiseDateMath();

const START = opAt("post", "/v1/simulations");
const FOLLOW = opAt("get", "/v1/simulations/{simulationId}");
const { id: _id, version: _version, templates: _templates, ...RULES } = DEFAULT_POLICY;
const SMALL = { synthetic: { loans: 300, seed: 3, dueDays: 3, installmentShare: 0 } };
const TIME_ENOUGH: RunRuntime = { remainingMs: () => 600_000, lastTry: false };
const NO_OPEN_CASES: OpenCaseSource = { async *pages() {} };

function runner(call: ReturnType<typeof inMemoryApi>, openCases: OpenCaseSource = NO_OPEN_CASES) {
  const deps = {
    jobs: call.simulations.jobs,
    openCases,
    clock: { now: () => new Date(call.clock.now.getTime() + 3_000) },
    isUnavailable: (error: unknown) => (error as Error).name === "Unavailable",
  };
  return (message: SimulationMessage, runtime = TIME_ENOUGH) => runSimulation(deps, message, runtime);
}

describe("POST /v1/simulations and GET /v1/simulations/{simulationId}", () => {
  it("start a job with 202 and its Location, queue it once, and answer it to its own tenant only", async () => {
    const call = inMemoryApi();
    const started = await call("post", "/v1/simulations", { key: "key-ops", body: requestExample(START) });
    expect(started.status).toBe(202);
    expectDocumented(START, started);
    const job = started.body as { id: string };
    expect(started.headers.location).toBe(`simulations/${job.id}`);
    expect(started.body).toMatchObject({
      status: "running",
      progress: { done: 0, total: 2000 },
      startedAt: "2026-01-05T00:00:00Z",
      finishedAt: null,
      policies: [
        { label: "firm (draft)", id: "firm", version: 1 },
        { label: "default v1", id: "default", version: 1 },
      ],
      portfolio: { kind: "synthetic", loans: 2000, seed: 7, dueDays: 3, installmentShare: 0 },
      start: "2026-01-05",
      days: 7,
    });
    expect(call.simulations.queue.sent).toEqual([{ tenantId: "demo", simulationId: job.id }]);
    const read = await call("get", `/v1/simulations/${job.id}`, { key: "key-ops" });
    expectDocumented(FOLLOW, read);
    expect(read.body).toEqual(started.body);
    for (const key of ["other-ops", "key-ops"]) {
      const path =
        key === "key-ops" ? "/v1/simulations/sim_000000000000000000000000" : `/v1/simulations/${job.id}`;
      const missing = await call("get", path, { key });
      expect(missing.status, key).toBe(404);
      expectDocumented(FOLLOW, missing);
    }
    for (const key of ["key-lender", "key-compliance", "key-legal"]) {
      expect((await call("get", `/v1/simulations/${job.id}`, { key })).status).toBe(403);
      expect((await call("post", "/v1/simulations", { key, body: requestExample(START) })).status).toBe(403);
    }
    expect(call.simulations.jobs.all.size).toBe(1);
  });

  it("refuse a bad body, an invalid draft and an unknown stored policy, storing and queueing nothing", async () => {
    const call = inMemoryApi();
    const post = (body: unknown) => call("post", "/v1/simulations", { key: "key-ops", body });
    const details = (response: { body: unknown }) =>
      (response.body as { error: { code: string; details?: { path: string }[] } }).error;
    const bad = await post({ policyId: "default", portfolio: { synthetic: { loans: 0 } }, days: 400 });
    expect(bad.status).toBe(400);
    expectDocumented(START, bad);
    expect(details(bad).details?.map((d) => d.path)).toEqual(["portfolio.synthetic.loans", "days"]);
    const steps = RULES.steps.map((s, i) => (i === 1 ? { ...s, sendAt: "22:00" } : s));
    const invalid = await post({
      policyId: "default",
      compareWith: { policy: { ...RULES, steps } },
      portfolio: SMALL,
    });
    expect(invalid.status).toBe(400);
    expectDocumented(START, invalid);
    expect(details(invalid)).toMatchObject({
      code: "VALIDATION_FAILED",
      details: [{ path: "compareWith.policy.steps[1].sendAt", message: expect.stringContaining("22:00") }],
    });
    const unknown = await post({ policyId: "default", version: 2, portfolio: SMALL });
    expect(unknown.status).toBe(422);
    expectDocumented(START, unknown);
    expect(details(unknown)).toMatchObject({ code: "UNKNOWN_POLICY", details: [{ path: "version" }] });
    expect((await call("post", "/v1/simulations", { key: "key-ops" })).status).toBe(400);
    expect(call.simulations.jobs.all.size).toBe(0);
    expect(call.simulations.queue.sent).toEqual([]);
  });
});

describe("the simulation function's use case", () => {
  it("runs the job with the simulator and stores a report of both policies and its chart, once", async () => {
    const call = inMemoryApi();
    const started = await call("post", "/v1/simulations", { key: "key-ops", body: requestExample(START) });
    const [message] = call.simulations.queue.sent as [SimulationMessage];
    expect(await runner(call)(message)).toMatchObject({ kind: "succeeded", loans: 2000 });
    const done = await call("get", `/v1/simulations/${(started.body as { id: string }).id}`, {
      key: "key-ops",
    });
    expectDocumented(FOLLOW, done);
    const body = done.body as {
      status: string;
      progress: unknown;
      finishedAt: string;
      chartSvg: string;
      report: { run: { loans: number }; policies: { label: string; funnel: { subscribed: number } }[] };
    };
    expect(body).toMatchObject({ status: "succeeded", progress: { done: 2000, total: 2000 } });
    expect(body.finishedAt).toBe("2026-01-05T00:00:03Z");
    expect(body.report.run).toMatchObject({ loans: 2000, days: 7, start: "2026-01-05", seed: 7, workers: 0 });
    expect(body.report.policies.map((p) => [p.label, p.funnel.subscribed])).toEqual([
      ["firm (draft)", 2000],
      ["default v1", 2000],
    ]);
    expect(body.chartSvg).toMatch(/^<svg [^>]*>[\s\S]*firm \(draft\)[\s\S]*default v1[\s\S]*<\/svg>\n$/);
    // The message again (SQS delivers at least once): the job has ended, nothing changes.
    expect(await runner(call)(message)).toEqual({ kind: "dropped", reason: "the simulation has succeeded" });
  });

  it("keeps a year's report of two policies well inside a DynamoDB item: its size does not grow with the loans", async () => {
    const call = inMemoryApi();
    const body = {
      policy: RULES,
      compareWith: { policyId: "default" },
      portfolio: { synthetic: { loans: 60, installmentShare: 0 } },
      days: 366,
    };
    await call("post", "/v1/simulations", { key: "key-ops", body });
    const [message] = call.simulations.queue.sent as [SimulationMessage];
    expect(await runner(call)(message)).toMatchObject({ kind: "succeeded" });
    const job = call.simulations.jobs.all.get(`demo/${message.simulationId}`);
    expect(job?.report?.policies.map((p) => p.days.length)).toEqual([366, 366]);
    // JSON is larger than DynamoDB's own measure of the item (numbers, no quotes): a bound from above.
    expect(Buffer.byteLength(JSON.stringify(job))).toBeLessThan(150_000);
  });

  it("ends a run that cannot finish in the function's time as failed, saying why", async () => {
    const call = inMemoryApi();
    await call("post", "/v1/simulations", {
      key: "key-ops",
      body: { policyId: "default", portfolio: SMALL },
    });
    const [message] = call.simulations.queue.sent as [SimulationMessage];
    const result = await runner(call)(message, { remainingMs: () => 10_000, lastTry: false });
    expect(result).toMatchObject({ kind: "failed", failure: expect.stringContaining("did not finish") });
    const job = call.simulations.jobs.all.get(`demo/${message.simulationId}`);
    expect(job).toMatchObject({ status: "failed", finishedAt: "2026-01-05T00:00:03Z" });
    expect(job?.failure).toMatch(/0 of 300 loans.*fewer loans/);
  });

  it("throws on a dependency out of reach so the queue tries again, and ends the job failed on the last try", async () => {
    const call = inMemoryApi();
    await call("post", "/v1/simulations", {
      key: "key-ops",
      body: { policyId: "default", portfolio: { openCases: true } },
    });
    const [message] = call.simulations.queue.sent as [SimulationMessage];
    const unavailable: OpenCaseSource = {
      // biome-ignore lint/correctness/useYield: the store is out of reach before the first page
      async *pages() {
        throw Object.assign(new Error("the store did not answer"), { name: "Unavailable" });
      },
    };
    await expect(runner(call, unavailable)(message)).rejects.toThrow("did not answer");
    expect(call.simulations.jobs.all.get(`demo/${message.simulationId}`)?.status).toBe("running");
    await expect(runner(call, unavailable)(message, { ...TIME_ENOUGH, lastTry: true })).rejects.toThrow();
    expect(call.simulations.jobs.all.get(`demo/${message.simulationId}`)).toMatchObject({
      status: "failed",
      failure: "the store did not answer",
    });
  });

  it("simulates the tenant's open cases it can act on, and says how many it left out", async () => {
    const call = inMemoryApi();
    await call("post", "/v1/simulations", {
      key: "key-ops",
      body: { policyId: "default", portfolio: { openCases: true } },
    });
    const [message] = call.simulations.queue.sent as [SimulationMessage];
    const cases = ["a", "b", "c"].map((loanId) => newCase({ loanId, dueDate: "2026-01-15" }));
    cases[2] = { ...(cases[2] as LoanCase), status: "legal" };
    const openCases: OpenCaseSource = {
      async *pages(tenantId) {
        expect(tenantId).toBe("demo");
        yield cases.slice(0, 2);
        yield cases.slice(2);
      },
    };
    expect(await runner(call, openCases)(message)).toMatchObject({ kind: "succeeded", loans: 2 });
    const job = call.simulations.jobs.all.get(`demo/${message.simulationId}`);
    expect(job?.progress).toEqual({ done: 2, total: 2 });
    expect(job?.report?.run.portfolio).toBe(
      "open cases: 2 of 3 (1 left out: with legal, contact ended or no channel left)",
    );
    expect(job?.report?.policies[0]?.funnel.subscribed).toBe(2);
  });
});

describe("an open case as a simulated loan", () => {
  it("owes its balance on its due date, on the channels not opted out of", () => {
    const loanCase = { ...newCase({ loanId: "L-1" }), optedOut: ["email" as const] };
    const loan = simulatedLoan(loanCase);
    expect(loan).toMatchObject({ loanId: "L-1", amountDue: loanCase.balance, dueDate: loanCase.dueDate });
    expect(loan?.borrower.phone).toBe(loanCase.borrower.phone);
    expect(loan?.borrower.email).toBeUndefined();
    expect(loanCase.borrower.email).toBeDefined();
  });

  it("owes each installment's unpaid part on a schedule, and its last one on a due date", () => {
    const schedule = ["2026-02-15", "2026-03-15", "2026-04-15"].map((dueDate) => ({
      dueDate,
      amount: money("400.00", "CNY"),
    }));
    const onSchedule = newCase({
      loanId: "L-2",
      schedule,
      dueDate: undefined,
      amountDue: money("1200.00", "CNY"),
    });
    const installments = (onSchedule.installments ?? []).map((i, n) =>
      n === 0 ? { ...i, paid: money("400.00", "CNY") } : n === 1 ? { ...i, paid: money("150.00", "CNY") } : i,
    );
    expect(simulatedLoan({ ...onSchedule, installments })?.schedule).toEqual([
      { dueDate: "2026-03-15", amount: { amount: "250.00", currency: "CNY" } },
      { dueDate: "2026-04-15", amount: { amount: "400.00", currency: "CNY" } },
    ]);
    const lastOne = installments.map((i) => (i.dueDate < "2026-04-15" ? { ...i, paid: i.amount } : i));
    expect(simulatedLoan({ ...onSchedule, installments: lastOne })).toMatchObject({
      dueDate: "2026-04-15",
      amountDue: onSchedule.balance,
    });
  });

  it("is none for a case with legal, with contact ended, or with no channel left", () => {
    const open = newCase({ loanId: "L-3" });
    expect(simulatedLoan({ ...open, status: "legal" })).toBeNull();
    expect(simulatedLoan({ ...open, contactEnded: "cease_contact" })).toBeNull();
    expect(simulatedLoan({ ...open, optedOut: ["sms", "email"] })).toBeNull();
  });
});
