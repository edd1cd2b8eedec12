import type { Readable } from "node:stream";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import middy from "@middy/core";
import type { Context } from "aws-lambda";
import { logger } from "../powertools.ts";
import {
  IMPORT_MESSAGE_BYTES,
  IMPORT_MESSAGE_LOANS,
  type ImportMessage,
  tenantOfKey,
} from "./import-message.ts";
import { formatOf, inBatches, readPortfolio } from "./portfolio-file.ts";

/** The part of an EventBridge "Object Created" event from S3 this function reads. */
export interface ObjectCreatedEvent {
  detail: { bucket: { name: string }; object: { key: string; etag?: string } };
}

export interface ObjectImportDeps {
  s3: S3Client;
  sqs: SQSClient;
  queueUrl: string;
}

/** Bad lines listed in the summary log (numbers and reasons only, never the line's content). */
const LOGGED_BAD_LINES = 100;
/** SendMessageBatch takes at most 10 messages. */
const SQS_BATCH = 10;

export interface ObjectImportSummary {
  key: string;
  tenantId: string;
  total: number;
  queued: number;
  rejected: number;
  messages: number;
}

/**
 * Streams an uploaded portfolio file (`imports/<tenant>/<name>.jsonl|csv`) and puts its valid loans on the import
 * queue, IMPORT_MESSAGE_LOANS (and IMPORT_MESSAGE_BYTES) per message; bad lines are logged with their numbers and reasons and never sent.
 * Delivery is at least once: a repeat enqueues the same loans again and they come back as `exists`.
 */
export function makeObjectImporter(deps: ObjectImportDeps) {
  return middy<ObjectCreatedEvent, ObjectImportSummary, Error, Context>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .handler(async (event) => {
      const bucket = event.detail.bucket.name;
      // Unlike classic S3 notifications, EventBridge events carry the key as plain text (not URL-encoded).
      const key = event.detail.object.key;
      const tenantId = tenantOfKey(key);
      if (!tenantId)
        throw new Error(`${key}: imports must be uploaded as imports/<tenantId>/<file>.jsonl|csv`);
      const format = formatOf(key);
      const object = await deps.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (!object.Body) throw new Error(`${key}: the object has no body`);

      const summary: ObjectImportSummary = { key, tenantId, total: 0, queued: 0, rejected: 0, messages: 0 };
      const badLines: { line: number; details: { path: string; message: string }[]; message: string }[] = [];
      const etag = event.detail.object.etag;
      let outgoing: ImportMessage[] = [];
      const flush = async () => {
        if (outgoing.length === 0) return;
        await sendAll(deps, outgoing);
        summary.messages += outgoing.length;
        outgoing = [];
      };
      async function* valid() {
        for await (const record of readPortfolio(object.Body as Readable, format)) {
          summary.total++;
          if ("loan" in record) {
            yield record.loan;
            continue;
          }
          summary.rejected++;
          if (badLines.length < LOGGED_BAD_LINES) {
            badLines.push({
              line: record.line,
              message: record.error.message,
              details: record.error.details,
            });
          }
        }
      }
      let batch = 0;
      for await (const loans of inBatches(valid(), IMPORT_MESSAGE_LOANS, IMPORT_MESSAGE_BYTES)) {
        outgoing.push({
          v: 1,
          tenantId,
          source: { bucket, key, ...(etag ? { etag } : {}) },
          batch: batch++,
          loans,
        });
        summary.queued += loans.length;
        if (outgoing.length >= SQS_BATCH) await flush();
      }
      await flush();
      logger.info("portfolio file queued", { ...summary, badLines });
      return summary;
    });
}

/** SendMessageBatch with the entries SQS refused sent again (a few times), then an error: the event is retried. */
async function sendAll(deps: ObjectImportDeps, messages: ImportMessage[]): Promise<void> {
  let entries = messages.map((message, i) => ({ Id: String(i), MessageBody: JSON.stringify(message) }));
  for (let attempt = 1; entries.length > 0; attempt++) {
    const answer = await deps.sqs.send(
      new SendMessageBatchCommand({ QueueUrl: deps.queueUrl, Entries: entries }),
    );
    const failed = new Set((answer.Failed ?? []).map((f) => f.Id));
    entries = entries.filter((entry) => failed.has(entry.Id));
    if (entries.length === 0) return;
    if (attempt >= 5) throw new Error(`SQS refused ${entries.length} import message(s) five times`);
    await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
  }
}
