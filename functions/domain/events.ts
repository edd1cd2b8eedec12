import { DateTime } from "luxon";
import type { AuditEvent } from "./audit-chain.ts";
import type { Charges } from "./charges.ts";
import { BusinessRuleError, CaseStateConflictError } from "./errors.ts";
import {
  assertAmount,
  breakdown,
  type CaseStatus,
  chargedTo,
  type EventOutcome,
  type Hold,
  type LoanCase,
  recordPayment,
  type WorkflowEffect,
} from "./loan-case.ts";
import { add, compare, type Money, money, subtract } from "./money.ts";
import type { Channel } from "./policy.ts";
import { daysPastDue, toInstant } from "./time.ts";

/** Everything a lender can tell us about a loan (the contract's event types). */
export type LoanEvent = { occurredAt?: string; eventId?: string } & (
  | { type: "payment"; amount: Money }
  | { type: "payment_reversed"; amount: Money }
  | { type: "promise_to_pay"; amount: Money; promisedDate: string }
  | { type: "grace_extension"; newDueDate: string }
  | { type: "installment_plan"; installments: { dueDate: string; amount: Money }[] }
  | { type: "settlement"; amount: Money; payBy: string }
  | { type: "dispute_opened" }
  | { type: "dispute_resolved" }
  | { type: "bankruptcy" }
  | { type: "deceased" }
  | { type: "cease_contact" }
  | { type: "opt_out"; channel: Channel }
  | { type: "opt_in"; channel: Channel }
  | { type: "withdrawn" }
);

export type LoanEventType = LoanEvent["type"];

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
  withdrawn: ["active", "on_hold", "legal"],
};

/** How many recent lender event ids a case remembers for de-duplication. */
const REMEMBERED_EVENT_IDS = 50;

interface Context {
  actor: string;
  now: Date;
  occurredAt: string;
  charges: Charges;
}

function outcome(
  loanCase: LoanCase,
  ctx: Context,
  changes: Partial<LoanCase>,
  event: AuditEvent,
  workflow: WorkflowEffect,
  extra: AuditEvent[] = [],
): EventOutcome {
  const next: LoanCase = {
    ...loanCase,
    ...changes,
    updatedAt: toInstant(ctx.now),
    lastEventAt: ctx.occurredAt,
  };
  return { next, events: [event, ...extra], workflow };
}

function localToday(loanCase: LoanCase, now: Date): string {
  return DateTime.fromJSDate(now).setZone(loanCase.borrower.timeZone).toISODate() as string;
}

function assertNotBefore(date: string, today: string, path: string): void {
  if (date < today) {
    throw new BusinessRuleError(
      "DATE_IN_THE_PAST",
      `${path} ${date} is before today (${today}) in the borrower's zone`,
      [{ path, message: `must be on or after ${today}` }],
    );
  }
}

function assertWithinBalance(amount: Money, balance: Money, path: string): void {
  if (compare(amount, balance) > 0) {
    throw new BusinessRuleError(
      "AMOUNT_EXCEEDS_BALANCE",
      `${amount.amount} exceeds the balance ${balance.amount}`,
      [{ path: `${path}.amount`, message: `must be at most ${balance.amount}` }],
    );
  }
}

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
  const ctx: Context = { actor, now, occurredAt, charges };
  const result = apply(loanCase, event, ctx);
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

/** A promise or settlement: contact pauses until `until`, then the agreement is reviewed. */
function agreementHold(reason: "promise" | "settlement", until: string, amount: Money, since: string): Hold {
  return { reason, until, amount, paidSince: money(0, amount.currency), since };
}

