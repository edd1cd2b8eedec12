import type { PortalLink } from "../domain/portal.ts";

/** Portal links by the SHA-256 of their token, and the verification attempts of each address. */
export interface PortalLinkStore {
  get(tokenHash: string): Promise<PortalLink | null>;
  /**
   * Replaces the link's mutable state (failures, lock, session), on condition that it is still as `previous`
   * left it; throws ConcurrentUpdateError when another request changed it first.
   */
  save(tokenHash: string, previous: PortalLink, next: PortalLink): Promise<void>;
  /** Counts one verification attempt from an address in the current hour; returns the hour's count so far. */
  countAttempt(addressHash: string, now: Date): Promise<number>;
}
