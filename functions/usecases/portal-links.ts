import { createHash, randomBytes } from "node:crypto";
import { conflictBackoff } from "../concurrency.ts";
import type { Channel } from "../domain/channels.ts";
import { ConcurrentUpdateError, NotFoundError } from "../domain/errors.ts";
import type { CaseChange } from "../domain/loan-case.ts";
import type { PortalLink } from "../domain/portal.ts";
import { toInstant } from "../domain/time.ts";
import type { CaseRepository, Clock } from "../ports.ts";

/** Where borrowers' links point: the portal's base URL (`<base>/p/<token>`). */
export interface PortalConfig {
  baseUrl: string;
}

/** 256 random bits, URL-safe: a link cannot be guessed, and only its hash is ever stored. */
export function newPortalToken(): string {
  return randomBytes(32).toString("base64url");
}

export function tokenHashOf(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** The public id of a link: a prefix of its hash, enough to name it in the trail, useless to open it. */
export const linkIdOf = (tokenHash: string) => tokenHash.slice(0, 16);

/** The link a step's messages carry: its URL, and the token in it that the kept copies name by the link's id. */
export interface SentLink {
  url: string;
  token: string;
  linkId: string;
}

/**
 * A new link for the messages of a step about to be sent: its URL goes into them, and the record (by the token's
 * hash) is written with the claim of the step, so the link works as soon as the message is out.
 */
export function issuePortalLink(
  portal: PortalConfig,
  loan: { tenantId: string; loanId: string },
  sending: { step: string; channels: Channel[]; validDays: number },
  now: Date,
): SentLink & { issued: NonNullable<CaseChange["issuedLinks"]>[number] } {
  const token = newPortalToken();
  const tokenHash = tokenHashOf(token);
  const link: PortalLink = {
    linkId: linkIdOf(tokenHash),
    tenantId: loan.tenantId,
    loanId: loan.loanId,
    step: sending.step,
    channels: [...sending.channels],
    issuedAt: toInstant(now),
    validUntil: toInstant(new Date(now.getTime() + sending.validDays * 24 * 60 * 60 * 1000)),
    failures: 0,
    lockedUntil: null,
    session: null,
  };
  const url = `${portal.baseUrl.replace(/\/+$/, "")}/p/${token}`;
  return { url, token, linkId: link.linkId, issued: { tokenHash, link } };
}

/**
 * The lender withdraws every link sent so far for a loan: each stops working at once (the page then says nothing
 * about the loan), and messages sent later carry new links that work.
 */
export async function revokePortalLinks(
  deps: { cases: CaseRepository; clock: Clock },
  by: { tenantId: string; actor: string },
  loanId: string,
): Promise<{ loanId: string; revokedAt: string }> {
  for (let attempt = 1; ; attempt++) {
    const current = await deps.cases.get(by.tenantId, loanId);
    if (!current) throw new NotFoundError(`loan ${loanId} not found`);
    const revokedAt = toInstant(deps.clock.now());
    try {
      await deps.cases.update(
        current,
        {
          next: { ...current, portalRevokedAt: revokedAt, updatedAt: revokedAt },
          events: [{ type: "portal_links_revoked", actor: by.actor, data: { revokedAt } }],
        },
        revokedAt,
      );
      return { loanId, revokedAt };
    } catch (error) {
      if (!(error instanceof ConcurrentUpdateError) || attempt >= 5) throw error;
      await conflictBackoff(attempt);
    }
  }
}
