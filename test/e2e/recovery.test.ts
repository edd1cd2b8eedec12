import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_POLICY } from "../../functions/domain/policy.ts";
import { apiClient, loanRequest } from "../workflows/client.ts";
import { npmStart, type StartedStack } from "./npm-start.ts";

/**
 * Crash recovery as an operator meets it: the local stack keeps its data on disk, is killed with SIGKILL
 * in the middle of running due steps, and is started again on the same data.
 */
const LENDER_KEY = "recovery-lender-key-0123456789";
const dataDir = mkdtempSync(join(tmpdir(), "dunning-recovery-"));
const LOANS = 40;

function startStack(clock: string): Promise<StartedStack> {
  return npmStart(["--clock", clock, "--frozen", "--port", "0", "--data-dir", dataDir], {
    DUNNING_LENDER_KEY: LENDER_KEY,
  });
}

let second: StartedStack | undefined;

const laterDir = mkdtempSync(join(tmpdir(), "dunning-later-"));
let later: StartedStack | undefined;

afterAll(async () => {
  await second?.kill("SIGINT");
  await later?.kill("SIGINT");
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(laterDir, { recursive: true, force: true });
});

describe("recovery after SIGKILL", () => {
  it("resumes every open case from disk: nothing sent twice, every step accounted for", async () => {
    const first = await startStack("2026-01-05T00:00:00Z");
    const lender = apiClient(first.url, LENDER_KEY);
    for (let i = 0; i < LOANS; i++) {
      // One borrower per loan: the caps count per borrower, and every loan here must get every step.
      const request = loanRequest(`R-${i}`);
      const borrower = { ...request.borrower, phone: `+86139${String(i).padStart(8, "0")}` };
      expect((await lender.post("/v1/loans", { ...request, borrower })).status).toBe(201);
    }
    // Kill the whole stack (Node and Java) while it is working through two months of steps.
    const advance = apiClient(first.url)
      .post("/local/clock/advance", { to: "2026-03-01T00:00:00Z" })
      .catch(() => null);
    await new Promise((resolve) => setTimeout(resolve, 700));
    await first.kill("SIGKILL");
    await advance;

    second = await startStack("2026-01-05T00:00:00Z");
    expect(second.output()).toMatch(/resumed the workflow of \d+ open case/);
    // A key given in the environment is named, never printed.
    expect(second.output()).toContain("(from DUNNING_LENDER_KEY)");
    expect(second.output()).not.toContain(LENDER_KEY);
    await apiClient(second.url).post("/local/clock/advance", { to: "2026-03-01T00:00:00Z" });

    const lenderAgain = apiClient(second.url, LENDER_KEY);
    const expected = DEFAULT_POLICY.steps.flatMap((step) =>
      step.channels.map((channel) => `${step.id}:${channel}`),
    );
    let unknown = 0;
    for (let i = 0; i < LOANS; i++) {
      const loan = (await lenderAgain.get(`/v1/loans/R-${i}`)).body;
      expect(loan.status).toBe("legal");
      const entries = (await lenderAgain.get(`/v1/loans/R-${i}/audit`)).body.entries as {
        type: string;
        data: { step?: string; channel?: string; providerMessageId?: string };
      }[];
      // Delivery reports of messages sent just before the kill are not lost: each message that went out has one.
      const delivered = new Set(
        entries.filter((e) => e.type === "message_delivery").map((e) => e.data.providerMessageId),
      );
      for (const sent of entries.filter((e) => e.type === "message_sent")) {
        expect(delivered.has(sent.data.providerMessageId), `${sent.data.step}:${sent.data.channel}`).toBe(
          true,
        );
      }
      const outcomes = entries
        .filter((e) => ["message_sent", "message_outcome_unknown", "message_failed"].includes(e.type))
        .map((e) => `${e.data.step}:${e.data.channel}`);
      // Each step and channel has exactly one recorded outcome: never sent twice, never silently dropped.
      expect([...outcomes].sort()).toEqual([...expected].sort());
      unknown += entries.filter((e) => e.type === "message_outcome_unknown").length;
      expect(entries.filter((e) => e.type === "handed_off")).toHaveLength(1);
    }
    console.log(
      `recovery: ${LOANS} loans, ${unknown} message(s) in flight at the kill recorded as outcome unknown`,
    );
  }, 240_000);

  it("restarted after time moved on, settles every missed step on the record: none skipped silently", async () => {
    const start = (clock: string) =>
      npmStart(["--clock", clock, "--frozen", "--port", "0", "--data-dir", laterDir], {
        DUNNING_LENDER_KEY: LENDER_KEY,
      });
    const first = await start("2026-01-05T00:00:00Z");
    const lender = apiClient(first.url, LENDER_KEY);
    for (const loanId of ["LATER-1", "LATER-2"]) {
      expect((await lender.post("/v1/loans", loanRequest(loanId, { dueDate: "2026-01-20" }))).status).toBe(
        201,
      );
    }
    expect(
      (await apiClient(first.url).post("/local/clock/advance", { to: "2026-01-14T00:00:00Z" })).status,
    ).toBe(200);
    await first.kill("SIGINT");

    // Down from D−6 to D+16: D−3 … D+15 were missed.
    later = await start("2026-02-05T00:00:00Z");
    expect(later.output()).toMatch(/resumed the workflow of 2 open case/);
    expect(
      (await apiClient(later.url).post("/local/clock/advance", { to: "2026-03-10T00:00:00Z" })).status,
    ).toBe(200);
    const lenderLater = apiClient(later.url, LENDER_KEY);
    for (const loanId of ["LATER-1", "LATER-2"]) {
      const entries = (await lenderLater.get(`/v1/loans/${loanId}/audit`)).body.entries as {
        type: string;
        data: { step?: string; reason?: string };
      }[];
      for (const step of DEFAULT_POLICY.steps) {
        const outcomes = entries.filter(
          (e) => e.data.step === step.id && ["message_sent", "step_skipped"].includes(e.type),
        );
        const skipped = outcomes.filter((e) => e.type === "step_skipped");
        // Sent (once per channel), or skipped once with its reason — never nothing, never both.
        if (skipped.length > 0) expect(outcomes, step.id).toHaveLength(1);
        else expect(outcomes.length, step.id).toBe(step.channels.length);
      }
      const missed = entries
        .filter((e) => e.type === "step_skipped")
        .map((e) => [e.data.step, e.data.reason]);
      expect(missed).toEqual(
        ["pre_due_3", "pre_due_1", "due_day", "soft_1", "soft_3", "soft_7"].map((step) => [
          step,
          "superseded_by_later_due_step",
        ]),
      );
      expect(entries.filter((e) => e.type === "handed_off")).toHaveLength(1);
    }
  }, 240_000);
});
