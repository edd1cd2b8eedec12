import type { DynamoDBRecord, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { logger } from "../../functions/powertools.ts";
import { LAMBDA_FUNCTIONS } from "../lambda-bundles.ts";
import type { ScheduledJob } from "./engine.ts";
import { LOCAL_ACCOUNT, LocalQueue, type ReceivedMessage } from "./local-queue.ts";

/** Stream records per announce invocation, as the event source mapping's batch size on AWS. */
export const ANNOUNCE_BATCH = 100;
/** Attempts at one announce batch: the first and the stream's five retries, then it is given up (logged). */
const ANNOUNCE_ATTEMPTS = 6;
/** Queue messages per deliver invocation, as on AWS (WEBHOOK_BATCH_SIZE). */
export const DELIVER_BATCH = 10;
/** Deliver invocations at once: a burst is worked a few batches at a time, not all at once. */
const DELIVER_CONCURRENCY = 5;
/** Receives of a line before it goes to the dead-letter queue, as the queue's redrive policy on AWS. */
export const WEBHOOK_MAX_RECEIVES = 5;
/** Six times the deliver function's timeout, as the queue on AWS. */
export const WEBHOOK_VISIBILITY_TIMEOUT_MS = LAMBDA_FUNCTIONS.webhookDeliver.timeoutSeconds * 6 * 1000;

/** The lender webhooks' delivery queue, on the stack's virtual clock. */
export function webhookQueue(): LocalQueue {
  return new LocalQueue("webhook-deliveries", {
    visibilityTimeoutMs: WEBHOOK_VISIBILITY_TIMEOUT_MS,
    maxReceives: WEBHOOK_MAX_RECEIVES,
    onDeadLetter: (message) =>
      logger.error("webhook delivery message dead-lettered", {
        messageId: message.messageId,
        receiveCount: message.receiveCount,
        body: message.body,
      }),
  });
}

export interface WebhookDispatchDeps {
  stream: { poll(): Promise<DynamoDBRecord[]>; behind: boolean };
  queue: LocalQueue;
  announce: { invoke(event: unknown): Promise<unknown> };
  deliver: { invoke(event: unknown): Promise<unknown> };
  /**
   * A count that moves whenever the trail may have grown: the ended invocations of the functions that write it
   * (not the webhook functions themselves, whose records announcing ignores).
   */
  trailWrites: () => number;
}

/**
 * What Lambda's event source mappings do for the webhook functions on AWS, on the stack's virtual clock: audit
 * stream records → the announce function; visible messages of the delivery queue → the deliver function, applying
 * its batch item failures. The stream is read only when a function that writes the trail has run since the last
 * read (or the last read stopped at its bound), so an idle stack makes no calls, and the engine never spins on a
 * job that has nothing new.
 */
export class WebhookDispatch implements ScheduledJob {
  /** trailWrites() when the stream was last read up to its end; unset before the first read. */
  private readAt: number | undefined;
  /** Announce batches given up after every attempt failed (the announce dead-letter queue on AWS). */
  readonly announceDeadLetters: DynamoDBRecord[][] = [];

  constructor(private readonly deps: WebhookDispatchDeps) {}

  private streamMayHaveNews(): boolean {
    return this.readAt === undefined || this.readAt !== this.deps.trailWrites() || this.deps.stream.behind;
  }

  async nextAt(nowMs: number): Promise<number | null> {
    if (this.streamMayHaveNews()) return nowMs;
    const visible = this.deps.queue.nextVisibleAt();
    return visible === null ? null : Math.max(nowMs, visible);
  }

  /** Works everything due at `nowMs`: announcing may queue lines due at once, and a line may be continued. */
  async run(nowMs: number): Promise<void> {
    for (;;) {
      const news = this.streamMayHaveNews();
      if (news) await this.announceNews();
      const due = this.deps.queue.due(nowMs, DELIVER_BATCH * DELIVER_CONCURRENCY);
      if (due.length > 0) await Promise.all(chunks(due, DELIVER_BATCH).map((batch) => this.deliver(batch)));
      if (!news && due.length === 0) return;
    }
  }

  private async announceNews(): Promise<void> {
    // Read before polling: a write that ends while the stream is read is read again next time.
    const writes = this.deps.trailWrites();
    // Only inserts, as the announce function's event filter on AWS.
    const records = (await this.deps.stream.poll()).filter((record) => record.eventName === "INSERT");
    this.readAt = writes;
    for (const batch of chunks(records, ANNOUNCE_BATCH)) await this.announce(batch);
  }

  private async announce(records: DynamoDBRecord[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.deps.announce.invoke({ Records: records });
        return;
      } catch (error) {
        if (attempt < ANNOUNCE_ATTEMPTS) continue;
        this.announceDeadLetters.push(records);
        logger.error("webhook announce batch given up", {
          records: records.length,
          firstSequence: records[0]?.dynamodb?.SequenceNumber,
          error: (error as Error).name,
          message: (error as Error).message,
        });
        return;
      }
    }
  }

  private async deliver(messages: ReceivedMessage[]): Promise<void> {
    const event: SQSEvent = { Records: messages.map((message) => sqsRecord(message, this.deps.queue.arn)) };
    const handles = new Map(messages.map((message) => [message.messageId, message.receiptHandle]));
    let failed: Set<string>;
    try {
      const response = (await this.deps.deliver.invoke(event)) as SQSBatchResponse | null;
      failed = new Set((response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
      // An identifier not in the batch makes Lambda count the whole batch failed.
      if ([...failed].some((id) => !handles.has(id))) failed = new Set(handles.keys());
    } catch (error) {
      // The invocation failed: every message of it comes back after the visibility timeout.
      logger.warn("webhook deliver invocation failed", {
        error: (error as Error).name,
        messages: messages.length,
      });
      failed = new Set(handles.keys());
    }
    for (const [messageId, receiptHandle] of handles) {
      if (failed.has(messageId)) this.deps.queue.fail(receiptHandle);
      else this.deps.queue.delete(receiptHandle);
    }
  }
}

/** A received message as an SQS event's record. */
export function sqsRecord(message: ReceivedMessage, queueArn: string): SQSRecord {
  return {
    messageId: message.messageId,
    receiptHandle: message.receiptHandle,
    body: message.body,
    attributes: {
      ApproximateReceiveCount: String(message.receiveCount),
      SentTimestamp: String(message.sentAtMs),
      SenderId: LOCAL_ACCOUNT,
      ApproximateFirstReceiveTimestamp: String(message.firstReceivedAtMs),
    },
    messageAttributes: {},
    md5OfBody: message.md5OfBody,
    eventSource: "aws:sqs",
    eventSourceARN: queueArn,
    awsRegion: queueArn.split(":")[3] ?? "us-east-1",
  };
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let start = 0; start < items.length; start += size) out.push(items.slice(start, start + size));
  return out;
}
