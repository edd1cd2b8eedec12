import { DependencyUnavailableError, DomainError } from "../domain/errors.ts";

/** Error names the AWS SDK gives failures that are worth trying again later. */
const TRANSIENT_NAMES = new Set([
  "ProvisionedThroughputExceededException",
  "RequestLimitExceeded",
  "ThrottlingException",
  "Throttling",
  "TooManyRequestsException",
  "InternalServerError",
  "InternalFailure",
  "ServiceUnavailable",
  "TransactionInProgressException",
  "TimeoutError",
  "RequestTimeout",
  "RequestTimeoutException",
]);

interface SdkErrorShape {
  name?: string;
  code?: string;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
}

/**
 * A failure of DynamoDB or another AWS dependency that outlived the SDK's own retries becomes
 * DependencyUnavailableError, the one name the workflow retries with back-off for any of them. Business errors
 * and everything else keep their own type.
 */
export function asDependencyError(error: unknown): unknown {
  if (error instanceof DomainError || !(error instanceof Error)) return error;
  const shape = error as SdkErrorShape;
  const status = shape.$metadata?.httpStatusCode ?? 0;
  const network = ["ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "EPIPE"].includes(shape.code ?? "");
  if (TRANSIENT_NAMES.has(error.name) || shape.$retryable !== undefined || status >= 500 || network) {
    return new DependencyUnavailableError(`${error.name}: ${error.message}`);
  }
  return error;
}
