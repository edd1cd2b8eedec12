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
