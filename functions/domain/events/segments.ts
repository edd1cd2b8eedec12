import type { EventOutcome, LoanCase } from "../loan-case.ts";
import { type EventContext, type EventOf, outcome } from "./handler.ts";

/**
 * The lender tells why the borrower is late (temporary difficulty, unwilling, long overdue, bankrupt). The case
 * keeps it for the tenant's strategy, which may move the case to the policy of its new segment (the use case
 * decides that, with the strategy in hand); by itself the assessment changes nothing the workflow runs on.
 */
export function assessCustomerType(
  loanCase: LoanCase,
  event: EventOf<"customer_type_assessed">,
  ctx: EventContext,
): EventOutcome {
  const { actor, occurredAt } = ctx;
  const data = {
    from: loanCase.customerType ?? null,
    to: event.customerType,
    ...(event.reason !== undefined ? { reason: event.reason } : {}),
    occurredAt,
  };
  return outcome(
    loanCase,
    ctx,
    { customerType: event.customerType },
    { type: "customer_type_assessed", actor, data },
    "none",
  );
}

/** The lender records the borrower's consent to share their data with a third party (an agency working the case). */
export function recordConsent(
  loanCase: LoanCase,
  event: EventOf<"consent_recorded">,
  ctx: EventContext,
): EventOutcome {
  const { actor, occurredAt } = ctx;
  const consents = { ...loanCase.consents, [event.scope]: occurredAt };
  return outcome(
    loanCase,
    ctx,
    { consents },
    { type: "consent_recorded", actor, data: { scope: event.scope, occurredAt } },
    "none",
  );
}