function apply(loanCase: LoanCase, event: LoanEvent, ctx: Context): EventOutcome {
  const { actor, now, occurredAt } = ctx;
  const currency = loanCase.balance.currency;
  const today = localToday(loanCase, now);
  switch (event.type) {
    case "payment":
      return recordPayment(loanCase, event.amount, occurredAt, actor, now, ctx.charges);

    case "payment_reversed": {
      assertAmount(event.amount, currency);
      if (compare(event.amount, loanCase.totalPaid) > 0) {
        throw new BusinessRuleError(
          "REVERSAL_EXCEEDS_PAYMENTS",
          `reversal ${event.amount.amount} exceeds the ${loanCase.totalPaid.amount} paid so far`,
          [{ path: "amount.amount", message: `must be at most ${loanCase.totalPaid.amount}` }],
        );
      }
      // The reversed money is owed again as principal; a paid or settled case re-opens, and it no longer
      // counts towards a running agreement or the installments it had paid (latest first).
      // Reversing a settlement's payment voids the settlement: what it waived is owed again too.
      const restored =
        loanCase.status === "settled" && loanCase.waived ? loanCase.waived : money(0, currency);
      const principal = add(add(loanCase.principal, event.amount), restored);
      const zero = money(0, currency);
      const paidSince = loanCase.hold?.paidSince;
      const hold =
        loanCase.hold && paidSince
          ? {
              ...loanCase.hold,
              paidSince: compare(paidSince, event.amount) > 0 ? subtract(paidSince, event.amount) : zero,
            }
          : loanCase.hold;
      let unpaid = event.amount;
      const installments = loanCase.installments
        ? [...loanCase.installments]
            .reverse()
            .map((installment) => {
              const part = compare(unpaid, installment.paid) > 0 ? installment.paid : unpaid;
              unpaid = subtract(unpaid, part);
              return { ...installment, paid: subtract(installment.paid, part) };
            })
            .reverse()
        : null;
      const dueDate = installments?.find((i) => compare(i.paid, i.amount) < 0)?.dueDate ?? loanCase.dueDate;
      // After bankruptcy or a cease-contact request a re-opened debt goes the legal route, never to contact.
      const reopened = loanCase.status === "paid" || loanCase.status === "settled";
      const status = reopened ? (loanCase.contactEnded ? "legal" : "active") : loanCase.status;
      const balance = add(add(loanCase.balance, event.amount), restored);
      return outcome(
        loanCase,
        ctx,
        {
          principal,
          balance,
          status,
          hold,
          installments,
          dueDate,
          waived: reopened ? null : loanCase.waived,
          totalPaid: subtract(loanCase.totalPaid, event.amount),
        },
        { type: "payment_reversed", actor, data: { amount: event.amount, occurredAt, balance, status } },
        status === "active" && (reopened || dueDate !== loanCase.dueDate) ? "replan" : "none",
      );
    }

    case "promise_to_pay": {
      assertAmount(event.amount, currency);
      const charged = chargedTo(loanCase, ctx.charges, now);
      assertWithinBalance(event.amount, charged.balance, "amount");
      assertNotBefore(event.promisedDate, today, "promisedDate");
      if (loanCase.hold?.reason === "dispute" || loanCase.hold?.reason === "settlement") {
        throw new CaseStateConflictError(`a promise cannot replace a ${loanCase.hold.reason} hold`);
      }
      const hold = agreementHold("promise", event.promisedDate, event.amount, occurredAt);
      return outcome(
        loanCase,
        ctx,
        { status: "on_hold", hold },
        {
          type: "promise_to_pay",
          actor,
          data: { amount: event.amount, promisedDate: event.promisedDate, occurredAt },
        },
        "replan",
      );
    }

    case "grace_extension": {
      if (event.newDueDate <= loanCase.dueDate) {
        throw new BusinessRuleError(
          "DUE_DATE_NOT_LATER",
          `the new due date must be after ${loanCase.dueDate}`,
          [{ path: "newDueDate", message: `must be after ${loanCase.dueDate}` }],
        );
      }
      assertNotBefore(event.newDueDate, today, "newDueDate");
      // On an installment plan the extension moves the installment being collected, before the next one.
      const open = loanCase.installments?.findIndex((i) => compare(i.paid, i.amount) < 0) ?? -1;
      const following = open >= 0 ? loanCase.installments?.[open + 1] : undefined;
      if (following && event.newDueDate >= following.dueDate) {
        throw new BusinessRuleError(
          "INSTALLMENTS_NOT_IN_ORDER",
          `the new due date must be before ${following.dueDate}`,
          [{ path: "newDueDate", message: `must be before the next installment (${following.dueDate})` }],
        );
      }
      const installments =
        loanCase.installments?.map((i, index) =>
          index === open ? { ...i, dueDate: event.newDueDate } : i,
        ) ?? null;
      const charged = chargedTo(loanCase, ctx.charges, now);
      return outcome(
        loanCase,
        ctx,
        { ...charged, dueDate: event.newDueDate, installments },
        {
          type: "grace_extension",
          actor,
          data: { from: loanCase.dueDate, to: event.newDueDate, occurredAt },
        },
        "replan",
      );
    }

    case "installment_plan": {
      if (loanCase.hold?.reason === "dispute") throw new CaseStateConflictError("resolve the dispute first");
      const charged = chargedTo(loanCase, ctx.charges, now);
      const installments = event.installments.map((i) => ({
        ...i,
        amount: money(i.amount.amount, i.amount.currency),
      }));
      installments.forEach((i, index) => {
        assertAmount(i.amount, currency, `installments.${index}.amount`);
        if (index > 0 && i.dueDate <= (installments[index - 1] as { dueDate: string }).dueDate) {
          throw new BusinessRuleError(
            "INSTALLMENTS_NOT_IN_ORDER",
            "installment due dates must strictly increase",
            [{ path: `installments.${index}.dueDate`, message: "must be after the previous installment's" }],
          );
        }
      });
      assertNotBefore((installments[0] as { dueDate: string }).dueDate, today, "installments.0.dueDate");
      const total = installments.reduce((sum, i) => add(sum, i.amount), money(0, currency));
      if (compare(total, charged.balance) !== 0) {
        throw new BusinessRuleError(
          "INSTALLMENTS_DO_NOT_MATCH_BALANCE",
          `installments total ${total.amount}, the balance is ${charged.balance.amount}`,
          [{ path: "installments", message: `must add up to ${charged.balance.amount}` }],
        );
      }
      // The plan restructures what is owed into installment principal; collection restarts per installment.
      const zero = money(0, currency);
      return outcome(
        loanCase,
        ctx,
        {
          ...charged,
          principal: charged.balance,
          fees: zero,
          interest: zero,
          accruedThrough: null,
          status: "active",
          hold: null,
          installments: installments.map((i) => ({ ...i, paid: zero })),
          dueDate: (installments[0] as { dueDate: string }).dueDate,
          cursorAt: toInstant(now),
        },
        {
          type: "installment_plan",
          actor,
          data: { installments: event.installments, restructured: breakdown(charged), occurredAt },
        },
        "replan",
      );
    }

    case "settlement": {
      assertAmount(event.amount, currency);
      const charged = chargedTo(loanCase, ctx.charges, now);
      assertWithinBalance(event.amount, charged.balance, "amount");
      assertNotBefore(event.payBy, today, "payBy");
      if (loanCase.hold?.reason === "dispute") throw new CaseStateConflictError("resolve the dispute first");
      const hold = agreementHold("settlement", event.payBy, event.amount, occurredAt);
      return outcome(
        loanCase,
        ctx,
        { status: "on_hold", hold },
        {
          type: "settlement_agreed",
          actor,
          data: { amount: event.amount, payBy: event.payBy, balance: charged.balance, occurredAt },
        },
        "replan",
      );
    }

    case "dispute_opened":
      return outcome(
        loanCase,
        ctx,
        { status: "on_hold", hold: { reason: "dispute", since: occurredAt } },
        { type: "dispute_opened", actor, data: { occurredAt, replacedHold: loanCase.hold?.reason ?? null } },
        "stop",
      );

    case "dispute_resolved":
      if (loanCase.hold?.reason !== "dispute") throw new CaseStateConflictError("there is no open dispute");
      return outcome(
        loanCase,
        ctx,
        { status: "active", hold: null },
        { type: "dispute_resolved", actor, data: { occurredAt, openedAt: loanCase.hold.since } },
        "replan",
      );

    case "bankruptcy":
    case "cease_contact":
      // No more contact with the borrower; the case goes the legal route.
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

    case "deceased":
    case "withdrawn":
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

    case "opt_out":
    case "opt_in": {
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
  }
}
