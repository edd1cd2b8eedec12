import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { Context, SNSEvent } from "aws-lambda";
import { logger } from "../powertools.ts";
import { type DeliveryDeps, type DeliveryReport, recordDeliveries } from "../usecases/delivery.ts";
import { parseSesNotification } from "./ses-events.ts";

/**
 * SNS → delivery results in the audit trail. A notification that cannot be read is logged (its SNS id and
 * why, never its content) and skipped; a storage failure throws, so the invocation is retried — recording
 * is idempotent.
 */
export function makeDeliveryHandler(deps: DeliveryDeps) {
  return middy<SNSEvent, void, Error, Context>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .handler(async (event) => {
      const reports: DeliveryReport[] = [];
      for (const record of event.Records ?? []) {
        const snsMessageId = record?.Sns?.MessageId;
        const parsed = parseSesNotification(
          typeof record?.Sns?.Message === "string" ? record.Sns.Message : "",
        );
        if (!parsed.ok) {
          // Send, Open, Click… arrive on the same topic and are expected; anything else is worth a look.
          const log = parsed.reason === "ignored_event_type" ? logger.debug : logger.warn;
          log.call(logger, "delivery notification skipped", { snsMessageId, reason: parsed.reason });
          continue;
        }
        reports.push(parsed.report);
      }
      // Reports of one loan in the same batch share one read and one write.
      const outcomes = await recordDeliveries(deps, reports);
      for (const [index, { tenantId, loanId, providerMessageId, status }] of reports.entries()) {
        logger.info("delivery notification handled", {
          tenantId,
          loanId,
          providerMessageId,
          status,
          outcome: outcomes[index],
        });
      }
    });
}
