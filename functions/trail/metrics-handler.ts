import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import middy from "@middy/core";
import type { DynamoDBStreamEvent } from "aws-lambda";
import { businessMetricsOf } from "../domain/trail-metrics.ts";
import { logger, metrics } from "../powertools.ts";

/**
 * Lambda entry on the audit table's stream: each new entry becomes the business metrics it stands for. Entries
 * are only ever inserted, so only INSERT records count (the event source filters the rest out as well).
 */
export const handler = middy<DynamoDBStreamEvent>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .handler(async (event) => {
    for (const record of event.Records) {
      const image = record.dynamodb?.NewImage;
      if (record.eventName !== "INSERT" || !image) continue;
      const entry = unmarshall(image as Record<string, AttributeValue>) as {
        type: string;
        data: Record<string, unknown>;
      };
      for (const metric of businessMetricsOf(entry)) {
        // One metric object per dimension set: EMF puts every metric of an object under the same dimensions.
        const single = metrics.singleMetric();
        for (const [name, value] of Object.entries(metric.dimensions)) single.addDimension(name, value);
        single.addMetric(metric.name, MetricUnit.Count, metric.value);
      }
    }
  });
