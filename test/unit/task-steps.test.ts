import { describe, expect, it } from "vitest";
import { DEFAULT_POLICY, type PolicyStep } from "../../functions/domain/policy.ts";
import { type PolicyRules, validatePolicy } from "../../functions/domain/policy-validation.ts";

/** Call and visit steps in a policy, and the call rules it picks: what validation accepts and refuses. */
const call10: PolicyStep = {
  id: "call_10",
  stage: "soft_collection",
  offsetDays: 10,
  sendAt: "10:00",
  channels: [],
  template: "",
  task: "call",
};

const rules = (change: Partial<PolicyRules> = {}, step: Partial<PolicyStep> = {}): PolicyRules => {
  const { id: _id, version: _version, ...base } = DEFAULT_POLICY;
  const steps = [...base.steps, { ...call10, ...step }].sort((a, b) => a.offsetDays - b.offsetDays);
  return { ...base, steps, handOff: { offsetDays: 30, at: "10:00" }, ...change };
};
const issues = (r: PolicyRules) => validatePolicy(r).map((i) => `${i.path}: ${i.message}`);

describe("call and visit steps", () => {
  it("takes a call step without channels or template, and a rule pack", () => {
    expect(issues(rules({ callRules: { rulePack: "us-federal" } }))).toEqual([]);
  });

  it("refuses a task step that also sends, and an unknown task", () => {
    expect(issues(rules({}, { channels: ["sms"] })).join()).toMatch(
      /\.channels: a call or visit step sends no/,
    );
    expect(issues(rules({}, { task: "fax" as never })).join()).toMatch(/\.task: must be one of call, visit/);
  });

  it("lets a policy make a rule pack stricter, never looser", () => {
    const stricter = {
      rulePack: "cn" as const,
      overrides: { connectedCallsPerDebtorPerDay: 2, visitStaff: 3 },
    };
    expect(issues(rules({ callRules: stricter }))).toEqual([]);
    const looser = {
      rulePack: "cn" as const,
      overrides: { connectedCallsPerDebtorPerDay: 5, visitStaff: 1 },
    };
    expect(issues(rules({ callRules: looser }))).toEqual([
      "callRules.overrides.connectedCallsPerDebtorPerDay: may only be stricter than cn's 3",
      "callRules.overrides.visitStaff: may only be stricter than cn's 2",
    ]);
    expect(issues(rules({ callRules: { rulePack: "eu" as never } }))).toEqual([
      "callRules.rulePack: must be one of cn, us-federal, us-ma",
    ]);
    expect(issues(rules({ callRules: { rulePack: "cn", overrides: { callsPerHour: 1 } } })).join()).toMatch(
      /callRules\.overrides\.callsPerHour: unknown limit/,
    );
  });
});
