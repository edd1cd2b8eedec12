import fc from "fast-check";
import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import { isInsideWindow } from "../../functions/domain/contact-window.ts";
import { type PlanningInput, planNext } from "../../functions/domain/planning.ts";
import { DEFAULT_POLICY } from "../../functions/domain/policy.ts";
import { localMinutes, ZONES } from "./fixtures.ts";

const DUE_DATES = fc
  .date({ min: new Date("2026-01-01T00:00:00Z"), max: new Date("2028-12-31T00:00:00Z"), noInvalidDate: true })
  .map((d) => d.toISOString().slice(0, 10));

/** Every action planNext yields when the cursor follows each planned step, from a subscription 40 days early. */
function plannedActions(dueDate: string, timeZone: string) {
  const start = DateTime.fromISO(dueDate, { zone: timeZone })
    .minus({ days: 40 })
    .toUTC()
    .toISO({ suppressMilliseconds: true });
  let plan: PlanningInput = { dueDate, timeZone, cursorAt: start as string };
  const subscribedAt = new Date(plan.cursorAt);
  const actions = [];
  for (let i = 0; i <= DEFAULT_POLICY.steps.length; i++) {
    const action = planNext(plan, DEFAULT_POLICY, subscribedAt);
    actions.push(action);
    if (action.kind === "hand_off") break;
    plan = { ...plan, cursorAt: action.plannedAt };
  }
  return actions;
}

describe("DEFAULT_POLICY over random due dates and zones", () => {
  it("uses at least 30 zones, including half-hour offsets and DST", () => {
    expect(ZONES.length).toBeGreaterThanOrEqual(30);
    expect(ZONES).toEqual(expect.arrayContaining(["Asia/Kolkata", "Australia/Adelaide", "America/St_Johns"]));
  });

  it("every step planNext plans is inside 08:00-21:00 local, at 10:00 local, in policy order, then the hand-off", () => {
    fc.assert(
      fc.property(DUE_DATES, fc.constantFrom(...ZONES), (dueDate, zone) => {
        const actions = plannedActions(dueDate, zone);
        const steps = actions.filter((a) => a.kind === "step");
        expect(steps.map((a) => a.step.id)).toEqual(DEFAULT_POLICY.steps.map((s) => s.id));
        for (const action of steps) {
          expect(isInsideWindow(new Date(action.plannedAt), zone, DEFAULT_POLICY.contactWindow)).toBe(true);
          expect(localMinutes(action.plannedAt, zone)).toBe(10 * 60);
          const local = DateTime.fromISO(action.plannedAt).setZone(zone);
          const expectedDate = DateTime.fromISO(dueDate).plus({ days: action.step.offsetDays }).toISODate();
          expect(local.toISODate()).toBe(expectedDate);
        }
        const last = actions.at(-1);
        expect(last?.kind).toBe("hand_off");
        const handOffLocal = DateTime.fromISO(last?.plannedAt ?? "").setZone(zone);
        expect(handOffLocal.toISODate()).toBe(DateTime.fromISO(dueDate).plus({ days: 30 }).toISODate());
        expect(handOffLocal.toFormat("HH:mm")).toBe("10:00");
        const instants = actions.map((a) => a.plannedAt);
        expect([...instants].sort()).toEqual(instants);
      }),
      // Each run walks ten planNext calls (~90 zone conversions); 200 runs cover every zone several times.
      { numRuns: 200 },
    );
  }, 30_000);

  it("whatever `now` is, the chosen step is the latest due one and it is inside the window", () => {
    fc.assert(
      fc.property(
        DUE_DATES,
        fc.constantFrom(...ZONES),
        fc.integer({ min: -10 * 24 * 60, max: 40 * 24 * 60 }),
        (dueDate, zone, minutesFromDue) => {
          const due = DateTime.fromISO(dueDate, { zone });
          const plan: PlanningInput = {
            dueDate,
            timeZone: zone,
            cursorAt: due.minus({ days: 40 }).toUTC().toISO({ suppressMilliseconds: true }) as string,
          };
          const now = due.plus({ minutes: minutesFromDue }).toJSDate();
          const action = planNext(plan, DEFAULT_POLICY, now);
          // Every step is after the cursor, so a step is always planned.
          if (action.kind !== "step") throw new Error(`expected a step, got ${JSON.stringify(action)}`);
          expect(isInsideWindow(new Date(action.plannedAt), zone, DEFAULT_POLICY.contactWindow)).toBe(true);
          const dueIds = DEFAULT_POLICY.steps
            .filter((_, i) => i < DEFAULT_POLICY.steps.indexOf(action.step))
            .map((s) => s.id);
          if (Date.parse(action.plannedAt) <= now.getTime()) {
            expect(action.superseded.map((s) => s.id)).toEqual(dueIds);
          } else {
            expect(action.step.id).toBe(DEFAULT_POLICY.steps[0]?.id);
            expect(action.superseded).toEqual([]);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
