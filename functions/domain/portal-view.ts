import { DateTime } from "luxon";
import type { Channel } from "./channels.ts";
import { chargedTo, type LoanCase, planFor } from "./loan-case.ts";
import { amountAskedFor } from "./message-variables.ts";
import { formatMoney } from "./money.ts";
import type { Policy } from "./policy.ts";
import { plansFor, selfServiceOf } from "./self-service.ts";
import { daysPastDue } from "./time.ts";

/** Everything the borrower's page shows of a case, formatted for the borrower (see functions/portal/view.ts). */
export interface BorrowerCaseView {
  locale: LoanCase["borrower"]["locale"];
  loanReference: string;
  borrowerName: string;
  amountDueNow: string;
  dueDate: string;
  daysPastDue: number;
  nextContact: { at: string; channels: string[] } | null;
  paymentUrl: string | null;
  channels: { channel: "sms" | "email"; optedOut: boolean }[];
  promise: { earliest: string; latest: string } | null;
  /** Installment plans the borrower may ask for, each with its monthly amount; and who decides on one. */
  plans: { months: number; installment: string }[];
  planApproval: "automatic" | "lender";
  /** The borrower's preferred time for reminders, and the contact window it must fall in (borrower-local). */
  contactTime: { current: string | null; earliest: string; latest: string } | null;
  standing: { kind: "promise"; until: string } | { kind: "dispute" } | null;
}

const isOpen = (loanCase: LoanCase) => loanCase.status === "active" || loanCase.status === "on_hold";

/** Whether a preferred time ("HH:MM") falls inside the policy's contact window (start inclusive, end exclusive). */
export function insideContactWindow(time: string, policy: Pick<Policy, "contactWindow">): boolean {
  const { start, end } = policy.contactWindow;
  return /^([01]\d|2[0-3]):[0-5]\d$/.test(time) && time >= start && time < end;
}

/** The borrower's calendar date at `now`. */
export const borrowerToday = (loanCase: LoanCase, now: Date): string =>
  DateTime.fromJSDate(now, { zone: loanCase.borrower.timeZone }).toISODate() as string;

/** The dates a borrower may promise to pay by: from tomorrow to the policy's limit, borrower-local. */
export function promiseWindow(
  loanCase: LoanCase,
  policy: Policy,
  now: Date,
): { earliest: string; latest: string } {
  const today = DateTime.fromISO(borrowerToday(loanCase, now));
  return {
    earliest: today.plus({ days: 1 }).toISODate() as string,
    latest: today.plus({ days: selfServiceOf(policy).maxPromiseDays }).toISODate() as string,
  };
}

/**
 * The plans the borrower may ask for at `now`: the policy's offers whose installment of what is owed (charges
 * included, as the plan would restructure it) stays at or above the offer's floor. None while on hold.
 */
export function offeredPlans(loanCase: LoanCase, policy: Policy, now: Date) {
  if (loanCase.status !== "active") return [];
  return plansFor(chargedTo(loanCase, policy.charges, now).balance, selfServiceOf(policy).planOffers);
}

/**
 * The case as the borrower sees it at `now`: what is due, the next contact the plan has (borrower-local), the
 * channels they can be reached on, and what they may still do. A case on hold shows why and offers no promise.
 */
export function borrowerCaseView(
  loanCase: LoanCase,
  policy: Policy,
  now: Date,
  paymentUrl: string | null,
): BorrowerCaseView {
  const { borrower } = loanCase;
  const locale = borrower.locale;
  const planned = planFor(loanCase, policy, now);
  const next = planned?.kind === "step" ? planned : null;
  const hold = loanCase.hold;
  const reachable: ("sms" | "email")[] = [
    ...(borrower.phone ? (["sms"] as const) : []),
    ...(borrower.email ? (["email"] as const) : []),
  ];
  return {
    locale,
    loanReference: loanCase.loanId,
    borrowerName: borrower.name,
    amountDueNow: formatMoney(amountAskedFor(loanCase), locale),
    dueDate: DateTime.fromISO(loanCase.dueDate).setLocale(locale).toLocaleString(DateTime.DATE_FULL),
    daysPastDue: daysPastDue(loanCase.dueDate, borrower.timeZone, now),
    nextContact: next
      ? {
          at: DateTime.fromISO(next.plannedAt, { zone: borrower.timeZone })
            .setLocale(locale)
            .toLocaleString(DateTime.DATETIME_MED),
          channels: next.step.channels.filter((c: Channel) => !loanCase.optedOut.includes(c)),
        }
      : null,
    paymentUrl,
    channels: reachable.map((channel) => ({ channel, optedOut: loanCase.optedOut.includes(channel) })),
    promise: loanCase.status === "active" ? promiseWindow(loanCase, policy, now) : null,
    plans: offeredPlans(loanCase, policy, now).map(({ months, installment }) => ({
      months,
      installment: formatMoney(installment, locale),
    })),
    planApproval: selfServiceOf(policy).planApproval,
    contactTime: isOpen(loanCase)
      ? {
          current: loanCase.preferredSendAt ?? null,
          earliest: policy.contactWindow.start,
          latest: policy.contactWindow.end,
        }
      : null,
    standing:
      hold?.reason === "dispute"
        ? { kind: "dispute" }
        : hold?.until
          ? { kind: "promise", until: hold.until }
          : null,
  };
}
