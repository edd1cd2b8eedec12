import type { Installment, LoanCase } from "./loan-case.ts";
import { add, type Money, money, subtract } from "./money.ts";
import { isSettled } from "./schedule.ts";
import { daysFromDue } from "./time.ts";

export { isSettled };

/**
 * Where each installment of a schedule stands on the borrower's calendar: `paid` once covered, `overdue` after its
 * due date, `due` on it, `upcoming` before.
 */
export type InstallmentStatus = "upcoming" | "due" | "overdue" | "paid";

export interface InstallmentView {
  /** 1-based position in the schedule. */
  number: number;
  dueDate: string;
  amount: Money;
  paid: Money;
  status: InstallmentStatus;
}

export function installmentStatus(installment: Installment, timeZone: string, now: Date): InstallmentStatus {
  if (isSettled(installment)) return "paid";
  const late = daysFromDue(installment.dueDate, timeZone, now);
  return late > 0 ? "overdue" : late === 0 ? "due" : "upcoming";
}

export function installmentViews(loanCase: LoanCase, now: Date): InstallmentView[] | null {
  if (!loanCase.installments) return null;
  const zone = loanCase.borrower.timeZone;
  return loanCase.installments.map((installment, index) => ({
    number: index + 1,
    dueDate: installment.dueDate,
    amount: installment.amount,
    paid: installment.paid,
    status: installmentStatus(installment, zone, now),
  }));
}

/** Unpaid installments whose due date has passed, oldest first. */
export function overdueInstallments(loanCase: LoanCase, now: Date): Installment[] {
  const zone = loanCase.borrower.timeZone;
  return (loanCase.installments ?? []).filter((i) => installmentStatus(i, zone, now) === "overdue");
}

/** The earliest installment not yet paid (the one being collected), with its 1-based number. */
export function openInstallment(loanCase: LoanCase): { number: number; installment: Installment } | null {
  const index = (loanCase.installments ?? []).findIndex((i) => !isSettled(i));
  const installment = loanCase.installments?.[index];
  return installment ? { number: index + 1, installment } : null;
}

/**
 * What the borrower owes today: on a schedule, what is left of every installment due by today plus fees and
 * interest; on a single-payment loan, the whole balance once due, nothing before.
 */
export function amountDueNow(loanCase: LoanCase, now: Date): Money {
  const currency = loanCase.balance.currency;
  const charges = add(loanCase.fees, loanCase.interest);
  if (!loanCase.installments) {
    return daysFromDue(loanCase.dueDate, loanCase.borrower.timeZone, now) >= 0
      ? loanCase.balance
      : money(0, currency);
  }
  const zone = loanCase.borrower.timeZone;
  const dueByToday = loanCase.installments
    .filter((i) => daysFromDue(i.dueDate, zone, now) >= 0)
    .reduce((sum, i) => add(sum, subtract(i.amount, i.paid)), money(0, currency));
  return add(dueByToday, charges);
}
