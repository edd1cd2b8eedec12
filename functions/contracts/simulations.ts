import * as z from "zod";
import { type PaymentModel, paymentModelIssues } from "../../simulator/payments.ts";
import { DEFAULT_INSTALLMENT_SHARE } from "../../simulator/portfolio.ts";
import {
  MAX_INSTALLMENT_LOANS,
  MAX_SIMULATED_LOANS,
  MAX_SIMULATION_DAYS,
  SIMULATION_ID,
} from "../domain/simulation-job.ts";
import type { PolicyChoice, SimulationRequest } from "../usecases/simulations.ts";
import { calendarDate, policyId, policyUpdateSchema, toPolicyRules } from "./requests.ts";

/** The body of POST /v1/simulations, checked whole at the edge: a bad body stores nothing. */

const version = z.number().int("must be a whole number").min(1);

/**
 * A policy to simulate: a draft (a PUT /v1/policies body) or a stored policy, at its active version or a given one.
 * Exactly one of `policy` and `policyId`; the body names its own the same way, beside compareWith.
 */
const choiceFields = {
  policy: policyUpdateSchema.optional(),
  policyId: policyId.optional(),
  version: version.optional(),
};

function choiceRule(
  choice: {
    policy?: { id?: string | undefined };
    policyId?: string | undefined;
    version?: number | undefined;
  },
  ctx: z.RefinementCtx,
): void {
  // A draft's id names the stored policy whose texts it keeps when it has none, as PUT does, and labels it.
  const draftId = choice.policy?.id;
  if (draftId !== undefined && !policyId.safeParse(draftId).success) {
    ctx.addIssue({ code: "custom", path: ["policy", "id"], message: "lowercase letters, digits, _ and -" });
  }
  if ((choice.policy === undefined) === (choice.policyId === undefined)) {
    ctx.addIssue({
      code: "custom",
      path: ["policyId"],
      message: "give either policy (a draft) or policyId (a stored policy), not both",
    });
  }
  if (choice.version !== undefined && choice.policyId === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["version"],
      message: "is a stored policy's version: give policyId",
    });
  }
}

const policyChoice = z.strictObject(choiceFields).superRefine(choiceRule);

const syntheticPortfolio = z
  .strictObject({
    loans: z.number().int("must be a whole number").min(1).max(MAX_SIMULATED_LOANS),
    seed: z
      .number()
      .int("must be a whole number")
      .min(0)
      .max(2 ** 32 - 1)
      .optional(),
    dueDays: z.number().int("must be a whole number").min(1).max(MAX_SIMULATION_DAYS).optional(),
    installmentShare: z.number().min(0).max(1).optional(),
  })
  .refine((p) => p.loans * (p.installmentShare ?? DEFAULT_INSTALLMENT_SHARE) <= MAX_INSTALLMENT_LOANS, {
    path: ["installmentShare"],
    message: `at most ${MAX_INSTALLMENT_LOANS} loans on a schedule (loans × installmentShare, by default ${DEFAULT_INSTALLMENT_SHARE})`,
  });

const portfolio = z
  .strictObject({
    synthetic: syntheticPortfolio.optional(),
    openCases: z.literal(true, "must be true: the tenant's open cases").optional(),
  })
  .refine((p) => (p.synthetic === undefined) !== (p.openCases === undefined), {
    path: ["synthetic"],
    message: "give either synthetic ({ loans, … }) or openCases (true)",
  });

const payments = z.unknown().superRefine((value, ctx) => {
  for (const issue of paymentModelIssues(value)) ctx.addIssue({ code: "custom", message: issue });
});

export const simulationRequestSchema = z
  .strictObject({
    ...choiceFields,
    compareWith: policyChoice.optional(),
    portfolio,
    /** First simulated day; default the business clock's today (UTC). */
    start: calendarDate.optional(),
    days: z.number().int("must be a whole number").min(1).max(MAX_SIMULATION_DAYS).optional(),
    payments: payments.optional(),
  })
  .superRefine(choiceRule);

export const simulationId = z
  .string()
  .regex(SIMULATION_ID, "must be a simulation id as POST /v1/simulations answered it");

/** The request a checked body makes: drafts as policy rules, the portfolio as the use case takes it. */
export function toSimulationRequest(body: z.infer<typeof simulationRequestSchema>): SimulationRequest {
  const { compareWith, portfolio: chosen, start, days, payments: model } = body;
  const synthetic = chosen.synthetic;
  return {
    policy: choiceOf(body),
    ...(compareWith ? { compareWith: choiceOf(compareWith) } : {}),
    portfolio: synthetic
      ? {
          kind: "synthetic",
          loans: synthetic.loans,
          ...(synthetic.seed !== undefined ? { seed: synthetic.seed } : {}),
          ...(synthetic.dueDays !== undefined ? { dueDays: synthetic.dueDays } : {}),
          ...(synthetic.installmentShare !== undefined
            ? { installmentShare: synthetic.installmentShare }
            : {}),
        }
      : { kind: "openCases" },
    ...(start !== undefined ? { start } : {}),
    ...(days !== undefined ? { days } : {}),
    // Checked by paymentModelIssues above.
    ...(model !== undefined ? { payments: model as PaymentModel } : {}),
  };
}

function choiceOf(choice: z.infer<typeof policyChoice>): PolicyChoice {
  if (choice.policy) {
    return {
      kind: "draft",
      ...(choice.policy.id !== undefined ? { id: choice.policy.id } : {}),
      rules: toPolicyRules(choice.policy),
    };
  }
  return {
    kind: "stored",
    policyId: choice.policyId as string,
    ...(choice.version !== undefined ? { version: choice.version } : {}),
  };
}
