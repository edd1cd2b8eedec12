import { BusinessRuleError, CaseStateConflictError } from "../errors.ts";
import {
  assertAmount,
  breakdown,
  chargedTo,
  type EventOutcome,
  type Hold,
  type LoanCase,
} from "../loan-case.ts";
import { add, compare, type Money, money } from "../money.ts";
import { toInstant } from "../time.ts";
import {
  assertNotBefore,
  assertWithinBalance,
  type EventContext,
  type EventOf,
  localToday,
  outcome,
} from "./handler.ts";

/** A promise or settlement: contact pauses until `until`, then the agreement is reviewed. */
function agreementHold(reason: "promise" | "settlement", until: string, amount: Money, since: string): Hold {
  return { reason, until, amount, paidSince: money(0, amount.currency), since };
}

/**
 * What a promise and a settlement both require: an amount in the case's currency, within what is owed now, by a
 * date not yet past in the borrower's zone (`date` names its field). Answers the case charged to now.
 */
function checkAgreement(
  loanCase: LoanCase,
  ctx: EventContext,
  amount: Money,
  date: Record<string, string>,
): LoanCase {
  assertAmount(amount, loanCase.balance.currency);
  const charged = chargedTo(loanCase, ctx.charges, ctx.now);
  assertWithinBalance(amount, charged.balance, "amount");
  for (const [path, value] of Object.entries(date))
    assertNotBefore(value, localToday(loanCase, ctx.now), path);
  return charged;
}

/** The borrower promises to pay an amount by a date: no contact until then. */
export function promiseToPay(
  loanCase: LoanCase,
  event: EventOf<"promise_to_pay">,
  ctx: EventContext,
): EventOutcome {
  const { actor, occurredAt } = ctx;
  checkAgreement(loanCase, ctx, event.amount, { promisedDate: event.promisedDate });
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

/**
 * The lender gives more time: the due date moves later. On an installment plan the extension moves the
 * installment being collected, before the next one.
 */
export function extendGrace(
  loanCase: LoanCase,
  event: EventOf<"grace_extension">,
  ctx: EventContext,
): EventOutcome {
  const { actor, now, occurredAt } = ctx;
  if (event.newDueDate <= loanCase.dueDate) {
    throw new BusinessRuleError("DUE_DATE_NOT_LATER", `the new due date must be after ${loanCase.dueDate}`, [
      { path: "newDueDate", message: `must be after ${loanCase.dueDate}` },
    ]);
  }
  assertNotBefore(event.newDueDate, localToday(loanCase, now), "newDueDate");
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
    loanCase.installments?.map((i, index) => (index === open ? { ...i, dueDate: event.newDueDate } : i)) ??
    null;
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

/**
 * What is owed (charges included) restructured into installments that add up to it exactly; it becomes
 * installment principal and collection restarts per installment.
 */
export function planInstallments(
  loanCase: LoanCase,
  event: EventOf<"installment_plan">,
  ctx: EventContext,
): EventOutcome {
  const { actor, now, occurredAt } = ctx;
  const currency = loanCase.balance.currency;
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
  const first = installments[0] as { dueDate: string };
  assertNotBefore(first.dueDate, localToday(loanCase, now), "installments.0.dueDate");
  const total = installments.reduce((sum, i) => add(sum, i.amount), money(0, currency));
  if (compare(total, charged.balance) !== 0) {
    throw new BusinessRuleError(
      "INSTALLMENTS_DO_NOT_MATCH_BALANCE",
      `installments total ${total.amount}, the balance is ${charged.balance.amount}`,
      [{ path: "installments", message: `must add up to ${charged.balance.amount}` }],
    );
  }
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
      dueDate: first.dueDate,
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

/** The lender accepts less than the balance if it is paid by a date: no contact until then. */
export function agreeSettlement(
  loanCase: LoanCase,
  event: EventOf<"settlement">,
  ctx: EventContext,
): EventOutcome {
  const { actor, occurredAt } = ctx;
  const charged = checkAgreement(loanCase, ctx, event.amount, { payBy: event.payBy });
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
