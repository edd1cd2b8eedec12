import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import middy from "@middy/core";
import { awsRepositories, awsWorkflow, systemClock } from "../adapters/aws.ts";
import { DynamoWorkflowWakes } from "../adapters/dynamo/wake-index.ts";
import { readConfig } from "../config.ts";
import { WORKFLOWS_RESTARTED } from "../metrics.ts";
import { logger, metrics } from "../powertools.ts";
import { reconcileWorkflows } from "../usecases/workflow-health.ts";

/** Lambda entry of the scheduled reconciler: restarts the workflow of every case left long past its wake. */
const config = readConfig();
const { client, tables, cases } = awsRepositories(config);
const deps = {
  cases,
  workflow: awsWorkflow(config),
  clock: systemClock,
  wakes: new DynamoWorkflowWakes(client, tables),
};

export const handler = middy()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .handler(async () => {
    const { restarted } = await reconcileWorkflows(deps);
    // Zero too: the alarm's metric has a data point every run, so "no data" means the reconciler is not running.
    metrics.addMetric(WORKFLOWS_RESTARTED, MetricUnit.Count, restarted.length);
    return { restarted: restarted.length };
  });
