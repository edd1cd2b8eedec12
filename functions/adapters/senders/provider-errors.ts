import { ProviderThrottledError } from "../../domain/errors.ts";

const RETRYABLE = new Set([
  "Throttling",
  "ThrottlingException",
  "ThrottledException",
  "TooManyRequestsException",
  "ServiceUnavailable",
  "InternalFailure",
  "InternalError",
  "KMSThrottlingException",
]);

/** Provider errors worth retrying become ProviderThrottledError, which the workflow retries with back-off. */
export function asProviderError(error: unknown, provider: string): Error {
  const name = (error as { name?: string }).name ?? "";
  const throttled = (error as { $retryable?: { throttling?: boolean } }).$retryable?.throttling === true;
  if (RETRYABLE.has(name) || throttled) return new ProviderThrottledError(`${provider}: ${name}`);
  return error instanceof Error ? error : new Error(String(error));
}
