import type { AuditEntry, AuditEvent } from "./domain/audit-chain.ts";
import type { CaseChange, CaseStatus, InFlightStep, LoanCase } from "./domain/loan-case.ts";
import type { MessageCopy } from "./domain/message-copies.ts";
import type { Money } from "./domain/money.ts";
import type { Channel, Locale, Policy } from "./domain/policy.ts";
import type { ApplicationProgress } from "./domain/policy-application.ts";

/** Ports: the I/O the use cases need, implemented by adapters (DynamoDB, SES/SNS, Step Functions, outbox). */

export interface Clock {
  now(): Date;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** A case is open (still owed and in collection or legal) in these statuses; the others are final. */
export const OPEN_STATUSES: readonly CaseStatus[] = ["active", "on_hold", "legal"];

/** What the aging report needs of an open case, and nothing about the borrower but their time zone. */
export interface OpenCase {
  loanId: string;
  status: CaseStatus;
  dueDate: string;
  balance: Money;
  /** The borrower's IANA time zone: days past due are counted in it. */
  timeZone: string;
}

/**
 * What createMany did with one change: created it, found the loan id taken (with the stored case, when it could
 * be read back), or failed for this loan alone.
 */
export type CreateOutcome =
  | { created: true; case: LoanCase }
  | { created: false; existing: LoanCase | null }
  | { created?: undefined; failed: unknown };

/** A change applied at most once under `key`; `fingerprint` tells a repeat of it from another change. */
export type OnceKey = string | { key: string; fingerprint: string };

export interface CaseRepository {
  get(tenantId: string, loanId: string): Promise<LoanCase | null>;
  /** Writes a new case and its audit events in one transaction; false when the loan id is taken. */
  create(change: CaseChange, at: string): Promise<{ created: true; case: LoanCase } | { created: false }>;
  /**
   * Creates many new cases, each atomically with its audit events, in far fewer round trips than create() per
   * loan; one outcome per change, in order. Optional: without it, bulk subscription calls create() per loan.
   */
  createMany?(changes: CaseChange[], at: string): Promise<CreateOutcome[]>;
  /**
   * Writes `change.next` and its audit events in one transaction, on condition that the stored case is
   * still at `current.version`; throws ConcurrentUpdateError otherwise. Returns the case as stored. With
   * `onceKey`, the change is applied at most once under that key: a second one throws AlreadyRecordedError.
   * With several keys (changes merged into one write), none may have been used; the error names those that were.
   */
  update(
    current: LoanCase,
    change: CaseChange,
    at: string,
    once?: OnceKey | readonly OnceKey[],
  ): Promise<LoanCase>;
  /**
   * Appends audit events to the case's trail and changes nothing else (no new version): conditional on the trail's
   * head; throws ConcurrentUpdateError when another write moved it, AlreadyRecordedError as update() does. Optional:
   * without it, callers write the unchanged case through update().
   */
  appendToTrail?(
    current: LoanCase,
    events: AuditEvent[],
    at: string,
    once?: OnceKey | readonly OnceKey[],
  ): Promise<LoanCase>;
  /**
   * Sets `inFlight` on the stored case if it is still at `expectedVersion`, without reading it first: the case as
   * claimed, or the case as it is (null when gone) when the version moved. Optional: without it, tasks read first.
   */
  claim?(
    ref: { tenantId: string; loanId: string },
    expectedVersion: number,
    inFlight: InFlightStep,
    at: string,
  ): Promise<{ claimed: LoanCase } | { current: LoanCase | null }>;
  /** What a once-key was recorded with; null when the key was never used on the case. */
  onceRecord(tenantId: string, loanId: string, key: string): Promise<{ fingerprint?: string } | null>;
  list(
    tenantId: string,
    /** `attention`: true for only the cases flagged as needing attention, false for only the others. */
    query: { status?: CaseStatus; attention?: boolean; limit: number; cursor?: string },
  ): Promise<Page<LoanCase>>;
  auditTrail(tenantId: string, loanId: string): Promise<AuditEntry[]>;
  /** The kept texts of the loan's messages, in no particular order (see MessageCopy). Optional: none kept. */
  messageCopies?(tenantId: string, loanId: string): Promise<MessageCopy[]>;
  /** Every open case of the tenant (see OPEN_STATUSES), by due date; read from an index, never a scan. */
  openCases(tenantId: string): AsyncIterable<OpenCase>;
}

export interface PolicyRepository {
  get(tenantId: string, policyId: string, version?: number): Promise<Policy | null>;
}

/** Who stored a policy version, when, why and what it changed. */
export interface PolicyVersionInfo {
  version: number;
  changedAt: string;
  /** `ops:<key id>`, or `system` for the built-in default. */
  changedBy: string;
  comment: string | null;
  applyTo: "new_loans" | "in_flight";
  changes: { path: string; from?: unknown; to?: unknown }[];
}

/** Versioned policies as ops change them. */
export interface PolicyVersionStore extends PolicyRepository {
  /** Every stored version, newest first (the built-in default's version 1 is not stored). */
  history(tenantId: string, policyId: string): Promise<PolicyVersionInfo[]>;
  /**
   * Stores a new version with its info and appends `audit` to the tenant's chain in one transaction, the entry
   * stamped `info.changedAt` (the business clock's instant); false when that version already exists (a
   * concurrent change took it). With `job`, the job that applies the version in flight is created in the same
   * transaction, so a stored in-flight version always has its one job.
   */
  putVersion(
    tenantId: string,
    policy: Policy,
    info: PolicyVersionInfo,
    audit: AuditEvent,
    job?: ApplicationProgress,
  ): Promise<boolean>;
}

export type Role = "lender" | "ops" | "compliance" | "legal" | "agent";
export const ROLES: readonly Role[] = ["lender", "ops", "compliance", "legal", "agent"];

export interface Principal {
  tenantId: string;
  role: Role;
  keyId: string;
  /** An agent of an outside agency: sees only the cases placed with it (absent: the tenant's own staff). */
  agencyId?: string;
}

export interface ApiKeyStore {
  /** Resolves a presented key (stored only as its hash) to its tenant and role. */
  resolve(presentedKey: string): Promise<Principal | null>;
  put(presentedKey: string, principal: Omit<Principal, "keyId">): Promise<Principal>;
}

export interface IdempotencyRecord {
  fingerprint: string;
  state: "in_progress" | "completed";
  response?: { statusCode: number; body: string };
  lockedUntil: number;
}

export interface IdempotencyStore {
  /** Takes the key for this request; returns the existing record when someone already holds it. */
  begin(
    tenantId: string,
    key: string,
    fingerprint: string,
  ): Promise<{ acquired: true } | { acquired: false; record: IdempotencyRecord }>;
  complete(tenantId: string, key: string, response: { statusCode: number; body: string }): Promise<void>;
  release(tenantId: string, key: string): Promise<void>;
}

export interface OutgoingMessage {
  tenantId: string;
  loanId: string;
  step: string;
  stage: string;
  channel: Channel;
  locale: Locale;
  to: string;
  subject?: string;
  body: string;
}

/** Hands one message to a delivery provider. Throws ProviderThrottledError when it may be retried. */
export interface MessageSender {
  send(message: OutgoingMessage): Promise<{ providerMessageId: string }>;
}

export interface WorkflowRef {
  tenantId: string;
  loanId: string;
  generation: number;
  /** Successive executions of one generation: a plan longer than an execution may live continues in the next. */
  epoch?: number;
  /**
   * The first action of a new case, planned by the caller from the case it has just written: the execution
   * goes straight to its first wait instead of running the Plan task to re-read the case.
   */
  planned?: PlannedStart;
  /** The wake a parked case is woken for: each wake of a generation starts an execution of its own. */
  wake?: string;
}

export interface PlannedStart {
  startedAt: string;
  next: { phase: string; at?: string; step?: string };
}

/** When the workflow is next due to act on each case, and which cases are long past it. */
export interface WorkflowWakes {
  /**
   * Records the next wake of the case for this generation (null: nothing due); ignored for another generation.
   * `parked`: no execution waits for it; the waker starts one as it comes within the horizon.
   */
  setWake(ref: WorkflowRef, wakeAt: string | null, options?: { parked?: boolean }): Promise<void>;
  /** Cases an execution should be acting on whose wake instant is before `before`. */
  overdue(before: string): AsyncIterable<{ tenantId: string; loanId: string }>;
  /** Parked cases whose wake instant is before `before`. */
  parkedBefore(before: string): AsyncIterable<{ tenantId: string; loanId: string }>;
}

/** Starts and stops the per-loan workflow. Starting the same ref twice is a no-op. */
export interface WorkflowControl {
  start(ref: WorkflowRef): Promise<void>;
  stop(ref: WorkflowRef): Promise<void>;
}
