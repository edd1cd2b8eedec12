import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { batchEntry } from "../contracts/requests.ts";
import type { Principal } from "../ports.ts";
import { logger } from "../powertools.ts";
import { type BatchItemStatus, subscribeBatch } from "../usecases/ingest.ts";
import type { LenderDeps } from "../usecases/lender.ts";
import { importMessageSchema } from "./import-message.ts";

/** The principal an S3 import subscribes as: the lender role of the file's tenant, named so the audit trail says how. */
export const IMPORT_KEY_ID = "s3-import";

type StatusCounts = Partial<Record<BatchItemStatus, number>>;

/** A message whose loans did not all finish: SQS is to deliver it again. */
class UnfinishedImportError extends Error {
  override readonly name = "UnfinishedImportError";
}

/**
 * Subscribes each queued batch of an S3 import through the same use case as POST /v1/loans:batch. A message with
 * any loan that did not finish (`failed`, e.g. its workflow start was throttled past the back-off) is reported as
 * a batch item failure: SQS delivers it again later, its stored loans come back as `exists` and their workflows are
 * started then (starts are idempotent). Rejected and conflicting loans are final and only logged.
 *
 * Messages are handled one after another, in order, so failures are reported in message order. A batch in which
 * every message failed still returns normally, listing each: the invocation itself never errors, so SQS redelivers
 * exactly the failed messages and never the whole batch as one.
 */
export function makeQueueConsumer(deps: LenderDeps) {
  const recordHandler = async (record: SQSRecord): Promise<void> => {
    let counts: StatusCounts;
    try {
      counts = await subscribeMessage(deps, record);
    } catch (error) {
      logger.error("import batch not subscribed", { messageId: record.messageId, error: error as Error });
      throw error;
    }
    if (counts.failed) {
      throw new UnfinishedImportError(`${counts.failed} loans of message ${record.messageId} did not finish`);
    }
  };
  return middy<SQSEvent, SQSBatchResponse, Error, Context>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .handler((event, context) =>
      // A processor per invocation: it keeps the batch's successes and failures until it answers.
      processPartialResponse(event, recordHandler, new BatchProcessor(EventType.SQS), {
        context,
        processInParallel: false,
        throwOnFullBatchFailure: false,
      }),
    );
}

/** Subscribes one message's loans and logs what became of them; the counts per status tell whether all finished. */
async function subscribeMessage(deps: LenderDeps, record: SQSRecord): Promise<StatusCounts> {
  const message = importMessageSchema.parse(JSON.parse(record.body));
  const principal: Principal = { tenantId: message.tenantId, role: "lender", keyId: IMPORT_KEY_ID };
  const entries = message.loans.map((loan, i) => batchEntry(loan, `loans.${i}`));
  const results = await subscribeBatch(deps, principal, entries);
  const counts: StatusCounts = {};
  for (const result of results) counts[result.status] = (counts[result.status] ?? 0) + 1;
  const problems = results
    .filter((r) => r.status === "rejected" || r.status === "conflict")
    .map((r) => ({ loanId: r.loanId, code: r.error?.code, details: r.error?.details }));
  logger.info("import batch subscribed", {
    key: message.source.key,
    batch: message.batch,
    counts,
    ...(problems.length > 0 ? { problems } : {}),
  });
  return counts;
}
