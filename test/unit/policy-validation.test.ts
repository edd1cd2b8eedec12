import { describe, expect, it } from "vitest";
import { NO_CHARGES } from "../../functions/domain/charges.ts";
import { DEFAULT_POLICY, type PolicyStep } from "../../functions/domain/policy.ts";
import { type PolicyRules, policyChanges, validatePolicy } from "../../functions/domain/policy-validation.ts";

const rules = (change: Partial<PolicyRules> = {}): PolicyRules => ({
  steps: DEFAULT_POLICY.steps.map((s) => ({ ...s, channels: [...s.channels] })),
  handOff: { ...DEFAULT_POLICY.handOff },
  contactWindow: { ...DEFAULT_POLICY.contactWindow },
  charges: { ...NO_CHARGES },
  ...change,
});

/** The default's steps with steps[i] changed. */
const withStep = (i: number, change: Partial<Record<keyof PolicyStep, unknown>>): PolicyRules => {
  const r = rules();
  r.steps[i] = { ...r.steps[i], ...change } as PolicyStep;
  return r;
};

const paths = (r: PolicyRules) => validatePolicy(r).map((i) => i.path);

describe("policy validation", () => {
  it("accepts the default policy", () => {
    expect(validatePolicy(rules())).toEqual([]);
  });

  it("refuses a 22:00 send time with the default 08:00-21:00 window, clearly", () => {
    expect(validatePolicy(withStep(5, { sendAt: "22:00" }))).toEqual([
      { path: "steps[5].sendAt", message: "22:00 is outside the contact window 08:00–21:00" },
    ]);
  });

  it("refuses a send time at the window's end (exclusive) or not HH:mm", () => {
    expect(paths(withStep(5, { sendAt: "21:00" }))).toEqual(["steps[5].sendAt"]);
    expect(validatePolicy(withStep(5, { sendAt: "9:00" }))).toEqual([
      { path: "steps[5].sendAt", message: "must be a time as HH:mm" },
    ]);
    expect(paths(withStep(5, { sendAt: "24:00" }))).toEqual(["steps[5].sendAt"]);
  });

  it("checks send times against the policy's own window", () => {
    const r = rules({ contactWindow: { start: "09:00", end: "18:00" } });
    expect(validatePolicy(r)).toEqual([]);
    r.steps[2] = { ...(r.steps[2] as PolicyStep), sendAt: "08:30" };
    expect(validatePolicy(r)[0]?.message).toMatch(/outside the contact window 09:00–18:00/);
  });

  it("refuses an empty policy", () => {
    expect(paths(rules({ steps: [] }))).toEqual(["steps"]);
  });

  it("refuses duplicate step ids", () => {
    expect(validatePolicy(withStep(5, { id: "soft_1" }))).toEqual([
      { path: "steps[5].id", message: 'duplicate step id "soft_1" (also steps[4])' },
    ]);
  });

  it("refuses steps out of order or at the same day and time", () => {
    expect(paths(withStep(5, { offsetDays: 10 }))).toEqual(["steps[6].offsetDays"]);
    expect(paths(withStep(5, { offsetDays: 1 }))).toEqual(["steps[5]"]);
    expect(paths(withStep(5, { offsetDays: 1, sendAt: "09:00" }))).toEqual(["steps[5].sendAt"]);
    expect(paths(withStep(5, { offsetDays: 1, sendAt: "11:00" }))).toEqual([]);
  });

  it("refuses offsets outside -60..+365", () => {
    expect(paths(withStep(0, { offsetDays: -61 }))).toEqual(["steps[0].offsetDays"]);
    const late = rules();
    late.steps = [...late.steps, { ...(late.steps[8] as PolicyStep), id: "late", offsetDays: 366 }];
    expect(paths({ ...late, handOff: { offsetDays: 365, at: "10:00" } })).toContain("steps[9].offsetDays");
  });

  it("refuses a contact window that is empty, reversed or outside 08:00-21:00", () => {
    expect(paths(rules({ contactWindow: { start: "07:00", end: "21:00" } }))).toEqual([
      "contactWindow.start",
    ]);
    expect(paths(rules({ contactWindow: { start: "08:00", end: "21:30" } }))).toEqual(["contactWindow.end"]);
    expect(validatePolicy(rules({ contactWindow: { start: "12:00", end: "12:00" } }))[0]).toEqual({
      path: "contactWindow",
      message: "start (12:00) must be before end (12:00)",
    });
    expect(paths(rules({ contactWindow: { start: "8am", end: "21:00" } }))).toEqual(["contactWindow.start"]);
  });

  it("refuses unknown templates and channels, and empty channels", () => {
    expect(validatePolicy(withStep(1, { template: "nope" }))[0]?.path).toBe("steps[1].template");
    expect(validatePolicy(withStep(1, { template: "nope" }))[0]?.message).toMatch(/unknown template "nope"/);
    expect(paths(withStep(1, { channels: [] }))).toEqual(["steps[1].channels"]);
    expect(paths(withStep(1, { channels: ["sms", "fax"] }))).toEqual(["steps[1].channels[1]"]);
  });

  it("refuses other stages, a pre_due step after the due date and a soft step on or before it", () => {
    expect(paths(withStep(1, { stage: "legal" }))).toEqual(["steps[1].stage"]);
    expect(paths(withStep(4, { stage: "pre_due" }))).toEqual(["steps[4].offsetDays"]);
    expect(paths(withStep(3, { stage: "soft_collection" }))).toEqual(["steps[3].offsetDays"]);
  });

  it("refuses a hand-off not after the last soft-collection step", () => {
    expect(validatePolicy(rules({ handOff: { offsetDays: 21, at: "10:00" } }))).toEqual([
      {
        path: "handOff.offsetDays",
        message: "the hand-off must come after the last soft-collection step (D+21)",
      },
    ]);
    expect(paths(rules({ handOff: { offsetDays: 30, at: "25:00" } }))).toEqual(["handOff.at"]);
  });

  it("refuses negative or non-decimal charges and a cap outside 0-100", () => {
    expect(paths(rules({ charges: { ...NO_CHARGES, lateFee: "-5" } }))).toEqual(["charges.lateFee"]);
    expect(paths(rules({ charges: { ...NO_CHARGES, dailyPenaltyRate: "1e-3" } }))).toEqual([
      "charges.dailyPenaltyRate",
    ]);
    expect(paths(rules({ charges: { ...NO_CHARGES, capPercentOfPrincipal: "100.01" } }))).toEqual([
      "charges.capPercentOfPrincipal",
    ]);
    expect(paths(rules({ charges: { ...NO_CHARGES, capPercentOfPrincipal: "100" } }))).toEqual([]);
    expect(paths(rules({ charges: { ...NO_CHARGES, lateFeeAfterDays: -1 } }))).toEqual([
      "charges.lateFeeAfterDays",
    ]);
  });
});

describe("policy changes", () => {
  it("names steps moved, added and removed", () => {
    const after = withStep(5, { offsetDays: 5 });
    after.steps = after.steps.filter((s) => s.id !== "final_notice_21");
    after.steps.push({ ...(DEFAULT_POLICY.steps[8] as PolicyStep), id: "final_25", offsetDays: 25 });
    expect(policyChanges(rules(), after)).toEqual([
      { path: "steps.final_notice_21", from: "D+21 10:00" },
      { path: "steps.soft_3", from: "D+3 10:00", to: "D+5 10:00" },
      { path: "steps.final_25", to: "D+25 10:00" },
    ]);
  });
});
