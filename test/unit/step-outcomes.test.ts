import { describe, expect, it } from "vitest";
import { nextAllowedInstant } from "../../functions/domain/contact-window.ts";
import { InputOutOfRangeError } from "../../functions/domain/errors.ts";
import { type LoanCase, passOver, planFor } from "../../functions/domain/loan-case.ts";
import { handOffPlan, type PlanningInput } from "../../functions/domain/planning.ts";
import { DEFAULT_POLICY, type Policy } from "../../functions/domain/policy.ts";
import { validatePolicy } from "../../functions/domain/policy-validation.ts";
import { completeStep, decideStep, skipStep } from "../../functions/domain/step-lifecycle.ts";
import { newCase } from "./fixtures.ts";

const decide = (loanCase: LoanCase, policy: Policy, at: string) =>
  decideStep(loanCase, policy, new Date(at), (d) =>
    nextAllowedInstant(d, loanCase.borrower.timeZone, policy.contactWindow),
  );

const SHANGHAI: PlanningInput = {
  dueDate: "2026-01-15",
  timeZone: "Asia/Shanghai",
  cursorAt: "2026-02-05T02:00:00Z",
};

describe("the hand-off waits for notice", () => {
  it("is withheld while no message has reached the borrower", () => {
    expect(handOffPlan({ ...SHANGHAI, firstContactAt: null }, DEFAULT_POLICY)).toEqual({
      kind: "hand_off",
      plannedAt: "2026-02-14T02:00:00Z",
      withheld: "no_contact",
    });
  });

  it("comes at the policy's instant when notice was given long before", () => {
    const plan = { ...SHANGHAI, firstContactAt: "2026-01-08T02:00:00Z" };
    expect(handOffPlan(plan, DEFAULT_POLICY).plannedAt).toBe("2026-02-14T02:00:00Z");
  });

  it("comes no sooner than 14 whole days after the first contact, at the hand-off time of day", () => {
    // First contact 2026-02-10 11:00 Shanghai: 14 days later is 02-24 11:00, so 10:00 on 02-25.
    const plan = { ...SHANGHAI, firstContactAt: "2026-02-10T03:00:00Z" };
    expect(handOffPlan(plan, DEFAULT_POLICY).plannedAt).toBe("2026-02-25T02:00:00Z");
    // At 09:00 Shanghai the same day's 10:00 is late enough.
    const early = { ...SHANGHAI, firstContactAt: "2026-02-10T01:00:00Z" };
    expect(handOffPlan(early, DEFAULT_POLICY).plannedAt).toBe("2026-02-24T02:00:00Z");
    const custom = { ...DEFAULT_POLICY, handOff: { ...DEFAULT_POLICY.handOff, minDaysAfterFirstContact: 0 } };
    expect(handOffPlan(plan, custom).plannedAt).toBe("2026-02-14T02:00:00Z");
  });
});

describe("a loan subscribed past due", () => {
  it("starts with a first notice; the steps before the subscription are skipped on the record", () => {
    const change = newCase({ dueDate: "2026-01-01" }, "2026-01-05T00:00:00Z");
    expect(change.firstNoticeAt).toBe("2026-01-05T00:00:00Z");
    const first = planFor(change, DEFAULT_POLICY, new Date("2026-01-05T00:00:00Z"));
    expect(first).toMatchObject({ kind: "step", step: { id: "first_notice" }, superseded: [] });
    // 08:00 Shanghai: inside the window, so it goes now, by email and SMS.
    const decision = decide(change, DEFAULT_POLICY, "2026-01-05T00:00:00Z");
    expect(decision).toMatchObject({ kind: "send", channels: ["email", "sms"] });
  });

  it("refuses a due date more than ten years from today", () => {
    expect(() => newCase({ dueDate: "2015-01-04" }, "2026-01-05T00:00:00Z")).toThrow(InputOutOfRangeError);
    expect(() => newCase({ dueDate: "2036-01-06" }, "2026-01-05T00:00:00Z")).toThrow(InputOutOfRangeError);
    expect(() => newCase({ dueDate: "2016-01-06" }, "2026-01-05T00:00:00Z")).not.toThrow();
  });
});

