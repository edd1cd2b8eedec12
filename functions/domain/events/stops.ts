import type { EventOutcome, LoanCase } from "../loan-case.ts";
import { daysPastDue } from "../time.ts";
import { type EventContext, type EventOf, outcome } from "./handler.ts";

/**
 * Bankruptcy or a request to cease contact: no more contact with the borrower, ever; the case goes the legal
 * route, and `contactEnded` keeps it off every contact path even if a payment is later reversed.
 */
export function endContact(
  loanCase: LoanCase,
  event: EventOf<"bankruptcy" | "cease_contact">,
  ctx: EventContext,
): EventOutcome {
  const { actor, now, occurredAt } = ctx;
  return outcome(
    loanCase,
    ctx,
    { status: "legal", hold: null, contactEnded: event.type },
    {
      type: event.type === "bankruptcy" ? "bankruptcy_notified" : "cease_contact_requested",
      actor,
      data: { occurredAt, daysPastDue: daysPastDue(loanCase.dueDate, loanCase.borrower.timeZone, now) },
    },
    "stop",
  );
}

/** The borrower died or the lender withdrew the loan: the case closes with what was still owed on record. */
export function closeCase(
  loanCase: LoanCase,
  event: EventOf<"deceased" | "withdrawn">,
  ctx: EventContext,
): EventOutcome {
  const { actor, occurredAt } = ctx;
  return outcome(
    loanCase,
    ctx,
    { status: "closed", hold: null },
    {
      type: event.type === "deceased" ? "deceased_notified" : "loan_withdrawn",
      actor,
      data: { occurredAt, balance: loanCase.balance },
    },
    "stop",
  );
}
