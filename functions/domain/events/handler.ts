import { DateTime } from "luxon";
import type { AuditEvent } from "../audit-chain.ts";
import type { Charges } from "../charges.ts";
import { BusinessRuleError } from "../errors.ts";
import type { EventOutcome, LoanCase, WorkflowEffect } from "../loan-case.ts";
import { compare, type Money } from "../money.ts";
import { toInstant } from "../time.ts";
import type { LoanEvent, LoanEventType } from "./types.ts";

/** What a handler knows besides the case and the event: who sent it, when it is applied, when it happened. */
export interface EventContext {
  actor: string;
  now: Date;
  /** When the event happened: the lender's `occurredAt`, or the instant applyEvent settled on without one. */
  occurredAt: string;
  charges: Charges;
}

/** The variant of LoanEvent with type `T`, with the fields that type carries. */
export type EventOf<T extends LoanEventType> = Extract<LoanEvent, { type: T }>;

/**
 * What one event type does to a case: it checks the event against the case and answers the changed case, its
 * audit entries (the first is the event's own) and what the running workflow must do. applyEvent has already
 * refused duplicates, events out of order and events the case's status does not allow.
 */
export type EventHandler<E extends LoanEvent> = (
  loanCase: LoanCase,
  event: E,
  ctx: EventContext,
) => EventOutcome;

/** The case with `changes`, stamped with this change and the event's time, and what goes with it. */
export function outcome(
  loanCase: LoanCase,
  ctx: EventContext,
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

/** Today in the borrower's zone: the dates a lender sends are the borrower's calendar days. */
export function localToday(loanCase: LoanCase, now: Date): string {
  return DateTime.fromJSDate(now).setZone(loanCase.borrower.timeZone).toISODate() as string;
}

export function assertNotBefore(date: string, today: string, path: string): void {
  if (date < today) {
    throw new BusinessRuleError(
      "DATE_IN_THE_PAST",
      `${path} ${date} is before today (${today}) in the borrower's zone`,
      [{ path, message: `must be on or after ${today}` }],
    );
  }
}

export function assertWithinBalance(amount: Money, balance: Money, path: string): void {
  if (compare(amount, balance) > 0) {
    throw new BusinessRuleError(
      "AMOUNT_EXCEEDS_BALANCE",
      `${amount.amount} exceeds the balance ${balance.amount}`,
      [{ path: `${path}.amount`, message: `must be at most ${balance.amount}` }],
    );
  }
}
