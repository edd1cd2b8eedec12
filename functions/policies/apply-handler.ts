import * as z from "zod";
import { systemClock } from "../adapters/aws.ts";
import { applicationRunner } from "../adapters/policies/wiring.ts";
import { readConfig } from "../config.ts";
import { APPLY_MAX_RECEIVES } from "../domain/policy-application.ts";
import { toInstant } from "../domain/time.ts";
import { logger } from "../powertools.ts";
import { sqsRecordsHandler } from "../sqs-batch.ts";
import { applyPolicyPage } from "../usecases/policy-application.ts";

const deps = applicationRunner(readConfig(), systemClock);

/** A page message: the job (tenant, policy, version, job id) and where its page starts. */
const pageMessage = z.object({
  tenantId: z.string().min(1),
  policyId: z.string().min(1),
  jobId: z.string().min(1),
  version: z.number().int().min(1),
  cursor: z.string().min(1).optional(),
});

/**
 * Lambda entry on the policy application queue: each message is one page of a job (applyPolicyPage). A page that
 * throws comes back after the visibility timeout; on its last receive the job is ended `failed` first, and the
 * message goes on to the dead-letter queue for an operator.
 */
export const handler = sqsRecordsHandler(async (record, context) => {
  const message = pageMessage.parse(JSON.parse(record.body));
  const receives = Number(record.attributes.ApproximateReceiveCount);
  try {
    const result = await applyPolicyPage(deps, message, {
      retried: receives > 1,
      remainingMs: () => context.getRemainingTimeInMillis(),
    });
    logger.info("policy application page", { ...message, result });
  } catch (error) {
    if (receives >= APPLY_MAX_RECEIVES) {
      logger.error("policy application failed", { ...message, receives, error: error as Error });
      await deps.jobs.fail(message, toInstant(deps.clock.now()));
    }
    throw error;
  }
});
