import { describe, expect, it } from "vitest";
import {
  handOffInstant,
  type PlanningInput,
  planNext,
  stepInstant,
} from "../../functions/domain/planning.ts";
import { DEFAULT_POLICY } from "../../functions/domain/policy.ts";
import {
  daysPastDue,
  isValidTimeZone,
  localInstant,
  localTime,
  parseInstant,
  toInstant,
} from "../../functions/domain/time.ts";
import { wallClock } from "./fixtures.ts";

const SHANGHAI: PlanningInput = {
  dueDate: "2026-01-15",
  timeZone: "Asia/Shanghai",
  cursorAt: "2026-01-05T00:00:00Z",
};
const SUBSCRIBED = new Date("2026-01-05T00:00:00Z");

/** Follows planNext from the cursor, completing each step at its planned instant, until the hand-off. */
function walk(plan: PlanningInput, now: Date) {
  const steps: { id: string; plannedAt: string }[] = [];
  let cursorAt = plan.cursorAt;
  for (let i = 0; i < 50; i++) {
    const action = planNext({ ...plan, cursorAt }, DEFAULT_POLICY, now);
    if (action.kind === "hand_off") return { steps, handOff: action.plannedAt };
    expect(action.superseded).toEqual([]);
    steps.push({ id: action.step.id, plannedAt: action.plannedAt });
    cursorAt = action.plannedAt;
  }
  throw new Error("planning did not reach the hand-off");
}

describe("time.ts", () => {
  it("toInstant writes UTC ISO with whole seconds", () => {
    expect(toInstant(new Date("2026-01-05T08:30:15.987+08:00"))).toBe("2026-01-05T00:30:15Z");
  });

  it("parseInstant reads an instant in UTC", () => {
    const dt = parseInstant("2026-01-08T10:00:00+08:00");
    expect(dt.zoneName).toBe("UTC");
    expect(dt.hour).toBe(2);
  });

  it("isValidTimeZone accepts IANA names and refuses others", () => {
    expect(isValidTimeZone("Asia/Shanghai")).toBe(true);
    expect(isValidTimeZone("America/St_Johns")).toBe(true);
    expect(isValidTimeZone("Mars/Olympus_Mons")).toBe(false);
  });

  it("localInstant is the wall-clock time on dueDate + offset in the zone", () => {
    expect(toInstant(localInstant("2026-01-15", -7, "10:00", "Asia/Shanghai"))).toBe("2026-01-08T02:00:00Z");
    expect(toInstant(localInstant("2026-01-15", 0, "10:00", "Asia/Kolkata"))).toBe("2026-01-15T04:30:00Z");
    expect(toInstant(localInstant("2026-01-15", 30, "10:00", "Asia/Shanghai"))).toBe("2026-02-14T02:00:00Z");
  });

  it("localInstant moves a time in the skipped DST hour forward", () => {
    // 2026-03-08 02:30 does not exist in New York (02:00 EST -> 03:00 EDT).
    expect(
      wallClock(toInstant(localInstant("2026-03-08", 0, "02:30", "America/New_York")), "America/New_York"),
    ).toEqual({ local: "2026-03-08 03:30", offset: -240 });
  });

  it("localTime shows the instant on the borrower's clock with its offset", () => {
    expect(localTime(new Date("2026-01-08T02:00:00Z"), "Asia/Shanghai")).toBe("2026-01-08T10:00:00+08:00");
    expect(localTime(new Date("2026-03-09T14:00:00Z"), "America/New_York")).toBe("2026-03-09T10:00:00-04:00");
  });

  describe("daysPastDue (calendar days in the borrower's zone)", () => {
    it("is 0 before and on the due date", () => {
      expect(daysPastDue("2026-01-15", "Asia/Shanghai", new Date("2026-01-10T00:00:00Z"))).toBe(0);
      expect(daysPastDue("2026-01-15", "Asia/Shanghai", new Date("2026-01-15T15:59:59Z"))).toBe(0);
    });

    it("is 1 from local midnight after the due date", () => {
      expect(daysPastDue("2026-01-15", "Asia/Shanghai", new Date("2026-01-15T16:00:00Z"))).toBe(1);
    });

    it("is 0 when it is still the due date in New York although it is the next day in UTC", () => {
      // 2026-01-16T03:00Z = 2026-01-15 22:00 EST.
      expect(daysPastDue("2026-01-15", "America/New_York", new Date("2026-01-16T03:00:00Z"))).toBe(0);
      expect(daysPastDue("2026-01-15", "UTC", new Date("2026-01-16T03:00:00Z"))).toBe(1);
    });

    it("is 1 in Shanghai when it is still the due date in UTC", () => {
      // 2026-01-15T20:00Z = 2026-01-16 04:00 in Shanghai.
      expect(daysPastDue("2026-01-15", "Asia/Shanghai", new Date("2026-01-15T20:00:00Z"))).toBe(1);
    });

    it("counts whole calendar days across a DST change", () => {
      // Due 2026-03-01; 2026-03-31 23:30 EDT is 30 days later although one day had 23 hours.
      expect(daysPastDue("2026-03-01", "America/New_York", new Date("2026-04-01T03:30:00Z"))).toBe(30);
      expect(daysPastDue("2026-03-01", "America/New_York", new Date("2026-04-01T04:00:00Z"))).toBe(31);
    });
  });
});

