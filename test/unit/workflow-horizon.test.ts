import { describe, expect, it } from "vitest";
import type { LoanCase } from "../../functions/domain/loan-case.ts";
import { horizonEnd, parksUntil, wakeableFrom } from "../../functions/domain/workflow-horizon.ts";
import type { WorkflowRef } from "../../functions/ports.ts";
import { executionName } from "../../functions/usecases/execution.ts";
import { wakeParkedCases } from "../../functions/usecases/workflow-health.ts";
import { parkedIfBeyondHorizon } from "../../functions/usecases/workflow-start.ts";

const NOW = new Date("2026-01-05T00:00:00Z");

describe("parksUntil", () => {
  it("parks only an action strictly beyond the horizon, and never with a horizon of 0", () => {
    expect(parksUntil("2026-02-04T00:00:00Z", NOW, 30)).toBe(false);
    expect(parksUntil("2026-02-04T00:00:00.001Z", NOW, 30)).toBe(true);
    expect(parksUntil("2027-01-01T00:00:00Z", NOW, 0)).toBe(false);
    expect(parksUntil(null, NOW, 30)).toBe(false);
  });

  it("wakes a parked case from the first instant whose horizon end lies past its wake", () => {
    const wakeMs = Date.parse("2026-03-01T02:00:00Z");
    const from = wakeableFrom(wakeMs, 30);
    expect(horizonEnd(new Date(from), 30).getTime()).toBeGreaterThan(wakeMs);
    expect(horizonEnd(new Date(from - 1), 30).getTime()).toBe(wakeMs);
    expect(parksUntil(new Date(wakeMs).toISOString(), new Date(from), 30)).toBe(false);
  });
});

describe("executionName", () => {
  const ref = { tenantId: "demo", loanId: "L".repeat(70), generation: 12, epoch: 3 };

  it("keeps the names of executions without a wake as they were", () => {
    expect(executionName({ tenantId: "demo", loanId: "loan-1", generation: 1 })).toMatch(
      /^loan-1-[0-9a-f]{16}-g1$/,
    );
    expect(executionName(ref)).toHaveLength(48 + 1 + 16 + 4 + 3);
  });

  it("gives each wake of a generation a name of its own, within Step Functions' 80 characters", () => {
    const first = executionName({ ...ref, wake: "2026-06-08T02:00:00Z" });
    const second = executionName({ ...ref, wake: "2026-07-08T02:00:00Z" });
    expect(first).not.toBe(second);
    expect(first.length).toBeLessThanOrEqual(80);
    expect(first).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(first.endsWith("-w20260608T020000Z")).toBe(true);
  });
});

function parkedCase(loanId: string, wakeAt: string, overrides: Partial<LoanCase> = {}): LoanCase {
  return {
    tenantId: "demo",
    loanId,
    generation: 1,
    status: "active",
    wakeAt,
    parked: true,
    ...overrides,
  } as LoanCase;
}

describe("wakeParkedCases", () => {
  function deps(cases: LoanCase[]) {
    const started: WorkflowRef[] = [];
    const byId = new Map(cases.map((c) => [c.loanId, c]));
    return {
      started,
      deps: {
        clock: { now: () => NOW },
        cases: { get: async (_tenantId: string, loanId: string) => byId.get(loanId) ?? null },
        workflow: {
          start: async (ref: WorkflowRef) => void started.push(ref),
          stop: async () => {},
        },
        wakes: {
          setWake: async () => {},
          overdue: async function* () {},
          // As the index was read: every case listed, whatever happened since.
          parkedBefore: async function* () {
            for (const c of cases) yield { tenantId: c.tenantId, loanId: c.loanId };
          },
        },
      } as unknown as Parameters<typeof wakeParkedCases>[0],
    };
  }

  it("starts the cases come within the horizon, named by their wake, and re-checks each on a fresh read", async () => {
    const { deps: d, started } = deps([
      parkedCase("due", "2026-02-01T02:00:00Z"),
      // Re-planned further out since the index was read, paid meanwhile, or already woken: left alone.
      parkedCase("moved", "2026-05-01T02:00:00Z"),
      parkedCase("paid", "2026-02-01T02:00:00Z", { status: "paid" }),
      parkedCase("running", "2026-02-01T02:00:00Z", { parked: undefined }),
    ]);
    expect(await wakeParkedCases(d, 30)).toEqual({ woken: 1 });
    expect(started).toEqual([
      { tenantId: "demo", loanId: "due", generation: 1, wake: "2026-02-01T02:00:00Z" },
    ]);
  });

  it("does nothing without a horizon", async () => {
    const { deps: d, started } = deps([parkedCase("due", "2026-02-01T02:00:00Z")]);
    expect(await wakeParkedCases(d, 0)).toEqual({ woken: 0 });
    expect(started).toEqual([]);
  });
});

describe("parkedIfBeyondHorizon", () => {
  it("marks a case parked only while its wake is beyond the horizon", () => {
    const base = parkedCase("x", "2026-09-01T00:00:00Z", { parked: undefined });
    expect(parkedIfBeyondHorizon(base, NOW, 30).parked).toBe(true);
    const near = parkedIfBeyondHorizon({ ...base, parked: true, wakeAt: "2026-01-10T00:00:00Z" }, NOW, 30);
    expect("parked" in near).toBe(false);
  });
});
