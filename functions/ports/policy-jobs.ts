import type { ApplicationMessage, ApplicationProgress, PageCounts } from "../domain/policy-application.ts";

/** Ports of policy applications: the job records, the queue their pages go by, and the pages of open cases. */

/** A job, named as its key names it: the tenant, the policy and the job id. */
export interface ApplicationRef {
  tenantId: string;
  policyId: string;
  jobId: string;
}

/** A counted page: where it started and ended, what it counted, and whether it was the last. */
export interface PageRecord {
  from: string;
  next: string;
  counts: PageCounts;
  done: boolean;
  /** The business instant it was counted at (the job's finishedAt when done). */
  at: string;
  /** Until when (epoch ms, business clock) this writer may still queue the next page (ApplicationProgress.sendBy). */
  sendBy: number;
}

/** The job records. A job is created with its policy version, in the same transaction (PolicyVersionStore). */
export interface PolicyJobStore {
  get(ref: ApplicationRef): Promise<ApplicationProgress | null>;
  /**
   * Adds a page's counts and moves the cursor to `page.next`, on condition that the job is running and its cursor
   * is still `page.from`; false (nothing written) when it is not: the page was counted already, or the job ended.
   */
  recordPage(ref: ApplicationRef, page: PageRecord): Promise<boolean>;
  /**
   * Takes over queueing the page at `cursor` from a writer whose time ran out (`sendBy` still `expiredSendBy`, the
   * page not noted queued); false when the job moved on or someone else took it.
   */
  claimSend(ref: ApplicationRef, cursor: string, expiredSendBy: number, sendBy: number): Promise<boolean>;
  /** Notes the page at `cursor` queued (nothing, when the job has moved past it). */
  markSent(ref: ApplicationRef, cursor: string): Promise<void>;
  /** Ends a running job as failed, at the business instant `at` (nothing, when it had ended). */
  fail(ref: ApplicationRef, at: string): Promise<void>;
}

/** Where page messages go: an SQS queue on AWS, the embedded stack's queue on one machine. */
export interface PolicyJobQueue {
  /** Queues a page message, received no sooner than `delaySeconds` (0–900) from now. */
  send(message: ApplicationMessage, delaySeconds: number): Promise<void>;
}

/** A case of a page of open cases, and its position in the index (the cursor the next page starts after). */
export interface OpenCasePosition {
  loanId: string;
  position: string;
}

/** The tenant's open cases, a page at a time, from the open-case index: never a scan. */
export interface OpenCasePages {
  /** Up to `limit` open cases after position `after` ("": from the first); `more` when others follow. */
  page(tenantId: string, after: string, limit: number): Promise<{ items: OpenCasePosition[]; more: boolean }>;
}
