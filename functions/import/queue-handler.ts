import { awsHandoffs, awsRepositories, awsWorkflow, systemClock } from "../adapters/aws.ts";
import { DynamoStrategyStore } from "../adapters/dynamo/strategy-store.ts";
import { readConfig } from "../config.ts";
import { makeQueueConsumer } from "./queue-consumer.ts";
import { withStartBackoff } from "./workflow-backoff.ts";

/** Lambda entry: batches of an S3 import from the import queue (SQS event source, partial batch responses). */
const config = readConfig();
const { client, tables, cases, policies } = awsRepositories(config);

export const handler = makeQueueConsumer({
  cases,
  policies,
  workflow: withStartBackoff(awsWorkflow(config)),
  clock: systemClock,
  handoffs: awsHandoffs(config, client, tables),
  horizonDays: config.WORKFLOW_HORIZON_DAYS,
  // An imported loan that names no policy runs the one the tenant's strategy gives it.
  strategies: new DynamoStrategyStore(client, tables),
});
