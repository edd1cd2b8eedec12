import { recordPayment } from "../case-payment.ts";
import { BusinessRuleError } from "../errors.ts";
import { assertAmount, type EventOutcome, type Hold, type Installment, type LoanCase } from "../loan-case.ts";
import { add, compare, type Money, money, subtract } from "../money.ts";
import { type EventContext, type EventOf, outcome } from "./handler.ts";

/** Money paid: the case model allocates it fees → interest → principal (see recordPayment). */
export function takePayment(loanCase: LoanCase, event: EventOf<"payment">, ctx: EventContext): EventOutcome {
  return recordPayment(loanCase, event.amount, ctx.occurredAt, ctx.actor, ctx.now, ctx.charges);
}

/**
 * A payment the bank took back. The reversed money is owed again as principal; a paid or settled case re-opens,
 * and it no longer counts towards a running agreement or the installments it had paid (latest first).
 * Reversing a settlement's payment voids the settlement: what it waived is owed again too.
 */
export function reversePayment(
  loanCase: LoanCase,
  event: EventOf<"payment_reversed">,
  ctx: EventContext,
): EventOutcome {
  const { actor, occurredAt } = ctx;
  const currency = loanCase.balance.currency;
  assertAmount(event.amount, currency);
  if (compare(event.amount, loanCase.totalPaid) > 0) {
    throw new BusinessRuleError(
      "REVERSAL_EXCEEDS_PAYMENTS",
      `reversal ${event.amount.amount} exceeds the ${loanCase.totalPaid.amount} paid so far`,
      [{ path: "amount.amount", message: `must be at most ${loanCase.totalPaid.amount}` }],
    );
  }
  const restored = loanCase.status === "settled" && loanCase.waived ? loanCase.waived : money(0, currency);
  const principal = add(add(loanCase.principal, event.amount), restored);
  const hold = holdLessPaid(loanCase.hold, event.amount);
  const installments = loanCase.installments ? unpayInstallments(loanCase.installments, event.amount) : null;
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

/** A running agreement's hold with `amount` no longer counted as paid towards it (never below zero). */
function holdLessPaid(hold: Hold | null, amount: Money): Hold | null {
  const paidSince = hold?.paidSince;
  if (!hold || !paidSince) return hold;
  const zero = money(0, amount.currency);
  return { ...hold, paidSince: compare(paidSince, amount) > 0 ? subtract(paidSince, amount) : zero };
}

/** Takes `amount` back from the installments' payments, latest installment first. */
function unpayInstallments(installments: Installment[], amount: Money): Installment[] {
  let unpaid = amount;
  return [...installments]
    .reverse()
    .map((installment) => {
      const part = compare(unpaid, installment.paid) > 0 ? installment.paid : unpaid;
      unpaid = subtract(unpaid, part);
      return { ...installment, paid: subtract(installment.paid, part) };
    })
    .reverse();
}
