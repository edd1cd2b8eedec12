import { CaseStateConflictError } from "../errors.ts";
import type { EventOutcome, LoanCase } from "../loan-case.ts";
import { type EventContext, type EventOf, outcome } from "./handler.ts";

/** The borrower disputes the debt: no contact while it is open; the dispute replaces any agreement's hold. */
export function openDispute(
  loanCase: LoanCase,
  event: EventOf<"dispute_opened">,
  ctx: EventContext,
): EventOutcome {
  const { actor, occurredAt } = ctx;
  // A borrower says why on the self-service page; the lender's API event carries no reason.
  const reason = event.reason === undefined ? {} : { reason: event.reason };
  return outcome(
    loanCase,
    ctx,
    { status: "on_hold", hold: { reason: "dispute", since: occurredAt } },
    {
      type: "dispute_opened",
      actor,
      data: { occurredAt, replacedHold: loanCase.hold?.reason ?? null, ...reason },
    },
    "stop",
  );
}

/** The open dispute is over: the hold lifts and collection resumes. */
export function resolveDispute(
  loanCase: LoanCase,
  _event: EventOf<"dispute_resolved">,
  ctx: EventContext,
): EventOutcome {
  const { actor, occurredAt } = ctx;
  if (loanCase.hold?.reason !== "dispute") throw new CaseStateConflictError("there is no open dispute");
  return outcome(
    loanCase,
    ctx,
    { status: "active", hold: null },
    { type: "dispute_resolved", actor, data: { occurredAt, openedAt: loanCase.hold.since } },
    "replan",
  );
}
