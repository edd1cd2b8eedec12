import { describe, expect, it } from "vitest";
import {
  simulationId,
  simulationRequestSchema,
  toSimulationRequest,
} from "../../functions/contracts/simulations.ts";
import { DEFAULT_POLICY } from "../../functions/domain/policy.ts";
import { newSimulationId } from "../../functions/domain/simulation-job.ts";

/** The body of POST /v1/simulations, checked at the edge: what it accepts, and what it refuses with which paths. */

const { id: _id, version: _version, templates: _templates, ...RULES } = DEFAULT_POLICY;
const SYNTHETIC = { synthetic: { loans: 2000 } };

/** The paths of the issues a body is refused with, each once (none: accepted). */
function refusals(body: unknown): string[] {
  const parsed = simulationRequestSchema.safeParse(body);
  return parsed.success ? [] : [...new Set(parsed.error.issues.map((issue) => issue.path.join(".")))];
}

describe("the simulation request", () => {
  it("takes a draft or a stored policy, optionally compared with another, over a synthetic portfolio or the open cases", () => {
    const bodies = [
      { policy: RULES, portfolio: SYNTHETIC },
      { policy: { ...RULES, id: "gentle", applyTo: "new_loans", comment: "a draft" }, portfolio: SYNTHETIC },
      { policyId: "default", portfolio: { openCases: true } },
      { policyId: "default", version: 1, compareWith: { policy: RULES }, portfolio: SYNTHETIC },
      {
        policy: RULES,
        compareWith: { policyId: "default", version: 3 },
        portfolio: { synthetic: { loans: 1_000_000, seed: 0, dueDays: 366, installmentShare: 0.02 } },
        start: "2026-03-02",
        days: 366,
        payments: { paymentTime: "18:00", payOnDay: { "-3": 0.5, "0": 0.5 } },
      },
    ];
    for (const body of bodies) expect(refusals(body), JSON.stringify(body).slice(0, 80)).toEqual([]);
  });

  it("turns a checked body into the use case's request: drafts as policy rules, the portfolio by kind", () => {
    const request = toSimulationRequest(
      simulationRequestSchema.parse({
        policy: { ...RULES, id: "gentle", handOff: { afterDaysPastDue: 45, at: "10:00" } },
        compareWith: { policyId: "default" },
        portfolio: { synthetic: { loans: 10, seed: 3 } },
        days: 30,
      }),
    );
    expect(request.policy).toMatchObject({
      kind: "draft",
      id: "gentle",
      rules: { handOff: { offsetDays: 45 } },
    });
    expect(request.compareWith).toEqual({ kind: "stored", policyId: "default" });
    expect(request.portfolio).toEqual({ kind: "synthetic", loans: 10, seed: 3 });
    expect(request).toMatchObject({ days: 30 });
    expect(request.start).toBeUndefined();
    expect(
      toSimulationRequest(simulationRequestSchema.parse({ policyId: "x", portfolio: { openCases: true } }))
        .portfolio,
    ).toEqual({ kind: "openCases" });
  });

  it("wants exactly one policy at the top level and in compareWith, and a version only of a stored one", () => {
    expect(refusals({ portfolio: SYNTHETIC })).toEqual(["policyId"]);
    expect(refusals({ policy: RULES, policyId: "default", portfolio: SYNTHETIC })).toEqual(["policyId"]);
    expect(refusals({ policy: RULES, version: 2, portfolio: SYNTHETIC })).toEqual(["version"]);
    expect(refusals({ policyId: "default", compareWith: {}, portfolio: SYNTHETIC })).toEqual([
      "compareWith.policyId",
    ]);
    expect(
      refusals({ policyId: "default", compareWith: { policy: RULES, version: 1 }, portfolio: SYNTHETIC }),
    ).toEqual(["compareWith.version"]);
    expect(refusals({ policyId: "Default!", portfolio: SYNTHETIC })).toEqual(["policyId"]);
    expect(refusals({ policy: { ...RULES, id: "No Such Id" }, portfolio: SYNTHETIC })).toEqual(["policy.id"]);
  });

  it("checks a draft's shape as PUT /v1/policies does, under the body's own paths", () => {
    expect(refusals({ policy: { ...RULES, steps: "none" }, portfolio: SYNTHETIC })).toEqual(["policy.steps"]);
    expect(
      refusals({
        policyId: "default",
        compareWith: { policy: { ...RULES, extra: 1 } },
        portfolio: SYNTHETIC,
      }),
    ).toEqual(["compareWith.policy"]);
    const { contactWindow: _window, ...noWindow } = RULES;
    expect(refusals({ policy: noWindow, portfolio: SYNTHETIC })).toEqual(["policy.contactWindow"]);
  });

  it("wants exactly one portfolio, of 1 to 1,000,000 loans, with at most 20,000 on a schedule", () => {
    const body = (portfolio: unknown) => ({ policyId: "default", portfolio });
    expect(refusals({ policyId: "default" })).toEqual(["portfolio"]);
    expect(refusals(body({}))).toEqual(["portfolio.synthetic"]);
    expect(refusals(body({ ...SYNTHETIC, openCases: true }))).toEqual(["portfolio.synthetic"]);
    expect(refusals(body({ openCases: false }))).toEqual(["portfolio.openCases"]);
    expect(refusals(body({ synthetic: { loans: 0 } }))).toEqual(["portfolio.synthetic.loans"]);
    expect(refusals(body({ synthetic: { loans: 1_000_001 } }))).toEqual(["portfolio.synthetic.loans"]);
    expect(refusals(body({ synthetic: { loans: 2.5 } }))).toEqual(["portfolio.synthetic.loans"]);
    expect(refusals(body({ synthetic: { loans: "2000" } }))).toEqual(["portfolio.synthetic.loans"]);
    expect(refusals(body({ synthetic: { loans: 10, seed: -1 } }))).toEqual(["portfolio.synthetic.seed"]);
    expect(refusals(body({ synthetic: { loans: 10, dueDays: 0 } }))).toEqual(["portfolio.synthetic.dueDays"]);
    expect(refusals(body({ synthetic: { loans: 10, installmentShare: 1.5 } }))).toEqual([
      "portfolio.synthetic.installmentShare",
    ]);
    expect(refusals(body({ synthetic: { loans: 10, size: 3 } }))).toEqual(["portfolio.synthetic"]);
    // 1,000,000 loans at the default share of 0.01 is 10,000 on a schedule; at 0.03 it is 30,000.
    expect(refusals(body({ synthetic: { loans: 1_000_000 } }))).toEqual([]);
    expect(refusals(body({ synthetic: { loans: 1_000_000, installmentShare: 0.03 } }))).toEqual([
      "portfolio.synthetic.installmentShare",
    ]);
  });

  it("checks the run's start, length and payment model, and refuses any other field", () => {
    const body = (over: object) => ({ policyId: "default", portfolio: SYNTHETIC, ...over });
    expect(refusals(body({ start: "2026-02-30" }))).toEqual(["start"]);
    expect(refusals(body({ start: "2026-3-2" }))).toEqual(["start"]);
    expect(refusals(body({ days: 0 }))).toEqual(["days"]);
    expect(refusals(body({ days: 367 }))).toEqual(["days"]);
    expect(refusals(body({ payments: { paymentTime: "25:00", payOnDay: { "0": 0.5 } } }))).toEqual([
      "payments",
    ]);
    expect(refusals(body({ payments: { paymentTime: "18:00", payOnDay: { "0": 0.7, "3": 0.7 } } }))).toEqual([
      "payments",
    ]);
    expect(refusals(body({ payments: "built-in" }))).toEqual(["payments"]);
    expect(refusals(body({ workers: 4 }))).toEqual([""]);
    expect(refusals(null)).toEqual([""]);
    expect(refusals([])).toEqual([""]);
  });

  it("takes only ids of the form it hands out", () => {
    expect(simulationId.safeParse(newSimulationId()).success).toBe(true);
    for (const id of ["sim_1", "apply-v2", "{simulationId}", `${newSimulationId()}x`]) {
      expect(simulationId.safeParse(id).success, id).toBe(false);
    }
  });
});
