import { createHash, randomUUID } from "node:crypto";

/** The longest delay SQS gives a message. */
export const MAX_DELAY_SECONDS = 900;

/** The account and region of the embedded stack's ARNs. */
export const LOCAL_ACCOUNT = "000000000000";
const LOCAL_QUEUE_REGION = "us-east-1";

/** A message as the consumer receives it. */
export interface ReceivedMessage {
  messageId: string;
  receiptHandle: string;
  body: string;
  md5OfBody: string;
  sentAtMs: number;
  firstReceivedAtMs: number;
  receiveCount: number;
}

interface StoredMessage {
  messageId: string;
  body: string;
  md5OfBody: string;
  sentAtMs: number;
  /** When it can next be received: after its delay, or after the visibility timeout of a receive. */
  visibleAtMs: number;
  receiveCount: number;
  firstReceivedAtMs?: number;
  /** The handle of the receive it is in flight under, if any. */
  receiptHandle?: string;
}

export interface LocalQueueOptions {
  /** How long a received message stays hidden before it can be received again (virtual time). */
  visibilityTimeoutMs: number;
  /** Receives after which a message still not deleted goes to the dead-letter list (the redrive policy). */
  maxReceives: number;
  /** Told of each message that goes to the dead-letter list. */
  onDeadLetter?: (message: ReceivedMessage) => void;
}

/** The hex MD5 of a body, as SQS answers it (and the SDK checks it). */
export const md5Hex = (body: string) => createHash("md5").update(body, "utf8").digest("hex");

/**
 * A standard SQS queue on the embedded stack's virtual clock, in memory: a message is visible once its delay has
 * passed; a receive hides it for the visibility timeout; deleting it ends it; a message received `maxReceives` times
 * without being deleted goes to the dead-letter list instead of being received again.
 */
export class LocalQueue {
  private readonly messages = new Map<string, StoredMessage>();
  /** Messages by the handle of their current receive. */
  private readonly receipts = new Map<string, StoredMessage>();
  readonly deadLetters: ReceivedMessage[] = [];

  /** The queue's ARN, as an SQS event's records name their source. */
  readonly arn: string;

  constructor(
    readonly name: string,
    private readonly options: LocalQueueOptions,
  ) {
    this.arn = `arn:aws:sqs:${LOCAL_QUEUE_REGION}:${LOCAL_ACCOUNT}:${name}`;
  }

  /** Queues a body, visible `delaySeconds` after `nowMs`. */
  send(body: string, delaySeconds: number, nowMs: number): { messageId: string; md5OfBody: string } {
    if (!Number.isInteger(delaySeconds) || delaySeconds < 0 || delaySeconds > MAX_DELAY_SECONDS) {
      throw new RangeError(`DelaySeconds must be an integer from 0 to ${MAX_DELAY_SECONDS}`);
    }
    const message: StoredMessage = {
      messageId: randomUUID(),
      body,
      md5OfBody: md5Hex(body),
      sentAtMs: nowMs,
      visibleAtMs: nowMs + delaySeconds * 1000,
      receiveCount: 0,
    };
    this.messages.set(message.messageId, message);
    return { messageId: message.messageId, md5OfBody: message.md5OfBody };
  }

  /** When the earliest message becomes visible (it may be now or past); null when the queue is empty. */
  nextVisibleAt(): number | null {
    let earliest: number | null = null;
    for (const message of this.messages.values()) {
      if (earliest === null || message.visibleAtMs < earliest) earliest = message.visibleAtMs;
    }
    return earliest;
  }

  /**
   * Receives up to `max` messages visible at `nowMs`, oldest first, hiding each for the visibility timeout. One
   * already received `maxReceives` times goes to the dead-letter list instead.
   */
  due(nowMs: number, max = Number.POSITIVE_INFINITY): ReceivedMessage[] {
    const visible = [...this.messages.values()]
      .filter((message) => message.visibleAtMs <= nowMs)
      .sort((a, b) => a.visibleAtMs - b.visibleAtMs || a.sentAtMs - b.sentAtMs);
    const received: ReceivedMessage[] = [];
    for (const message of visible) {
      if (received.length >= max) break;
      if (message.receiveCount >= this.options.maxReceives) {
        this.deadLetter(message);
        continue;
      }
      message.receiveCount++;
      message.firstReceivedAtMs ??= nowMs;
      this.forgetReceipt(message);
      message.receiptHandle = randomUUID();
      this.receipts.set(message.receiptHandle, message);
      message.visibleAtMs = nowMs + this.options.visibilityTimeoutMs;
      received.push(view(message));
    }
    return received;
  }

  /** The consumer is done with a message: deleted, if the handle is still its current receive. */
  delete(receiptHandle: string): boolean {
    const message = this.receipts.get(receiptHandle);
    if (!message) return false;
    this.forgetReceipt(message);
    this.messages.delete(message.messageId);
    return true;
  }

  /**
   * The consumer failed on a message: it stays hidden for the rest of its visibility timeout, as SQS leaves it —
   * or, received as often as the redrive policy allows, goes to the dead-letter list now.
   */
  fail(receiptHandle: string): void {
    const message = this.receipts.get(receiptHandle);
    if (!message) return;
    if (message.receiveCount >= this.options.maxReceives) this.deadLetter(message);
  }

  /** Messages still queued or in flight. */
  get size(): number {
    return this.messages.size;
  }

  private forgetReceipt(message: StoredMessage): void {
    if (message.receiptHandle !== undefined) this.receipts.delete(message.receiptHandle);
  }

  private deadLetter(stored: StoredMessage): void {
    this.forgetReceipt(stored);
    this.messages.delete(stored.messageId);
    const message = view(stored);
    this.deadLetters.push(message);
    this.options.onDeadLetter?.(message);
  }
}

function view(message: StoredMessage): ReceivedMessage {
  return {
    messageId: message.messageId,
    receiptHandle: message.receiptHandle ?? "",
    body: message.body,
    md5OfBody: message.md5OfBody,
    sentAtMs: message.sentAtMs,
    firstReceivedAtMs: message.firstReceivedAtMs ?? message.sentAtMs,
    receiveCount: message.receiveCount,
  };
}
