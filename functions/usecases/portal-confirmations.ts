import { DateTime } from "luxon";
import { conflictBackoff } from "../concurrency.ts";
import { CHANNEL_NAMES, confirmationDecision, type PendingConfirmation } from "../domain/confirmations.ts";
import { ConcurrentUpdateError } from "../domain/errors.ts";
import type { CaseChange, LoanCase } from "../domain/loan-case.ts";
import { formatMoney } from "../domain/money.ts";
import type { PortalLink } from "../domain/portal.ts";
import { toInstant } from "../domain/time.ts";
import { type LenderDeps, workflowRef } from "./lender.ts";
import { replannedCase, startReplanned, stopExecutionOf } from "./workflow-start.ts";

/** What a borrower's action was, in the terms its confirmation states it (formatted when it is owed). */
export type ActionTaken =
  | { action: "promise"; amount: LoanCase["balance"]; date: string }
  | { action: "plan"; installments: { dueDate: string; amount: LoanCase["balance"] }[] }
  | { action: "plan_requested"; months: number }
  | { action: "contact_time"; time: string | null }
  | { action: "opt_out"; channel: "sms" | "email" }
  | { action: "dispute" };

/**
 * Owes the borrower a short confirmation of what they just did on their page. The case is re-planned into a new
 * generation that sends it first — at once inside the contact window, else when the window opens. Where the
 * rules already forbid it (a dispute or another hold on contact, the link's channels opted out), the trail says
 * so instead. A separate write after the action: if it fails, the action stands and only the message is missing.
 */
export async function oweConfirmation(deps: LenderDeps, link: PortalLink, taken: ActionTaken): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const current = await deps.cases.get(link.tenantId, link.loanId);
    if (!current) return;
    const policy = await deps.policies.get(current.tenantId, current.policy.id, current.policy.version);
    if (!policy) return;
    const now = deps.clock.now();
    const pending: PendingConfirmation = {
      action: taken.action,
      linkId: link.linkId,
      channels: link.channels,
      requestedAt: toInstant(now),
      details: detailsOf(taken, current.borrower.locale),
    };
    const decision = confirmationDecision(current, policy, pending, now);
    const change: CaseChange =
      decision.kind === "withheld"
        ? {
            next: { ...current, updatedAt: toInstant(now) },
            events: [
              {
                type: "confirmation_withheld",
                actor: "system:portal",
                data: withheldData(pending, decision.rule),
              },
            ],
          }
        : replannedCase(
            {
              ...current,
              confirmation: pending,
              generation: current.generation + 1,
              updatedAt: toInstant(now),
            },
            policy,
            "borrower_confirmation",
            now,
            deps.horizonDays,
          );
    try {
      const stored = await deps.cases.update(current, change, toInstant(now));
      if (decision.kind === "withheld") return;
      await stopExecutionOf(deps.workflow, current, workflowRef(current));
      await startReplanned(deps.workflow, stored, policy, now);
      return;
    } catch (error) {
      if (!(error instanceof ConcurrentUpdateError) || attempt >= 5) throw error;
      await conflictBackoff(attempt);
    }
  }
}

const withheldData = (pending: PendingConfirmation, rule: string) => ({
  action: pending.action,
  linkId: pending.linkId,
  rule,
});

/** The confirmation's wording of the action, for the borrower's locale. */
function detailsOf(taken: ActionTaken, locale: LoanCase["borrower"]["locale"]): Record<string, string> {
  const date = (iso: string) => DateTime.fromISO(iso).setLocale(locale).toLocaleString(DateTime.DATE_FULL);
  switch (taken.action) {
    case "promise":
      return { amount: formatMoney(taken.amount, locale), date: date(taken.date) };
    case "plan": {
      const [first] = taken.installments;
      return {
        months: String(taken.installments.length),
        first: first ? formatMoney(first.amount, locale) : "",
        firstDate: first ? date(first.dueDate) : "",
      };
    }
    case "plan_requested":
      return { months: String(taken.months) };
    case "contact_time":
      return { time: taken.time ?? "" };
    case "opt_out":
      return { channel: CHANNEL_NAMES[locale][taken.channel] };
    case "dispute":
      return {};
  }
}
