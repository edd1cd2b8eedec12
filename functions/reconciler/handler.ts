import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import middy from "@middy/core";
import { awsRepositories, awsWorkflow, systemClock } from "../adapters/aws.ts";
import { DynamoWorkflowWakes } from "../adapters/dynamo/wake-index.ts";
import { readConfig } from "../config.ts";
import { PARKED_WORKFLOWS_WOKEN, WORKFLOWS_RESTARTED } from "../metrics.ts";
import { logger, metrics } from "../powertools.ts";
import { reconcileWorkflows, wakeParkedCases } from "../usecases/workflow-health.ts";

/**
 * Lambda entry of the scheduled reconciler: restarts the workflow of every case left long past its wake, and wakes
 * the parked cases whose next action has come within the workflow's horizon.
 */
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
    const { woken } = await wakeParkedCases(deps, config.WORKFLOW_HORIZON_DAYS);
    metrics.addMetric(PARKED_WORKFLOWS_WOKEN, MetricUnit.Count, woken);
    return { restarted: restarted.length, woken };
  });
