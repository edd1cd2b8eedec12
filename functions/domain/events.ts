import type { Charges } from "./charges.ts";
import { BusinessRuleError, CaseStateConflictError } from "./errors.ts";
import { agreeSettlement, extendGrace, planInstallments, promiseToPay } from "./events/agreements.ts";
import { preferContactTime, setChannelConsent } from "./events/consent.ts";
import { openDispute, resolveDispute } from "./events/disputes.ts";
import type { EventContext, EventHandler, EventOf } from "./events/handler.ts";
import { reversePayment, takePayment } from "./events/payments.ts";
import { assessCustomerType, recordConsent } from "./events/segments.ts";
import { closeCase, endContact } from "./events/stops.ts";
import type { LoanEvent, LoanEventType } from "./events/types.ts";
import type { CaseStatus, EventOutcome, LoanCase } from "./loan-case.ts";
import { toInstant } from "./time.ts";

export type { LoanEvent, LoanEventType } from "./events/types.ts";

/** The statuses in which each event may be applied; anything else is a 409 naming the status. */
export const ALLOWED: Record<LoanEventType, readonly CaseStatus[]> = {
  payment: ["active", "on_hold", "legal"],
  payment_reversed: ["active", "on_hold", "paid", "settled", "legal"],
  promise_to_pay: ["active", "on_hold"],
  grace_extension: ["active"],
  installment_plan: ["active", "on_hold"],
  settlement: ["active", "on_hold"],
  dispute_opened: ["active", "on_hold"],
  dispute_resolved: ["on_hold"],
  bankruptcy: ["active", "on_hold"],
  deceased: ["active", "on_hold", "legal"],
  cease_contact: ["active", "on_hold"],
  opt_out: ["active", "on_hold", "legal", "paid", "settled"],
  opt_in: ["active", "on_hold", "legal", "paid", "settled"],
  contact_time_preferred: ["active", "on_hold"],
  withdrawn: ["active", "on_hold", "legal"],
  customer_type_assessed: ["active", "on_hold"],
  consent_recorded: ["active", "on_hold", "legal"],
};

/** Event types only the borrowers' page tells: the lender API neither takes nor documents them. */
export const BORROWER_ONLY_EVENTS: readonly LoanEventType[] = ["contact_time_preferred"];

/** How many recent lender event ids a case remembers for de-duplication. */
const REMEMBERED_EVENT_IDS = 50;

/**
 * What each event type does to a case, by family (functions/domain/events/). The mapped type gives every event
 * type exactly one handler that takes that type's fields: a type left out or named twice does not compile.
 */
const HANDLERS: { [T in LoanEventType]: EventHandler<EventOf<T>> } = {
  payment: takePayment,
  payment_reversed: reversePayment,
  promise_to_pay: promiseToPay,
  grace_extension: extendGrace,
  installment_plan: planInstallments,
  settlement: agreeSettlement,
  dispute_opened: openDispute,
  dispute_resolved: resolveDispute,
  bankruptcy: endContact,
  cease_contact: endContact,
  deceased: closeCase,
  withdrawn: closeCase,
  opt_out: setChannelConsent,
  opt_in: setChannelConsent,
  contact_time_preferred: preferContactTime,
  customer_type_assessed: assessCustomerType,
  consent_recorded: recordConsent,
};

/**
 * Applies a lender event to a case: the case state machine. Each event type has one meaning for the
 * status, the balance and the schedule (see the README's event table); an event the status does not allow
 * is refused with CASE_STATE_CONFLICT, and events must arrive in business order.
 */
export function applyEvent(
  loanCase: LoanCase,
  event: LoanEvent,
  actor: string,
  now: Date,
  charges: Charges,
): EventOutcome | { duplicate: true } {
  if (event.eventId && loanCase.recentEventIds.includes(event.eventId)) return { duplicate: true };
  // An event without occurredAt happened now — and never before what was already applied (a lender's clock may
  // run a little ahead: a later event without a time must not be refused as out of order).
  const occurredAt = event.occurredAt
    ? toInstant(new Date(event.occurredAt))
    : loanCase.lastEventAt && Date.parse(loanCase.lastEventAt) > now.getTime()
      ? loanCase.lastEventAt
      : toInstant(now);
  if (Date.parse(occurredAt) > now.getTime() + 5 * 60_000) {
    throw new BusinessRuleError("EVENT_IN_THE_FUTURE", `occurredAt ${occurredAt} is in the future`, [
      { path: "occurredAt", message: "must not be in the future" },
    ]);
  }
  if (loanCase.lastEventAt && Date.parse(occurredAt) < Date.parse(loanCase.lastEventAt)) {
    throw new CaseStateConflictError(
      `event occurred at ${occurredAt}, before the last applied event (${loanCase.lastEventAt}); send events in the order they happened`,
      [{ path: "occurredAt", message: `must be at or after ${loanCase.lastEventAt}` }],
      "EVENT_OUT_OF_ORDER",
    );
  }
  if (!ALLOWED[event.type].includes(loanCase.status)) {
    throw new CaseStateConflictError(`${event.type} is not allowed on a ${loanCase.status} case`, [
      { path: "type", message: `allowed when the case is ${ALLOWED[event.type].join(", ")}` },
    ]);
  }
  const ctx: EventContext = { actor, now, occurredAt, charges };
  const handled = runEventHandler(loanCase, event, ctx);
  // Placed with an agency that pauses the lender's messages, the case runs no workflow until it is recalled.
  const paused = handled.next.placement?.pauseMessages === true && handled.workflow === "replan";
  const result: EventOutcome = paused ? { ...handled, workflow: "stop" } : handled;
  const recentEventIds = event.eventId
    ? [...loanCase.recentEventIds, event.eventId].slice(-REMEMBERED_EVENT_IDS)
    : loanCase.recentEventIds;
  const events = result.events.map((e, i) =>
    i === 0 ? { ...e, data: { ...e.data, ...(event.eventId ? { eventId: event.eventId } : {}) } } : e,
  );
  // A re-plan runs under a new generation: the old execution is stopped and one for the new generation starts.
  const generation = result.workflow === "replan" ? loanCase.generation + 1 : loanCase.generation;
  return { ...result, events, next: { ...result.next, recentEventIds, generation } };
}

/** What the event's own handler makes of the case, before the bookkeeping every event shares (applyEvent). */
function runEventHandler(loanCase: LoanCase, event: LoanEvent, ctx: EventContext): EventOutcome {
  // The table is keyed by type, so the handler looked up takes exactly this event's variant; TypeScript cannot
  // follow that link through the union on its own.
  const handler = HANDLERS[event.type] as EventHandler<LoanEvent>;
  return handler(loanCase, event, ctx);
}
