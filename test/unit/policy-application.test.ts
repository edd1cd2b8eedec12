import { describe, expect, it } from "vitest";
import type { AuditEvent } from "../../functions/domain/audit-chain.ts";
import { ConcurrentUpdateError, DependencyUnavailableError } from "../../functions/domain/errors.ts";
import type { LoanCase } from "../../functions/domain/loan-case.ts";
import { DEFAULT_POLICY } from "../../functions/domain/policy.ts";
import {
  type ApplicationMessage,
  type ApplicationProgress,
  countPage,
  decideMessage,
  pageDelaySeconds,
  startApplication,
} from "../../functions/domain/policy-application.ts";
import type { CaseRepository, Principal, WorkflowRef } from "../../functions/ports.ts";
import { putPolicy } from "../../functions/usecases/policies.ts";
import {
  type ApplicationDeps,
  applyPolicyPage,
  type PageResult,
} from "../../functions/usecases/policy-application.ts";
import { memoryPolicies } from "../support/memory-policies.ts";
import { newCase, TENANT } from "./fixtures.ts";

/** Policy applications: the job's bookkeeping, and the page runner on in-memory ports, through repeats and crashes. */

const OPS: Principal = { tenantId: TENANT, role: "ops", keyId: "k1" };
/** The default policy's own rules, stored again as version 2. */
const { id: _id, version: _version, ...RULES } = DEFAULT_POLICY;

describe("the job's bookkeeping", () => {
  const job = (over: Partial<ApplicationProgress> = {}): ApplicationProgress => ({
    ...startApplication("default", 2, { at: "2026-01-05T00:00:00Z", by: "ops:k1" }),
    ...over,
  });

  it("works the page at the job's cursor, drops a counted page, and queues a next page its writer left behind", () => {
    expect(decideMessage(job(), { version: 2 }, 0)).toEqual({ kind: "work", from: "" });
    expect(decideMessage(null, { version: 2 }, 0).kind).toBe("drop");
    expect(decideMessage(job(), { version: 3 }, 0).kind).toBe("drop");
    expect(decideMessage(job({ status: "done" }), { version: 2 }, 0).kind).toBe("drop");
    const counted = job({ cursor: "b", lastFrom: "a", sendBy: 1_000 });
    expect(decideMessage(counted, { version: 2, cursor: "b" }, 0)).toEqual({ kind: "work", from: "b" });
    // The page at `a` was counted; its writer may still be queueing `b` until sendBy.
    expect(decideMessage(counted, { version: 2, cursor: "a" }, 999)).toMatchObject({ kind: "drop" });
    expect(decideMessage(counted, { version: 2, cursor: "a" }, 1_000)).toEqual({
      kind: "resend",
      cursor: "b",
    });
    expect(decideMessage({ ...counted, sent: "b" }, { version: 2, cursor: "a" }, 5_000).kind).toBe("drop");
    // An older page than the last counted one changes nothing.
    expect(decideMessage(counted, { version: 2 }, 5_000).kind).toBe("drop");
  });

  it("counts a case found on the version as moved, skipped cases not at all", () => {
    expect(countPage(["moved", "already", "failed", "skipped", "moved"])).toEqual({
      total: 4,
      moved: 3,
      failed: 1,
    });
    expect(countPage([])).toEqual({ total: 0, moved: 0, failed: 0 });
  });

  it("holds the next page back for what its cases are worth at the rate, less the time the page took", () => {
    expect(pageDelaySeconds(100, 0, 50)).toBe(2);
    expect(pageDelaySeconds(100, 1_500, 50)).toBe(1);
    expect(pageDelaySeconds(10, 5_000, 50)).toBe(0);
    expect(pageDelaySeconds(0, 0, 50)).toBe(0);
    expect(pageDelaySeconds(100_000, 0, 50)).toBe(900);
  });
});

