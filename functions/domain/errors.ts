/**
 * One error class per business rule. The API edge maps `code` to an HTTP status; the workflow's
 * Retry/Catch clauses match on `name`, so names are part of the ASL contract. Each class spells its name
 * out: a minifier renames classes, and Lambda reports `error.name` as the error type.
 */
export abstract class DomainError extends Error {
  abstract override readonly name: string;
  abstract readonly code: string;
  constructor(
    message: string,
    readonly details: { path: string; message: string }[] = [],
  ) {
    super(message);
  }
}

/** The case's state forbids the requested change (HTTP 409). */
export class CaseStateConflictError extends DomainError {
  override readonly name = "CaseStateConflictError";
  constructor(
    message: string,
    details: { path: string; message: string }[] = [],
    readonly code: string = "CASE_STATE_CONFLICT",
  ) {
    super(message, details);
  }
}

/** A loan with this id exists with a different subscription (HTTP 409). */
export class LoanAlreadyExistsError extends DomainError {
  override readonly name = "LoanAlreadyExistsError";
  readonly code = "LOAN_EXISTS";
}

/** Input outside what the product accepts, found where the business clock is known (HTTP 400). */
export class InputOutOfRangeError extends DomainError {
  override readonly name = "InputOutOfRangeError";
  readonly code = "VALIDATION_FAILED";
}

/** Well-formed input that the business rules refuse (HTTP 422). */
export class BusinessRuleError extends DomainError {
  override readonly name = "BusinessRuleError";
  constructor(
    readonly code: string,
    message: string,
    details: { path: string; message: string }[] = [],
  ) {
    super(message, details);
  }
}

export class NotFoundError extends DomainError {
  override readonly name = "NotFoundError";
  readonly code = "NOT_FOUND";
}

/** Raised by a workflow step when the case no longer takes contact (paid, held, closed...). */
export class CaseNotCollectableError extends DomainError {
  override readonly name = "CaseNotCollectableError";
  readonly code = "CASE_NOT_COLLECTABLE";
}

/** Raised by a workflow step running under an older generation than the case's (it was re-planned). */
export class StaleExecutionError extends DomainError {
  override readonly name = "StaleExecutionError";
  readonly code = "STALE_EXECUTION";
}

/** Another writer changed the case first; the caller re-reads and tries again. */
export class ConcurrentUpdateError extends DomainError {
  override readonly name = "ConcurrentUpdateError";
  readonly code = "CONCURRENT_UPDATE";
}

/** The change was already applied under the same once-key (a redelivered report); nothing was written. */
export class AlreadyRecordedError extends DomainError {
  override readonly name = "AlreadyRecordedError";
  readonly code = "ALREADY_RECORDED";
  constructor(
    message: string,
    /** The once-keys of the change found already used (a change may carry several). */
    readonly keys: string[] = [],
  ) {
    super(message);
  }
}

/** Another run holds a live claim on the case's step; the workflow retries once it may have finished. */
export class StepInProgressError extends DomainError {
  override readonly name = "StepInProgressError";
  readonly code = "STEP_IN_PROGRESS";
}

/** The hand-off package could not be stored or announced yet; publishing is idempotent, so the task retries. */
export class HandoffPublishError extends DomainError {
  override readonly name = "HandoffPublishError";
  readonly code = "HANDOFF_PUBLISH_FAILED";
}

/** The delivery provider refused for now (throttling, outage); the workflow retries the step. */
export class ProviderThrottledError extends DomainError {
  override readonly name = "ProviderThrottledError";
  readonly code = "PROVIDER_THROTTLED";
}

/** A store or service the step depends on failed for now (throttling, a 5xx, a timeout); the workflow retries. */
export class DependencyUnavailableError extends DomainError {
  override readonly name = "DependencyUnavailableError";
  readonly code = "DEPENDENCY_UNAVAILABLE";
}

/**
 * A borrower asked on the self-service page for something the rules do not allow (a promise date beyond the limit,
 * an empty dispute): the page shows it on the form. Never an API answer.
 */
export class BorrowerRequestError extends DomainError {
  override readonly name = "BorrowerRequestError";
  readonly code = "BORROWER_REQUEST_REFUSED";
}
