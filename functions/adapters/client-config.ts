/** A positive whole number from the environment, or the default. */
function setting(name: string, fallback: number): number {
  const value = Number(process.env[name]);
  return Number.isInteger(value) && value > 0 ? value : fallback;
}

/**
 * Settings every AWS client of the product gets. Without timeouts a store that stops answering (a paused or
 * partitioned DynamoDB) holds each request for as long as it is gone; with them the request fails, the SDK
 * retries, and what is left is answered or retried as a dependency being unavailable. The defaults fit AWS
 * (within API Gateway's 29 s even with every attempt timing out); the embedded stack gives DynamoDB Local, far
 * slower under a burst, longer timeouts and one attempt instead (DUNNING_SDK_CONNECTION_TIMEOUT_MS,
 * DUNNING_SDK_REQUEST_TIMEOUT_MS, DUNNING_SDK_MAX_ATTEMPTS).
 */
export const CLIENT_TIMEOUTS = {
  requestHandler: {
    connectionTimeout: setting("DUNNING_SDK_CONNECTION_TIMEOUT_MS", 1_000),
    requestTimeout: setting("DUNNING_SDK_REQUEST_TIMEOUT_MS", 5_000),
    throwOnRequestTimeout: true,
  },
  maxAttempts: setting("DUNNING_SDK_MAX_ATTEMPTS", 3),
};
