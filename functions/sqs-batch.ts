import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { logger } from "./powertools.ts";

/**
 * A Lambda entry on an SQS queue: works each record of a batch with `work`, reporting the records that threw as
 * batch item failures (they come back after the visibility timeout; the queue's redrive policy ends with its
 * dead-letter queue), with the invocation's context on every log line.
 */
export function sqsRecordsHandler(work: (record: SQSRecord, context: Context) => Promise<void>) {
  return middy<SQSEvent, SQSBatchResponse, Error, Context>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .handler((event, context) =>
      processPartialResponse(
        event,
        (record: SQSRecord) => work(record, context),
        new BatchProcessor(EventType.SQS),
        {
          context,
        },
      ),
    );
}
