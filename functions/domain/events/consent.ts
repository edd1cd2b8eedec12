import type { EventOutcome, LoanCase } from "../loan-case.ts";
import { type EventContext, type EventOf, outcome } from "./handler.ts";

/**
 * The borrower withdraws or gives back consent to one channel; the next step already honours it, and the
 * workflow runs on untouched.
 */
export function setChannelConsent(
  loanCase: LoanCase,
  event: EventOf<"opt_out" | "opt_in">,
  ctx: EventContext,
): EventOutcome {
  const { actor, occurredAt } = ctx;
  const optedOut =
    event.type === "opt_out"
      ? [...new Set([...loanCase.optedOut, event.channel])]
      : loanCase.optedOut.filter((c) => c !== event.channel);
  return outcome(
    loanCase,
    ctx,
    { optedOut },
    {
      type: event.type === "opt_out" ? "opted_out" : "opted_in",
      actor,
      data: { channel: event.channel, occurredAt },
    },
    "none",
  );
}

/**
 * The borrower chooses the time of day reminders come at (inside the contact window, checked where it is asked):
 * every step not yet sent is planned at that local time instead of the policy's, so the workflow re-plans.
 */
export function preferContactTime(
  loanCase: LoanCase,
  event: EventOf<"contact_time_preferred">,
  ctx: EventContext,
): EventOutcome {
  const { actor, occurredAt } = ctx;
  const data = { from: loanCase.preferredSendAt ?? null, to: event.time, occurredAt };
  const entry = { type: "contact_time_preferred", actor, data };
  return outcome(loanCase, ctx, { preferredSendAt: event.time }, entry, "replan");
}
