import { randomBytes } from "node:crypto";

/** A new endpoint id: `we_` and 16 random bytes. */
export function newEndpointId(): string {
  return `we_${randomBytes(16).toString("hex")}`;
}

/**
 * A delivery id names its place: `wd_<sequence>_<loanId in base64url>`, so it is read back with one lookup and
 * serves as a list cursor too. Unique per endpoint: an endpoint gets a loan's event once.
 */
export function deliveryIdOf(loanId: string, sequence: number): string {
  return `wd_${sequence}_${Buffer.from(loanId, "utf8").toString("base64url")}`;
}

export function parseDeliveryId(id: string): { loanId: string; sequence: number } | null {
  const match = /^wd_([1-9][0-9]{0,9})_([A-Za-z0-9_-]+)$/.exec(id);
  if (!match?.[1] || !match[2]) return null;
  const loanId = Buffer.from(match[2], "base64url").toString("utf8");
  return loanId && deliveryIdOf(loanId, Number(match[1])) === id
    ? { loanId, sequence: Number(match[1]) }
    : null;
}
