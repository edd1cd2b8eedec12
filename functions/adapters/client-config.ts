/**
 * Settings every AWS client of the product gets. Without timeouts a store that stops answering (a paused or
 * partitioned DynamoDB) holds each request for as long as it is gone; with them the request fails, the SDK
 * retries, and what is left is answered or retried as a dependency being unavailable.
 */
export const CLIENT_TIMEOUTS = {
  requestHandler: { connectionTimeout: 3_000, requestTimeout: 10_000 },
  maxAttempts: 3,
} as const;
