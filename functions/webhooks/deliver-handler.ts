import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import * as z from "zod";
import { awsRepositories, systemClock } from "../adapters/aws.ts";
import { webhookSender } from "../adapters/webhooks/wiring.ts";
import { readConfig } from "../config.ts";
import { logger } from "../powertools.ts";
import { deliverLine } from "../usecases/webhooks/deliver.ts";

const config = readConfig();
const { client, tables } = awsRepositories(config);
const deps = webhookSender(config, client, tables, systemClock);

const messageSchema = z.object({
  tenantId: z.string().min(1),
  endpointId: z.string().min(1),
  loanId: z.string().min(1),
  notBefore: z.string().optional(),
});

/**
 * Lambda entry on the delivery queue: each message names a line (endpoint and loan) to work on. One arriving
 * before its `notBefore` (SQS delays at most 15 minutes) goes back to wait the rest. A line that throws is
 * reported as a batch item failure and comes back; the queue's redrive policy ends with its dead-letter queue.
 */
export const handler = middy<SQSEvent, SQSBatchResponse, Error, Context>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler((event, context) => {
    const recordHandler = async (record: SQSRecord): Promise<void> => {
      const message = messageSchema.parse(JSON.parse(record.body));
      const { notBefore, ...line } = message;
      if (notBefore && Date.parse(notBefore) > deps.clock.now().getTime()) {
        await deps.queue.enqueue([line], notBefore);
        return;
      }
      const outcome = await deliverLine(deps, line, () => context.getRemainingTimeInMillis());
      logger.debug("line worked", { ...line, outcome });
    };
    return processPartialResponse(event, recordHandler, new BatchProcessor(EventType.SQS), { context });
  });
