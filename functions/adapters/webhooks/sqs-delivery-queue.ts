import {
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { DeliveryLine } from "../../domain/webhooks/types.ts";
import type { DeliveryQueue } from "../../ports/webhooks.ts";

/** Entries SQS takes in one SendMessageBatch. */
const BATCH_SIZE = 10;
/** The longest delay SQS gives a message (15 minutes). */
const MAX_DELAY_SECONDS = 900;

/** What the sender receives: the line to work on, and the instant before which it must not. */
export interface DeliveryMessage extends DeliveryLine {
  notBefore?: string;
}

/**
 * Wakes the webhook sender through SQS. A notBefore further out than SQS can delay is sent with the longest delay;
 * the sender puts back a message that arrives before its notBefore, so a retry hours away takes a few hops.
 */
export class SqsDeliveryQueue implements DeliveryQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly now: () => Date,
  ) {}

  async enqueue(lines: DeliveryLine[], notBefore?: string): Promise<void> {
    const delaySeconds = notBefore === undefined ? 0 : this.delayUntil(notBefore);
    for (let start = 0; start < lines.length; start += BATCH_SIZE) {
      const entries = lines.slice(start, start + BATCH_SIZE).map(
        (line, index): SendMessageBatchRequestEntry => ({
          Id: String(index),
          MessageBody: JSON.stringify(message(line, notBefore)),
          DelaySeconds: delaySeconds,
        }),
      );
      await this.send(entries);
    }
  }

  private delayUntil(notBefore: string): number {
    const at = Date.parse(notBefore);
    if (Number.isNaN(at)) throw new Error(`not an instant: ${notBefore}`);
    const seconds = Math.ceil((at - this.now().getTime()) / 1000);
    return Math.min(Math.max(seconds, 0), MAX_DELAY_SECONDS);
  }

  /** One batch; the entries SQS reports failed get one more try before the whole enqueue fails. */
  private async send(entries: SendMessageBatchRequestEntry[]): Promise<void> {
    let pending = entries;
    for (let attempt = 1; ; attempt++) {
      const result = await this.sqs.send(
        new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: pending }),
      );
      const failed = result.Failed ?? [];
      if (failed.length === 0) return;
      if (attempt === 2) {
        const codes = [...new Set(failed.map((entry) => entry.Code))].join(", ");
        throw new Error(`SQS refused ${failed.length} webhook delivery message(s): ${codes}`);
      }
      const failedIds = new Set(failed.map((entry) => entry.Id));
      pending = pending.filter((entry) => failedIds.has(entry.Id));
    }
  }
}

/** Only the line's keys, in a fixed order, whatever else the caller's objects carry. */
function message(line: DeliveryLine, notBefore: string | undefined): DeliveryMessage {
  const { tenantId, endpointId, loanId } = line;
  return notBefore === undefined
    ? { tenantId, endpointId, loanId }
    : { tenantId, endpointId, loanId, notBefore };
}
