import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import middy from "@middy/core";
import type { DynamoDBStreamEvent } from "aws-lambda";
import { makeDocumentClient } from "../adapters/dynamo/client.ts";
import { DynamoTrailProjection } from "../adapters/dynamo/daily-counters.ts";
import { trailEntriesOf } from "../adapters/dynamo/trail-records.ts";
import { readConfig } from "../config.ts";
import { businessMetricsOf } from "../domain/trail-metrics.ts";
import { logger, metrics } from "../powertools.ts";
import { projectTrail } from "../usecases/trail-projection.ts";

/**
 * Lambda entry on the audit table's stream: each new entry becomes the business metrics it stands for, added to
 * its tenant's daily counters (the portfolio report reads them) and published to CloudWatch. Entries are only
 * ever inserted, so only INSERT records count (the event source filters the rest out as well).
 *
 * The counters first: a failure there throws before any metric is published, and the stream retries the batch;
 * the counters take each entry once (see projectTrail), the CloudWatch figures once per successful batch.
 */
const config = readConfig();
const projection = new DynamoTrailProjection(makeDocumentClient({}), { stateTable: config.STATE_TABLE });

export const handler = middy<DynamoDBStreamEvent>()
  // No logMetrics: every metric is published at once on its own (singleMetric), so nothing is left to flush at
  // the end, and a batch without any would only log that there was none.
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async (event) => {
    const entries = trailEntriesOf(event.Records);
    const projected = await projectTrail(projection, entries);
    if (projected.repeated > 0) logger.info("entries counted before were left out", projected);
    for (const entry of entries) {
      for (const metric of businessMetricsOf(entry)) {
        // One metric object per dimension set: EMF puts every metric of an object under the same dimensions.
        const single = metrics.singleMetric();
        for (const [name, value] of Object.entries(metric.dimensions)) single.addDimension(name, value);
        single.addMetric(metric.name, MetricUnit.Count, metric.value);
      }
    }
  });
