import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_POLICY, type PolicyStep } from "../../functions/domain/policy.ts";
import { loanRequest } from "./client.ts";
import { startTestStack, type TestStack } from "./test-stack.ts";

// A sent message is never sent again, whatever a policy change moves: re-planning skips every step whose
// message went out (or whose outcome is unknown), not only the steps planned before the last one's time.
let t: TestStack;
let policySeq = 0;

beforeAll(async () => {
  t = await startTestStack(`replan-${Date.now()}-`, "2026-01-05T00:00:00Z");
});
afterAll(async () => t?.stack.stop());

const ops = () => ({
  put: (policyId: string, steps: PolicyStep[]) =>
    t.ops.call("PUT", `/v1/policies/${policyId}`, {
      steps,
      handOff: DEFAULT_POLICY.handOff,
      contactWindow: DEFAULT_POLICY.contactWindow,
      applyTo: "in_flight",
    }),
});
const advanceTo = async (to: string) =>
  expect((await t.local.post("/local/clock/advance", { to })).status).toBe(200);
const sent = async (loanId: string) =>
  (
    (await t.local.get(`/local/outbox?loanId=${loanId}`)).body.messages as { step: string; channel: string }[]
  ).map((m) => `${m.step}:${m.channel}`);
const london = (loanId: string, dueDate: string, policyId: string) =>
  loanRequest(loanId, {
    dueDate,
    policyId,
    borrower: {
      name: "Amy Lee",
      email: `${loanId.toLowerCase()}@example.com`,
      phone: `+4479111${String(Math.floor(Math.random() * 1e5)).padStart(5, "0")}`,
      locale: "en-US",
      timeZone: "Europe/London",
    },
  });

describe("re-planning in flight", () => {
  it("moving a step already sent to later the same day does not send it again", async () => {
    const policyId = "replan-later";
    expect((await ops().put(policyId, DEFAULT_POLICY.steps)).status).toBe(202);
    const loans = Array.from({ length: 5 }, (_, i) => `RP-${i}`);
    for (const loanId of loans) {
      expect((await t.lender.post("/v1/loans", london(loanId, "2026-01-20", policyId))).status).toBe(201);
    }
    await advanceTo("2026-01-19T10:30:00Z");
    for (const loanId of loans) expect(await sent(loanId)).toContain("pre_due_1:email");

    const later = DEFAULT_POLICY.steps.map((s) => (s.id === "pre_due_1" ? { ...s, sendAt: "11:00" } : s));
    // Stored at once (202); its job moves the loans as the clock advances, before any step due later.
    expect((await ops().put(policyId, later)).status).toBe(202);
    await advanceTo("2026-01-19T23:00:00Z");
    for (const loanId of loans) {
      const messages = await sent(loanId);
      expect(
        messages.filter((m) => m.startsWith("pre_due_1:")),
        loanId,
      ).toEqual(["pre_due_1:sms", "pre_due_1:email"]);
    }
  });

  it("random policy edits applied in flight at random moments never send a (loan, step, channel) twice", async () => {
    const stepShift = fc.record({
      step: fc.constantFrom(...DEFAULT_POLICY.steps.map((s) => s.id)),
      hours: fc.integer({ min: -10, max: 10 }),
      days: fc.integer({ min: -2, max: 2 }),
    });
    const scenario = fc.record({
      editAfterHours: fc.array(fc.integer({ min: 1, max: 24 * 40 }), { minLength: 1, maxLength: 3 }),
      shifts: fc.array(fc.array(stepShift, { minLength: 1, maxLength: 4 }), { minLength: 3, maxLength: 3 }),
    });
    await fc.assert(
      fc.asyncProperty(scenario, async ({ editAfterHours, shifts }) => {
        const run = ++policySeq;
        const policyId = `replan-prop-${run}`;
        expect((await ops().put(policyId, DEFAULT_POLICY.steps)).status).toBe(202);
        const start = t.stack.clock.nowMs();
        const due = new Date(start + 10 * 86_400_000).toISOString().slice(0, 10);
        const loanId = `RPP-${run}`;
        expect((await t.lender.post("/v1/loans", london(loanId, due, policyId))).status).toBe(201);
        const moments = [...editAfterHours].sort((a, b) => a - b);
        for (const [i, hours] of moments.entries()) {
          await advanceTo(new Date(start + hours * 3_600_000).toISOString());
          const steps = DEFAULT_POLICY.steps.map((s) => {
            const shift = (shifts[i] ?? []).find((x) => x.step === s.id);
            if (!shift) return s;
            const hour = Math.min(20, Math.max(8, 10 + shift.hours));
            return {
              ...s,
              offsetDays: s.offsetDays + shift.days,
              sendAt: `${String(hour).padStart(2, "0")}:00`,
            };
          });
          // A policy the rules refuse (steps out of order) changes nothing; the next edit may still apply.
          await ops().put(policyId, steps);
        }
        await advanceTo(new Date(start + 45 * 86_400_000).toISOString());
        const messages = await sent(loanId);
        expect(new Set(messages).size, messages.join(", ")).toBe(messages.length);
      }),
      { numRuns: 12 },
    );
  }, 240_000);
});
