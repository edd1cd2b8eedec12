import { DateTime } from "luxon";
import { amountDueNow, openInstallment } from "./installments.ts";
import type { LoanCase } from "./loan-case.ts";
import { add, formatMoney, type Money, subtract } from "./money.ts";
import type { MessageVariables } from "./templates.ts";
import { daysPastDue } from "./time.ts";

/**
 * What a message says about a case at `now`, formatted for its borrower. The case's charges are expected to be
 * accrued to `now` already (chargedTo), so the amounts are those owed at send time.
 */
export function messageVariables(loanCase: LoanCase, now: Date, portalLink?: string): MessageVariables {
  const { borrower } = loanCase;
  const open = openInstallment(loanCase);
  return {
    name: borrower.name,
    amountDue: formatMoney(amountAskedFor(loanCase), borrower.locale),
    dueDate: DateTime.fromISO(loanCase.dueDate).setLocale(borrower.locale).toLocaleString(DateTime.DATE_FULL),
    daysPastDue: daysPastDue(loanCase.dueDate, borrower.timeZone, now),
    paymentReference: loanCase.loanId,
    amountDueNow: formatMoney(amountDueNow(loanCase, now), borrower.locale),
    installment: open !== null,
    // Empty without a portal: templates put the link in a section (`{{#portalLink}}…{{/portalLink}}`).
    portalLink: portalLink ?? "",
    ...(open && { installmentNumber: open.number, installmentCount: loanCase.installments?.length }),
  };
}

/**
 * The amount a message is about: on a schedule the installment being collected (plus charges), which a
 * reminder asks for before anything is due; otherwise the whole balance.
 */
export function amountAskedFor(loanCase: LoanCase): Money {
  const open = openInstallment(loanCase);
  if (!open) return loanCase.balance;
  const { amount, paid } = open.installment;
  return add(subtract(amount, paid), add(loanCase.fees, loanCase.interest));
}
