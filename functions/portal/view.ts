import type { Locale } from "../domain/channels.ts";
import type { BorrowerCaseView } from "../domain/portal-view.ts";

/**
 * What the borrower's page shows, already formatted for the borrower's locale by the use case: the pages only
 * lay it out. Every string in it is untrusted (it may come from the lender or the borrower) and is escaped.
 */
export type PortalCaseView = BorrowerCaseView;

/** The action forms of the case page; each posts to `/p/<token>/<action>`. */
export type PortalAction = "promise" | "dispute" | "opt-out" | "plan" | "contact-time";

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
  | { action: "opt-out"; channel: "sms" | "email" }
  | { action: "plan"; months: number; approval: "automatic" | "lender" }
  | { action: "contact-time"; time: string | null };