/** Cases in memory, with the audit events each update wrote, and a workflow that records its calls. */
function world(loans: { loanId: string; policyId?: string; status?: LoanCase["status"] }[]) {
  const cases = new Map<string, LoanCase>();
  const events = new Map<string, AuditEvent[]>();
  for (const loan of loans) {
    const base = newCase({ loanId: loan.loanId });
    cases.set(loan.loanId, {
      ...base,
      status: loan.status ?? "active",
      policy: { id: loan.policyId ?? "default", version: 1 },
    });
  }
  const repository = {
    async get(_tenantId: string, loanId: string) {
      return cases.get(loanId) ?? null;
    },
    async update(current: LoanCase, change: { next: LoanCase; events: AuditEvent[] }) {
      const stored = cases.get(current.loanId);
      if (stored?.version !== current.version) throw new ConcurrentUpdateError("moved");
      const next = { ...change.next, version: current.version + 1 };
      cases.set(current.loanId, next);
      events.set(current.loanId, [...(events.get(current.loanId) ?? []), ...change.events]);
      return next;
    },
  } as unknown as CaseRepository;
  const calls = { starts: [] as WorkflowRef[], stops: [] as WorkflowRef[] };
  const queued: { message: ApplicationMessage; delaySeconds: number }[] = [];
  const policies = memoryPolicies();
  const clock = { nowMs: Date.parse("2026-01-05T00:00:00Z") };
  const positions = () => [...cases.keys()].sort();
  const deps: ApplicationDeps = {
    policies,
    cases: repository,
    workflow: {
      start: async (ref) => void calls.starts.push(ref),
      stop: async (ref) => void calls.stops.push(ref),
    },
    clock: { now: () => new Date(clock.nowMs) },
    jobs: policies.jobs,
    queue: { send: async (message, delaySeconds) => void queued.push({ message, delaySeconds }) },
    horizonDays: 0,
    openCases: {
      async page(_tenantId, after, limit) {
        const rest = positions().filter((p) => p > after);
        return {
          items: rest.slice(0, limit).map((p) => ({ loanId: p, position: p })),
          more: rest.length > limit,
        };
      },
    },
    pace: { casesPerSecond: 2, pageSize: 3 },
    isUnavailable: (error) => error instanceof DependencyUnavailableError,
  };
  const applied = (loanId: string) => (events.get(loanId) ?? []).filter((e) => e.type === "policy_applied");
  return { deps, cases, calls, queued, clock, applied, policies };
}

const TEN_SECONDS_LEFT = { retried: false, remainingMs: () => 100_000 };

/** Starts the job the way the API does: a version stored in flight, its first page queued. */
async function startJob(w: ReturnType<typeof world>) {
  const { jobs, queue } = w.deps;
  const put = await putPolicy(
    { policies: w.policies, clock: w.deps.clock, applications: { jobs, queue } },
    OPS,
    "default",
    {
      rules: RULES,
      applyTo: "in_flight",
    },
  );
  expect(put.application).toMatchObject({ id: "apply-v2", status: "running", total: 0 });
  return { tenantId: TENANT, policyId: "default", jobId: "apply-v2" };
}

/** Delivers queued messages in order until none is left; what each page answered. */
async function drain(w: ReturnType<typeof world>): Promise<PageResult[]> {
  const results: PageResult[] = [];
  for (let next = w.queued.shift(); next; next = w.queued.shift()) {
    results.push(await applyPolicyPage(w.deps, next.message, TEN_SECONDS_LEFT));
  }
  return results;
}

const LOANS = [
  ...["a1", "a2", "a3", "a4", "a5", "a6", "a7"].map((loanId) => ({ loanId })),
  { loanId: "b-other", policyId: "other" },
  { loanId: "c-legal", status: "legal" as const },
];