describe("planNext with DEFAULT_POLICY", () => {
  it("plans pre_due_7 at 2026-01-08T02:00:00Z for a Shanghai loan due 2026-01-15 subscribed on 2026-01-05", () => {
    const action = planNext(SHANGHAI, DEFAULT_POLICY, SUBSCRIBED);
    expect(action).toMatchObject({ kind: "step", plannedAt: "2026-01-08T02:00:00Z", superseded: [] });
    expect(action.kind === "step" && action.step.id).toBe("pre_due_7");
  });

  it("walks every step in policy order at 10:00 local, then hands off at D+30 10:00 local", () => {
    const { steps, handOff } = walk(SHANGHAI, SUBSCRIBED);
    expect(steps.map((s) => s.id)).toEqual(DEFAULT_POLICY.steps.map((s) => s.id));
    expect(steps.map((s) => s.plannedAt)).toEqual([
      "2026-01-08T02:00:00Z",
      "2026-01-12T02:00:00Z",
      "2026-01-14T02:00:00Z",
      "2026-01-15T02:00:00Z",
      "2026-01-16T02:00:00Z",
      "2026-01-18T02:00:00Z",
      "2026-01-22T02:00:00Z",
      "2026-01-30T02:00:00Z",
      "2026-02-05T02:00:00Z",
    ]);
    for (const step of steps) expect(wallClock(step.plannedAt, "Asia/Shanghai").local).toMatch(/ 10:00$/);
    expect(handOff).toBe("2026-02-14T02:00:00Z");
    expect(handOffInstant(SHANGHAI, DEFAULT_POLICY)).toBe(handOff);
  });

  it("never plans steps that had passed before the subscription", () => {
    // Subscribed on the due date at 12:00 local: D-7 ... D0 10:00 are history.
    const plan = { ...SHANGHAI, cursorAt: "2026-01-15T04:00:00Z" };
    const { steps } = walk(plan, new Date("2026-01-15T04:00:00Z"));
    expect(steps.map((s) => s.id)).toEqual(["soft_1", "soft_3", "soft_7", "soft_15", "final_notice_21"]);
  });

  it("treats a step planned exactly at the cursor as history", () => {
    const action = planNext({ ...SHANGHAI, cursorAt: "2026-01-08T02:00:00Z" }, DEFAULT_POLICY, SUBSCRIBED);
    expect(action.kind === "step" && action.step.id).toBe("pre_due_3");
  });

  it("chooses only the latest due step and reports the earlier due ones as superseded", () => {
    // Runtime down from the subscription to D+2 12:00 local: pre_due_7 ... soft_1 are all due.
    const action = planNext(SHANGHAI, DEFAULT_POLICY, new Date("2026-01-17T04:00:00Z"));
    expect(action.kind).toBe("step");
    if (action.kind !== "step") return;
    expect(action.step.id).toBe("soft_1");
    expect(action.plannedAt).toBe("2026-01-16T02:00:00Z");
    expect(action.superseded.map((s) => s.id)).toEqual(["pre_due_7", "pre_due_3", "pre_due_1", "due_day"]);
  });

  it("does not count steps at or before the cursor as superseded", () => {
    const plan = { ...SHANGHAI, cursorAt: "2026-01-12T02:00:00Z" };
    const action = planNext(plan, DEFAULT_POLICY, new Date("2026-01-15T02:00:00Z"));
    expect(action.kind === "step" && action.step.id).toBe("due_day");
    expect(action.kind === "step" && action.superseded.map((s) => s.id)).toEqual(["pre_due_1"]);
  });

  it("plans the next step (not a due one) when nothing is due yet", () => {
    const action = planNext(SHANGHAI, DEFAULT_POLICY, new Date("2026-01-08T01:59:59Z"));
    expect(action).toMatchObject({ kind: "step", plannedAt: "2026-01-08T02:00:00Z", superseded: [] });
  });

  it("plans the hand-off once every step is history, even when the hand-off is already past", () => {
    const action = planNext(
      { ...SHANGHAI, cursorAt: "2026-02-05T02:00:00Z" },
      DEFAULT_POLICY,
      new Date("2026-03-01T00:00:00Z"),
    );
    expect(action).toEqual({ kind: "hand_off", plannedAt: "2026-02-14T02:00:00Z" });
  });

  it("keeps every instant at 10:00 local across the 2026-03-08 DST change in New York", () => {
    const plan: PlanningInput = {
      dueDate: "2026-03-05",
      timeZone: "America/New_York",
      cursorAt: "2026-02-01T00:00:00Z",
    };
    const { steps, handOff } = walk(plan, new Date("2026-02-01T00:00:00Z"));
    expect(steps).toHaveLength(DEFAULT_POLICY.steps.length);
    const clocks = [...steps.map((s) => s.plannedAt), handOff].map((at) => wallClock(at, "America/New_York"));
    for (const clock of clocks) expect(clock.local).toMatch(/ 10:00$/);
    // D-7 (02-26) ... D+1 (03-06) are EST, D+3 (03-08, the change day) onwards EDT.
    expect(steps.map((s) => s.plannedAt)).toEqual([
      "2026-02-26T15:00:00Z",
      "2026-03-02T15:00:00Z",
      "2026-03-04T15:00:00Z",
      "2026-03-05T15:00:00Z",
      "2026-03-06T15:00:00Z",
      "2026-03-08T14:00:00Z",
      "2026-03-12T14:00:00Z",
      "2026-03-20T14:00:00Z",
      "2026-03-26T14:00:00Z",
    ]);
    expect(clocks.map((c) => c.offset)).toEqual([-300, -300, -300, -300, -300, -240, -240, -240, -240, -240]);
    expect(handOff).toBe("2026-04-04T14:00:00Z");
  });

  it("plans in a half-hour zone at 10:00 local (Asia/Kolkata)", () => {
    const plan: PlanningInput = {
      dueDate: "2026-01-15",
      timeZone: "Asia/Kolkata",
      cursorAt: "2026-01-01T00:00:00Z",
    };
    expect(stepInstant(plan, { offsetDays: -7, sendAt: "10:00" })).toBe("2026-01-08T04:30:00Z");
  });
});
