import { randomUUID } from "node:crypto";
import { type CaseChange, subscribe } from "../../functions/domain/loan-case.ts";
import { money } from "../../functions/domain/money.ts";
import { DEFAULT_POLICY, type PolicyStep } from "../../functions/domain/policy.ts";
import type { StepDecision } from "../../functions/domain/step-lifecycle.ts";
import { subscriptionRequest } from "../support/fixtures.ts";

export const T0 = new Date("2026-01-01T02:00:00Z");

export function minutesAfter(start: Date, minutes: number): Date {
  return new Date(start.getTime() + minutes * 60_000);
}

export function uniqueLoanId(prefix = "loan"): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** A realistic subscription change, as the subscribe use case builds it. */
export function subscription(
  tenantId: string,
  loanId: string,
  now: Date = T0,
  amount = "1250.00",
): CaseChange {
  return subscribe(
    tenantId,
    subscriptionRequest(loanId, { amountDue: money(amount, "CNY") }),
    DEFAULT_POLICY,
    `hash-of-${loanId}`,
    "api:lender-key",
    now,
  );
}

export function policyStep(id: string): PolicyStep {
  const step = DEFAULT_POLICY.steps.find((candidate) => candidate.id === id);
  if (!step) throw new Error(`no step ${id} in the default policy`);
  return step;
}

/** A send decision for pre_due_3 that supersedes pre_due_7: claiming it writes two audit events. */
export function sendDecision(): Extract<StepDecision, { kind: "send" }> {
  return {
    kind: "send",
    step: policyStep("pre_due_3"),
    plannedAt: "2026-01-12T02:00:00Z",
    superseded: [policyStep("pre_due_7")],
    channels: ["sms"],
  };
}
