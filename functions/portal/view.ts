import type { Locale } from "../domain/channels.ts";

/**
 * What the borrower's page shows, already formatted for the borrower's locale by the use case: the pages only
 * lay it out. Every string here is untrusted (it may come from the lender or the borrower) and is escaped.
 */
export interface PortalCaseView {
  locale: Locale;
  /** The lender's name for the loan: its reference. */
  loanReference: string;
  borrowerName: string;
  /** Formatted amounts and dates, e.g. "¥1,250.00", "2026年8月6日". */
  amountDueNow: string;
  dueDate: string;
  /** Whole days past due; 0 or less when not yet due. */
  daysPastDue: number;
  /** The next contact the plan has for the case, borrower-local and formatted; null when none is planned. */
  nextContact: { at: string; channels: string[] } | null;
  /** Where the borrower pays (the lender's page), or null when the lender gave none. */
  paymentUrl: string | null;
  /** Channels the borrower can be reached on, and whether each is opted out. */
  channels: { channel: "sms" | "email"; optedOut: boolean }[];
  /** The latest date a promise may name (ISO date, borrower-local), and the earliest (tomorrow). */
  promise: { earliest: string; latest: string } | null;
  /** Set when the case is on hold or in dispute: what the borrower already told us. */
  standing: { kind: "promise"; until: string } | { kind: "dispute" } | null;
}

/** The action forms of the case page; each posts to `/p/<token>/<action>`. */
export type PortalAction = "promise" | "dispute" | "opt-out";

/** What a page render needs besides its content: the link's path and the session's CSRF token. */
export interface PortalFrame {
  /** `/p/<token>`: forms post below it. Never logged. */
  basePath: string;
  /** Hidden field `csrf` of every form; absent before verification (the verify form has its own). */
  csrfToken: string;
}

/** The verification form's state. */
export interface VerifyView {
  locale: Locale;
  /** What the borrower is asked for. */
  factor: "date_of_birth" | "id_last4" | "phone_last4";
  /** A wrong answer was given; attempts left before the link locks. */
  wrongAnswer?: { attemptsLeft: number };
}

/** What the confirmation page says after an action. */
export type PortalOutcome =
  | { action: "promise"; date: string }
  | { action: "dispute" }
  | { action: "opt-out"; channel: "sms" | "email" };
