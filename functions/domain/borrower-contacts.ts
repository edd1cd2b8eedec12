import { createHash } from "node:crypto";
import { keepRecent, type RecentContact } from "./contact-rules.ts";
import type { Borrower } from "./loan-case.ts";
import type { Channel } from "./policy.ts";
import { toInstant } from "./time.ts";

/**
 * The frequency caps protect a person, not a loan: every loan of one borrower counts towards the same caps.
 * Within a tenant a borrower is their E.164 phone when the loan has one, else their lowercased email — the
 * rule the what-if simulator groups loans by. A loan that carries only the email of a borrower known
 * elsewhere by phone therefore counts as a separate borrower: no data links the two.
 */
export function borrowerIdentity(borrower: Pick<Borrower, "phone" | "email">): string | null {
  if (borrower.phone) return `phone:${borrower.phone}`;
  if (borrower.email) return `email:${borrower.email.trim().toLowerCase()}`;
  return null;
}

/** The key a borrower's contact record is stored under: a hash, so no phone or email appears in a key. */
export function borrowerRef(tenantId: string, borrower: Pick<Borrower, "phone" | "email">): string | null {
  const identity = borrowerIdentity(borrower);
  if (!identity) return null;
  return createHash("sha256").update(`${tenantId}\u0000${identity}`).digest("hex");
}

/** A contact on a borrower's record: one channel of one step of one of their loans. */
export interface BorrowerContact extends RecentContact {
  loanId: string;
  step: string;
  /** The step instance: a step id planned again for a new due date is another contact. */
  plannedAt: string;
}

const sameContact = (a: BorrowerContact, b: BorrowerContact) =>
  a.loanId === b.loanId && a.step === b.step && a.plannedAt === b.plannedAt && a.channel === b.channel;

/**
 * The contacts the caps count for a step of `loanId`: the case's own recent contacts plus the other loans'
 * from the borrower record. The record's entries for this loan are left out — the case holds exactly what
 * it sent, at the instants it was sent, so counting both would count one message twice.
 */
export function contactsForCaps(
  loanId: string,
  own: readonly RecentContact[],
  borrower: readonly BorrowerContact[],
  now: Date,
): RecentContact[] {
  const others = borrower
    .filter((c) => c.loanId !== loanId)
    .map(({ at, channel }): RecentContact => ({ at, channel }));
  return keepRecent([...own, ...others], now);
}

/**
 * The borrower record with the channels of a step about to be sent added and contacts past any cap's
 * look-back dropped; null when every channel is already reserved (a retried send counts once).
 */
export function withReservations(
  recorded: readonly BorrowerContact[],
  step: { loanId: string; step: string; plannedAt: string; channels: readonly Channel[] },
  now: Date,
): BorrowerContact[] | null {
  const at = toInstant(now);
  const added = step.channels
    .map(
      (channel): BorrowerContact => ({
        at,
        channel,
        loanId: step.loanId,
        step: step.step,
        plannedAt: step.plannedAt,
      }),
    )
    .filter((c) => !recorded.some((r) => sameContact(r, c)));
  if (added.length === 0) return null;
  return keepRecent([...recorded, ...added], now);
}