describe("every planned step ends in one recorded outcome", () => {
  it("passOver records what the cursor passed, once, leaving the step in flight to its sender", () => {
    const loanCase: LoanCase = { ...newCase(), cursorAt: "2026-01-14T03:00:00Z" };
    const { next, events } = passOver(loanCase, DEFAULT_POLICY, "passed_over_by_replan", { cause: "x" });
    expect(events.map((e) => e.data.step)).toEqual(["pre_due_7", "pre_due_3", "pre_due_1"]);
    expect(events[0]?.data).toEqual({ step: "pre_due_7", reason: "passed_over_by_replan", cause: "x" });
    expect(passOver(next, DEFAULT_POLICY, "passed_over_by_replan").events).toEqual([]);
    const inFlight: LoanCase = {
      ...loanCase,
      inFlight: {
        step: "pre_due_1",
        plannedAt: "2026-01-14T02:00:00Z",
        channels: ["sms"],
        claimedAt: "2026-01-14T02:00:00Z",
        retryable: false,
      },
    };
    expect(
      passOver(inFlight, DEFAULT_POLICY, "passed_over_by_replan").events.map((e) => e.data.step),
    ).toEqual(["pre_due_7", "pre_due_3"]);
  });

  it("skips a step later than maxLateness, with the steps it superseded; never the first notice", () => {
    const punctual: Policy = { ...DEFAULT_POLICY, maxLateness: "PT2H" };
    const loanCase = newCase();
    // pre_due_7 (01-08 10:00) and pre_due_3 (01-12 10:00) both due; pre_due_3 is 3 hours late.
    const decision = decide(loanCase, punctual, "2026-01-12T05:00:00Z");
    expect(decision).toMatchObject({
      kind: "skip",
      step: { id: "pre_due_3" },
      reason: "later_than_max_lateness",
    });
    if (decision.kind !== "skip") throw new Error("expected a skip");
    const { next, events } = skipStep(loanCase, decision, new Date("2026-01-12T05:00:00Z"));
    expect(events.map((e) => [e.data.step, e.data.reason])).toEqual([
      ["pre_due_7", "superseded_by_later_due_step"],
      ["pre_due_3", "later_than_max_lateness"],
    ]);
    expect(planFor(next, punctual, new Date("2026-01-12T05:00:00Z"))).toMatchObject({
      step: { id: "pre_due_1" },
    });
    // Within two hours it still goes out.
    expect(decide(loanCase, punctual, "2026-01-12T03:00:00Z").kind).toBe("send");

    const pastDue = newCase({ dueDate: "2026-01-01" }, "2026-01-04T14:00:00Z"); // 22:00 Shanghai
    expect(decide(pastDue, punctual, "2026-01-05T02:00:00Z")).toMatchObject({
      kind: "send",
      step: { id: "first_notice" },
    });
  });

  it("records the first contact when a message went out, not when its fate is unknown", () => {
    const loanCase = newCase();
    const claimed: LoanCase = {
      ...loanCase,
      inFlight: {
        step: "pre_due_7",
        plannedAt: "2026-01-08T02:00:00Z",
        channels: ["email"],
        claimedAt: "2026-01-08T02:00:00Z",
        retryable: false,
      },
    };
    const at = new Date("2026-01-08T02:00:05Z");
    const unknown = completeStep(
      claimed,
      [{ type: "message_outcome_unknown", actor: "w", data: { step: "pre_due_7", channel: "email" } }],
      at,
    );
    expect(unknown.next.firstContactAt).toBeNull();
    const sent = completeStep(
      claimed,
      [
        {
          type: "message_sent",
          actor: "w",
          data: { step: "pre_due_7", channel: "email", sentAt: "2026-01-08T02:00:01Z" },
        },
      ],
      at,
    );
    expect(sent.next.firstContactAt).toBe("2026-01-08T02:00:01Z");
  });
});

describe("policy validation of the new rules", () => {
  const { id: _id, version: _version, ...rules } = DEFAULT_POLICY;
  const paths = (changes: Partial<typeof rules>) =>
    validatePolicy({ ...rules, ...changes }).map((issue) => issue.path);

  it("takes maxLateness as a duration in weeks, days, hours or minutes", () => {
    expect(paths({ maxLateness: "PT12H" })).toEqual([]);
    expect(paths({ maxLateness: "P2DT6H" })).toEqual([]);
    for (const bad of ["12h", "P1M", "P1Y", "PT0S", "P400D", ""])
      expect(paths({ maxLateness: bad })).toEqual(["maxLateness"]);
  });

  it("bounds minDaysAfterFirstContact and reserves the first notice's step id", () => {
    expect(paths({ handOff: { offsetDays: 30, at: "10:00", minDaysAfterFirstContact: -1 } })).toEqual([
      "handOff.minDaysAfterFirstContact",
    ]);
    const step = { ...(DEFAULT_POLICY.steps[0] as Policy["steps"][number]), id: "first_notice" };
    expect(paths({ steps: [step, ...DEFAULT_POLICY.steps.slice(1)] })).toEqual(["steps[0].id"]);
  });

  it("checks the first notice's channels and template", () => {
    expect(paths({ firstNotice: { channels: [], template: "nope" } })).toEqual([
      "firstNotice.channels",
      "firstNotice.template",
    ]);
  });
});
