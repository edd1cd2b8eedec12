import type { WorkflowControl } from "../ports.ts";

/**
 * Step Functions refusals that mean "not now": API rate throttling, the open-executions quota, a brief outage.
 * Retrying later succeeds, and a start is idempotent (deterministic execution names).
 */
export const RETRYABLE_START_ERRORS = new Set([
  "ThrottlingException",
  "ExecutionLimitExceeded",
  "TooManyRequestsException",
  "ServiceUnavailable",
  "InternalServerError",
]);

export interface BackoffOptions {
  /** Tries in all, the first included. */
  attempts?: number;
  /** Ceiling of the first back-off; doubles per retry (full jitter). */
  baseMs?: number;
  maxMs?: number;
}

/**
 * Retries workflow starts refused for throttling with exponential back-off and full jitter, on top of the SDK's own
 * few retries: a bulk import starts thousands of executions and must slow down rather than fail. What still fails
 * is thrown, so the caller can hand the loan back (an SQS batch item failure is redelivered later).
 */
export function withStartBackoff(workflow: WorkflowControl, options: BackoffOptions = {}): WorkflowControl {
  const attempts = options.attempts ?? 6;
  const baseMs = options.baseMs ?? 200;
  const maxMs = options.maxMs ?? 5_000;
  return {
    async start(ref) {
      for (let attempt = 1; ; attempt++) {
        try {
          return await workflow.start(ref);
        } catch (error) {
          const name = (error as Error).name;
          if (!RETRYABLE_START_ERRORS.has(name) || attempt >= attempts) throw error;
          const ceiling = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
          await new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
        }
      }
    },
    stop: (ref) => workflow.stop(ref),
  };
}
