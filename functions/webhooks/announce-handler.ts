import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { DynamoDBStreamEvent } from "aws-lambda";
import { awsRepositories, systemClock } from "../adapters/aws.ts";
import { webhookAnnouncer } from "../adapters/webhooks/wiring.ts";
import { readConfig } from "../config.ts";
import { logger } from "../powertools.ts";
import { announceLoans } from "../usecases/webhooks/announce.ts";

/**
 * Lambda entry on the audit table's stream: a new entry is the signal that its loan has something to announce.
 * The loan's trail itself is read from where the last announcement stopped, so the records' order, repeats or
 * batching do not change what is announced. A failure throws: the stream retries the batch.
 */
const config = readConfig();
const { client, tables } = awsRepositories(config);
const deps = webhookAnnouncer(config, client, tables, systemClock);

export const handler = middy<DynamoDBStreamEvent>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async (event) => {
    const loans = new Map<string, { tenantId: string; loanId: string }>();
    for (const record of event.Records) {
      const image = record.dynamodb?.NewImage;
      const pk = image?.pk?.S;
      const tenantId = image?.gsi1pk?.S;
      if (record.eventName !== "INSERT" || !pk || !tenantId) continue;
      const prefix = `T#${tenantId}#LOAN#`;
      if (!pk.startsWith(prefix)) continue;
      const loanId = pk.slice(prefix.length);
      loans.set(`${tenantId}\u0000${loanId}`, { tenantId, loanId });
    }
    const created = await announceLoans(deps, [...loans.values()]);
    if (created > 0) logger.info("deliveries announced", { loans: loans.size, deliveries: created });
  });