describe("a policy application, page by page", () => {
  it("moves every open case of the policy once, counts it once, and paces the pages", async () => {
    const w = world(LOANS);
    const ref = await startJob(w);
    const results = await drain(w);
    expect(results.map((r) => r.kind)).toEqual(["counted", "counted", "counted"]);
    expect(results.map((r) => (r.kind === "counted" ? r.delaySeconds : null))).toEqual([2, 2, 1]);
    expect(await w.policies.jobs.get(ref)).toMatchObject({
      status: "done",
      total: 7,
      moved: 7,
      failed: 0,
      finishedAt: "2026-01-05T00:00:00Z",
    });
    for (const loanId of LOANS.slice(0, 7).map((l) => l.loanId)) {
      expect(w.cases.get(loanId)?.policy, loanId).toEqual({ id: "default", version: 2 });
      expect(w.applied(loanId), loanId).toHaveLength(1);
    }
    expect(w.cases.get("b-other")?.policy.version).toBe(1);
    expect(w.cases.get("c-legal")?.policy.version).toBe(1);
    expect(w.calls.stops).toHaveLength(7);
    expect(w.calls.starts).toHaveLength(7);
  });

  it("changes nothing when a page message comes again, during the job or after it", async () => {
    const w = world(LOANS);
    const ref = await startJob(w);
    const first = w.queued[0] as { message: ApplicationMessage; delaySeconds: number };
    await drain(w);
    const before = await w.policies.jobs.get(ref);
    expect(
      await applyPolicyPage(w.deps, first.message, { ...TEN_SECONDS_LEFT, retried: true }),
    ).toMatchObject({
      kind: "dropped",
    });
    expect(await w.policies.jobs.get(ref)).toEqual(before);
    expect(w.queued).toEqual([]);
    expect(w.calls.starts).toHaveLength(7);
  });

  it("counts a page that died before it was counted once, starting again the generations it had moved", async () => {
    const w = world(LOANS);
    const ref = await startJob(w);
    const recordPage = w.deps.jobs.recordPage.bind(w.deps.jobs);
    let crashes = 1;
    w.deps.jobs = {
      ...w.deps.jobs,
      recordPage: async (r, page) => {
        if (crashes-- > 0) throw new Error("the invocation died");
        return recordPage(r, page);
      },
    };
    const first = w.queued.shift() as { message: ApplicationMessage };
    await expect(applyPolicyPage(w.deps, first.message, TEN_SECONDS_LEFT)).rejects.toThrow(/died/);
    expect(w.calls.starts).toHaveLength(3);
    // SQS delivers it again: the three cases are on the version now, counted as moved, their generation restarted.
    expect(
      await applyPolicyPage(w.deps, first.message, { ...TEN_SECONDS_LEFT, retried: true }),
    ).toMatchObject({
      kind: "counted",
      total: 3,
      moved: 3,
      delaySeconds: 0,
    });
    expect(w.calls.starts).toHaveLength(6);
    await drain(w);
    expect(await w.policies.jobs.get(ref)).toMatchObject({ status: "done", total: 7, moved: 7, failed: 0 });
    for (const loanId of ["a1", "a2", "a3"]) expect(w.applied(loanId)).toHaveLength(1);
  });

  it("queues the next page from a redelivered message when the page's writer died before queueing it", async () => {
    const w = world(LOANS);
    const ref = await startJob(w);
    const send = w.deps.queue.send;
    w.deps.queue = { send: async () => Promise.reject(new Error("the invocation died")) };
    const first = w.queued.shift() as { message: ApplicationMessage };
    await expect(applyPolicyPage(w.deps, first.message, TEN_SECONDS_LEFT)).rejects.toThrow(/died/);
    w.deps.queue = { send };
    expect(await w.policies.jobs.get(ref)).toMatchObject({ total: 3, lastFrom: "", cursor: "a3" });
    // Within the writer's time a repeat leaves the queueing to it; after it, the repeat queues the page.
    const again = { ...TEN_SECONDS_LEFT, retried: true };
    expect(await applyPolicyPage(w.deps, first.message, again)).toMatchObject({ kind: "dropped" });
    w.clock.nowMs += 100_000;
    expect(await applyPolicyPage(w.deps, first.message, again)).toEqual({ kind: "resent" });
    expect(await applyPolicyPage(w.deps, first.message, again)).toMatchObject({ kind: "dropped" });
    expect(w.queued.map((q) => q.message.cursor)).toEqual(["a3"]);
    await drain(w);
    expect(await w.policies.jobs.get(ref)).toMatchObject({ status: "done", total: 7, moved: 7 });
    expect(w.calls.stops).toHaveLength(7);
  });

  it("counts a case another writer keeps changing as failed, and goes on", async () => {
    const w = world(LOANS.slice(0, 2));
    const ref = await startJob(w);
    const update = w.deps.cases.update.bind(w.deps.cases);
    w.deps.cases.update = async (current, change, at) => {
      if (current.loanId === "a1") throw new ConcurrentUpdateError("moved meanwhile");
      return update(current, change, at);
    };
    await drain(w);
    expect(await w.policies.jobs.get(ref)).toMatchObject({ status: "done", total: 2, moved: 1, failed: 1 });
  });
});
