import type { Channel } from "../channels.ts";
import type { Money } from "../money.ts";
import type { CustomerType } from "../strategies/strategy.ts";

/** Everything a lender can tell us about a loan (the contract's event types). */
export type LoanEvent = { occurredAt?: string; eventId?: string } & (
  | { type: "payment"; amount: Money }
  | { type: "payment_reversed"; amount: Money }
  | { type: "promise_to_pay"; amount: Money; promisedDate: string }
  | { type: "grace_extension"; newDueDate: string }
  | { type: "installment_plan"; installments: { dueDate: string; amount: Money }[] }
  | { type: "settlement"; amount: Money; payBy: string }
  | { type: "dispute_opened"; reason?: string }
  | { type: "dispute_resolved" }
  | { type: "bankruptcy" }
  | { type: "deceased" }
  | { type: "cease_contact" }
  | { type: "opt_out"; channel: Channel }
  | { type: "opt_in"; channel: Channel }
  // From the borrowers' page only: the local time of day the borrower prefers reminders at (null: the policy's).
  | { type: "contact_time_preferred"; time: string | null }
  | { type: "withdrawn" }
  // Why the borrower is late, as the lender assessed it: the tenant's strategy may give the case another policy.
  | { type: "customer_type_assessed"; customerType: CustomerType; reason?: string }
  // The borrower agreed to their data going to a third party (an agency): a placement under PIPL needs it.
  | { type: "consent_recorded"; scope: "third_party_sharing" }
);

export type LoanEventType = LoanEvent["type"];
