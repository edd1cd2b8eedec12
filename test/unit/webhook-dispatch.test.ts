import type { DynamoDBRecord, SQSEvent } from "aws-lambda";
import { describe, expect, it } from "vitest";
import {
  WEBHOOK_VISIBILITY_TIMEOUT_MS,
  WebhookDispatch,
  webhookQueue,
} from "../../infra/local/webhook-dispatch.ts";

const T0 = Date.parse("2026-01-05T00:00:00Z");

const record = (n: number, eventName: DynamoDBRecord["eventName"] = "INSERT"): DynamoDBRecord => ({
  eventName,
  dynamodb: { SequenceNumber: String(n) },
});

/** The dispatcher over a scripted stream and recording functions. */
function harness() {
  const pages: DynamoDBRecord[][] = [];
  const stream = {
    behind: false,
    polls: 0,
    async poll() {
      this.polls++;
      const page = pages.shift() ?? [];
      this.behind = pages.length > 0;
      return page;
    },
  };
  const queue = webhookQueue();
  const announced: number[] = [];
  const delivered: SQSEvent[] = [];
  const state = { writes: 0, failIds: new Set<string>(), deliverThrows: false };
  const announce = {
    async invoke(event: unknown) {
      announced.push((event as { Records: unknown[] }).Records.length);
    },
  };
  const deliver = {
    async invoke(event: unknown) {
      const sqs = event as SQSEvent;
      delivered.push(sqs);
      if (state.deliverThrows) throw new Error("Lambda.Unknown");
      const bodies = sqs.Records.filter((r) => state.failIds.has(r.body));
      return { batchItemFailures: bodies.map((r) => ({ itemIdentifier: r.messageId })) };
    },
  };
  const dispatch = new WebhookDispatch({ stream, queue, announce, deliver, trailWrites: () => state.writes });
  return { pages, stream, queue, announced, delivered, state, dispatch };
}

describe("WebhookDispatch", () => {
  it("reads the stream at its first call, announces inserts in batches of 100, then waits for new writes", async () => {
    const h = harness();
    h.pages.push([...Array.from({ length: 250 }, (_, n) => record(n)), record(999, "MODIFY")]);
    expect(await h.dispatch.nextAt(T0)).toBe(T0);
    await h.dispatch.run(T0);
    expect(h.announced).toEqual([100, 100, 50]);
    // Nothing written since: no stream read, nothing due, no spinning at this instant.
    expect(await h.dispatch.nextAt(T0)).toBeNull();
    expect(h.stream.polls).toBe(1);

    h.state.writes++;
    expect(await h.dispatch.nextAt(T0 + 5)).toBe(T0 + 5);
    await h.dispatch.run(T0 + 5);
    expect(h.stream.polls).toBe(2);
    expect(await h.dispatch.nextAt(T0 + 5)).toBeNull();
  });

  it("reads on within one run while the stream says more is waiting", async () => {
    const h = harness();
    h.pages.push([record(1)], [record(2)], [record(3)]);
    await h.dispatch.run(T0);
    expect(h.announced).toEqual([1, 1, 1]);
    expect(h.stream.polls).toBe(3);
  });

  it("delivers due messages ten at a time and names the queue as their source", async () => {
    const h = harness();
    await h.dispatch.run(T0);
    for (let n = 0; n < 23; n++) h.queue.send(`line-${n}`, 0, T0);
    h.queue.send("later", 60, T0);
    expect(await h.dispatch.nextAt(T0)).toBe(T0);
    await h.dispatch.run(T0);
    expect(h.delivered.map((event) => event.Records.length)).toEqual([10, 10, 3]);
    expect(h.delivered[0]?.Records[0]).toMatchObject({
      body: "line-0",
      eventSource: "aws:sqs",
      eventSourceARN: h.queue.arn,
      attributes: { ApproximateReceiveCount: "1", SentTimestamp: String(T0) },
    });
    expect(await h.dispatch.nextAt(T0)).toBe(T0 + 60_000);
  });

  it("puts back the batch item failures and a failed invocation's messages until the dead-letter list", async () => {
    const h = harness();
    await h.dispatch.run(T0);
    h.queue.send("ok", 0, T0);
    h.queue.send("bad", 0, T0);
    h.state.failIds.add("bad");
    await h.dispatch.run(T0);
    expect(h.queue.size).toBe(1);
    expect(await h.dispatch.nextAt(T0)).toBe(T0 + WEBHOOK_VISIBILITY_TIMEOUT_MS);

    h.state.deliverThrows = true;
    let now = T0;
    for (let receive = 2; receive <= 5; receive++) {
      now += WEBHOOK_VISIBILITY_TIMEOUT_MS;
      await h.dispatch.run(now);
      expect(h.delivered.at(-1)?.Records[0]?.attributes.ApproximateReceiveCount).toBe(String(receive));
    }
    expect(h.queue.size).toBe(0);
    expect(h.queue.deadLetters.map((message) => message.body)).toEqual(["bad"]);
    expect(await h.dispatch.nextAt(now)).toBeNull();
  });
});
