/**
 * Settings every AWS client of the product gets. Without timeouts a store that stops answering (a paused or
 * partitioned DynamoDB) holds each request for as long as it is gone; with them the request fails, the SDK
 * retries, and what is left is answered or retried as a dependency being unavailable.
 */
export const CLIENT_TIMEOUTS = {
  // Within API Gateway's 29 s even with every attempt timing out.
  requestHandler: { connectionTimeout: 1_000, requestTimeout: 5_000, throwOnRequestTimeout: true },
  maxAttempts: 3,
} as const;
