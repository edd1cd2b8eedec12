import type { BorrowerContact } from "../domain/borrower-contacts.ts";

/** A borrower's recent contacts across all their loans, and the version every write is conditional on. */
export interface BorrowerContactRecord {
  contacts: BorrowerContact[];
  /** 0 while nothing is stored for the borrower. */
  version: number;
}

/**
 * Per-borrower contact records, addressed by the hashed borrower reference (see borrowerRef): the store
 * never sees a phone number or an email address.
 */
export interface BorrowerContactStore {
  /** The borrower's record, read strongly consistent; an empty record at version 0 when there is none. */
  get(tenantId: string, borrowerRef: string): Promise<BorrowerContactRecord>;
  /**
   * Replaces the contacts if the record is still at `expectedVersion`, bumping the version; throws
   * ConcurrentUpdateError when another send changed it first (re-read and decide again).
   */
  put(
    tenantId: string,
    borrowerRef: string,
    expectedVersion: number,
    contacts: BorrowerContact[],
  ): Promise<void>;
}
