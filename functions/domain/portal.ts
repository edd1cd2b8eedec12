import type { Channel } from "./channels.ts";

/**
 * The borrower's personal link: every message carries `<portal base>/p/<token>`. The token is random and kept
 * only as its SHA-256 (the link's key); the link belongs to one loan and expires. What the page may show depends
 * on this record and on the case it points to.
 */
export interface PortalLink {
  /** Short public id of the link (from its hash): what the audit trail names the borrower's actions by. */
  linkId: string;
  tenantId: string;
  loanId: string;
  /** The message it was issued with: step and channels. */
  step: string;
  channels: Channel[];
  issuedAt: string;
  validUntil: string;
  /** Wrong answers since the last right one or lock. */
  failures: number;
  /** Locked after too many wrong answers until this instant. */
  lockedUntil: string | null;
  /** The session a right answer opened: the hash of its cookie and when it ends. */
  session: { hash: string; until: string } | null;
}

/** Wrong answers that lock a link, and for how long. */
export const MAX_WRONG_ANSWERS = 5;
export const LOCK_MS = 24 * 60 * 60 * 1000;
/** How long a verified visit lasts without verifying again. */
export const SESSION_MS = 15 * 60 * 1000;

/** What a presented link stands for, as the page must treat it. */
export type LinkStanding = "usable" | "locked" | "unusable";

/**
 * Expired, revoked (issued before the lender's last revocation) or for a case that no longer exists: unusable,
 * and the page says nothing about why. Locked after too many wrong answers: the page says so, nothing more.
 */
export function linkStanding(
  link: PortalLink,
  loanCase: { portalRevokedAt?: string | null } | null,
  now: Date,
): LinkStanding {
  if (!loanCase || Date.parse(link.validUntil) <= now.getTime()) return "unusable";
  const revokedAt = loanCase.portalRevokedAt;
  if (revokedAt && Date.parse(link.issuedAt) <= Date.parse(revokedAt)) return "unusable";
  if (link.lockedUntil && Date.parse(link.lockedUntil) > now.getTime()) return "locked";
  return "usable";
}

/** The link after a wrong answer: the fifth locks it for a day (and starts the count again after). */
export function afterWrongAnswer(link: PortalLink, now: Date): PortalLink {
  const failures = link.failures + 1;
  if (failures < MAX_WRONG_ANSWERS) return { ...link, failures };
  return {
    ...link,
    failures: 0,
    lockedUntil: new Date(now.getTime() + LOCK_MS).toISOString(),
    session: null,
  };
}

/** Which factor the borrower is asked for: the lender's, or the last four digits of the phone. */
export type VerificationFactor = "date_of_birth" | "id_last4" | "phone_last4";

/** A factor as the lender gave it or the borrower typed it, in one spelling: what gets hashed and compared. */
export function normalizeFactor(factor: VerificationFactor, value: string): string | null {
  const trimmed = value.trim();
  switch (factor) {
    case "date_of_birth": {
      const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(trimmed);
      return match ? trimmed : null;
    }
    case "id_last4":
      return /^[0-9A-Za-z]{4}$/.test(trimmed) ? trimmed.toUpperCase() : null;
    case "phone_last4":
      return /^\d{4}$/.test(trimmed) ? trimmed : null;
  }
}
