import { paginateScan } from "@aws-sdk/lib-dynamodb";
import { SIMULATION_MAX_RECEIVES, type SimulationMessage } from "../../functions/domain/simulation-job.ts";
import { logger } from "../../functions/powertools.ts";
import { LAMBDA_FUNCTIONS } from "../lambda-bundles.ts";
import { deliver, type PolicyJobsDeps } from "./local-policy-jobs.ts";
import { LocalQueue } from "./local-queue.ts";

/** The function the simulation queue runs. */
export type SimulationFunction = "simulate";

/** Jobs run at once, as the simulate function's event source allows on AWS (its maximum concurrency). */
const SIMULATION_CONCURRENCY = 2;
/** How often the queue is looked at, in real time. */
const POLL_MS = 100;

/** The simulation queue: six times the function's timeout, as on AWS. */
export function simulationQueue(): LocalQueue {
  return new LocalQueue("simulations", {
    visibilityTimeoutMs: LAMBDA_FUNCTIONS.simulate.timeoutSeconds * 6 * 1000,
    maxReceives: SIMULATION_MAX_RECEIVES,
    onDeadLetter: (message) =>
      logger.error("simulation dead-lettered", { messageId: message.messageId, body: message.body }),
  });
}

/**
 * Creates the simulate function and hands it each job queued, as Lambda's SQS event source does on AWS, two at a
 * time. A simulation has nothing to wait for on the business clock, so its queue is looked at in real time: a job
 * runs as soon as it is started, on a frozen clock too. Jobs a restart cut off are queued again. Returns the
 * environment the API needs to queue jobs, and what stops the polling.
 */
export async function startSimulations(
  // The parts of the stack the policy jobs take: a queue, the edge, functions, the store, the clock.
  deps: PolicyJobsDeps,
): Promise<{ env: Record<string, string>; stop: () => Promise<void> }> {
  const { queue, clock } = deps;
  const simulate = deps.lambda("simulate", {});
  deps.lambdas.simulate = simulate;
  await resumeSimulations(deps.store, queue, clock.nowMs());
  const running = new Set<Promise<void>>();
  const poll = () => {
    const free = SIMULATION_CONCURRENCY - running.size;
    for (const message of free > 0 ? queue.due(clock.nowMs(), free) : []) {
      const job = deliver(queue, message, simulate).finally(() => running.delete(job));
      running.add(job);
    }
  };
  const timer = setInterval(poll, POLL_MS);
  timer.unref();
  return {
    env: { SIMULATION_QUEUE_URL: deps.edge.queueUrl(queue) },
    // A job still running when the stack stops ends with its sandbox (its message stays queued, as on AWS).
    stop: async () => clearInterval(timer),
  };
}

/** After a restart on kept data (--data-dir), each job still running is queued again (the queue lived in memory). */
async function resumeSimulations(store: PolicyJobsDeps["store"], queue: LocalQueue, nowMs: number) {
  const scan = paginateScan(
    { client: store.client },
    {
      TableName: store.tables.stateTable,
      FilterExpression: "sk = :simulation AND #status = :running",
      ExpressionAttributeNames: { "#status": "status" },
      ExpressionAttributeValues: { ":simulation": "SIMULATION", ":running": "running" },
      ProjectionExpression: "tenantId, id",
    },
  );
  for await (const page of scan) {
    for (const item of page.Items ?? []) {
      const message: SimulationMessage = { tenantId: item.tenantId, simulationId: item.id };
      queue.send(JSON.stringify(message), 0, nowMs);
    }
  }
}
