import type { HandoffPackage, HandoffReason } from "../domain/handoff-package.ts";
import type { Money } from "../domain/money.ts";

/** Ports of the legal hand-off: where packages are published and how their hand-off is tracked. */

export type HandoffStatus = "pending" | "acknowledged";
export const HANDOFF_STATUSES: readonly HandoffStatus[] = ["pending", "acknowledged"];

/** Where a published package can be found: file paths locally, S3 keys (and the SNS message) on AWS. */
export interface HandoffLocation {
  kind: "file" | "s3";
  /** The bucket (s3) or the folder (file). */
  container: string;
  json: string;
  html: string;
  /** The SNS message id of the notification, when one was published. */
  notificationId?: string;
}

/** What legal's list shows of a hand-off; the package itself stays with the publisher. */
export interface HandoffRecord {
  tenantId: string;
  loanId: string;
  status: HandoffStatus;
  reason: HandoffReason;
  handedOffAt: string;
  publishedAt: string;
  balance: Money;
  daysPastDue: number;
  packageHash: string;
  location: HandoffLocation;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
}

export interface HandoffStore {
  /** Creates the record unless one exists for the loan; returns the stored record either way. */
  put(record: HandoffRecord): Promise<HandoffRecord>;
  get(tenantId: string, loanId: string): Promise<HandoffRecord | null>;
  list(tenantId: string, status: HandoffStatus): Promise<HandoffRecord[]>;
  /**
   * Moves a pending record to acknowledged, on condition that it is still pending. `changed: false` when
   * it was already acknowledged (the stored record is returned); null when there is no record.
   */
  acknowledge(
    tenantId: string,
    loanId: string,
    by: string,
    at: string,
  ): Promise<{ changed: boolean; record: HandoffRecord } | null>;
}

export interface HandoffPublisher {
  /** Writes the package (JSON and HTML) where legal reads it and notifies; overwrites the same loan's package. */
  publish(pkg: HandoffPackage, html: string): Promise<HandoffLocation>;
  /** The published package of a loan, or null. */
  read(tenantId: string, loanId: string): Promise<HandoffPackage | null>;
}

export interface Handoffs {
  store: HandoffStore;
  publisher: HandoffPublisher;
}
