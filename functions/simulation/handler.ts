import * as z from "zod";
import { memoiseDateMath, memoiseIsoParsing, memoiseZoneOffsets } from "../../simulator/zone-offsets.ts";
import { systemClock } from "../adapters/aws.ts";
import { simulationRunner } from "../adapters/simulations/wiring.ts";
import { readConfig } from "../config.ts";
import { SIMULATION_ID, SIMULATION_MAX_RECEIVES } from "../domain/simulation-job.ts";
import { logger } from "../powertools.ts";
import { sqsRecordsHandler } from "../sqs-batch.ts";
import { runSimulation } from "../usecases/simulation-run.ts";

const deps = simulationRunner(readConfig(), systemClock);
// This function runs the simulator and nothing else: its date caches (pure, bounded) only change its speed.
memoiseZoneOffsets();
memoiseIsoParsing();
memoiseDateMath();

const jobMessage = z.object({ tenantId: z.string().min(1), simulationId: z.string().regex(SIMULATION_ID) });

/**
 * Lambda entry on the simulation queue: each message is one job, run whole in this invocation (runSimulation). A
 * job that failed on an unavailable dependency comes back after the visibility timeout; on its last receive it is
 * ended `failed` first, and the message goes on to the dead-letter queue.
 */
export const handler = sqsRecordsHandler(async (record, context) => {
  const message = jobMessage.parse(JSON.parse(record.body));
  const receives = Number(record.attributes.ApproximateReceiveCount);
  const result = await runSimulation(deps, message, {
    remainingMs: () => context.getRemainingTimeInMillis(),
    lastTry: receives >= SIMULATION_MAX_RECEIVES,
  });
  logger.info("simulation", { ...message, receives, result });
});
