import { ProviderThrottledError } from "../../domain/errors.ts";

/**
 * Provider errors that say "not now": throttling (SNS `Throttled`/`ThrottledException`, SES `Throttling` and
 * its `MaxSendingRateExceeded`, AWS's `ThrottlingException`) and a provider briefly unavailable.
 */
const RETRYABLE = new Set([
  "Throttling",
  "Throttled",
  "ThrottlingException",
  "ThrottledException",
  "MaxSendingRateExceeded",
  "MaxSendingRateExceededException",
  "TooManyRequestsException",
  "ServiceUnavailable",
  "InternalFailure",
  "InternalError",
  "KMSThrottlingException",
]);

/** Provider errors worth retrying become ProviderThrottledError, which the workflow retries with back-off. */
export function asProviderError(error: unknown, provider: string): Error {
  const name = (error as { name?: string }).name ?? "";
  const throttled =
    (error as { $retryable?: { throttling?: boolean } }).$retryable?.throttling === true ||
    // SES names its sending-rate refusal `Throttling` with this message; some clients report only the message.
    /maximum sending rate exceeded/i.test((error as { message?: string }).message ?? "");
  if (RETRYABLE.has(name) || throttled) return new ProviderThrottledError(`${provider}: ${name}`);
  return error instanceof Error ? error : new Error(String(error));
}
