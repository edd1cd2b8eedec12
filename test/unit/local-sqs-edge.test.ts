import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AwsEdge, startAwsEdge } from "../../infra/local/aws-edge.ts";
import type { LocalWorkflowEngine } from "../../infra/local/engine.ts";
import { LocalQueue } from "../../infra/local/local-queue.ts";
import type { Outbox } from "../../infra/local/outbox.ts";
import { VirtualClock } from "../../infra/local/virtual-clock.ts";

/** The SQS half of the local AWS edge, through the SDK the bundles use (which checks every body's MD5). */
const clock = new VirtualClock(new Date("2026-01-05T00:00:00Z"), true);
const queue = new LocalQueue("edge-test", { visibilityTimeoutMs: 60_000, maxReceives: 5 });
let edge: AwsEdge;
let sqs: SQSClient;
let queueUrl: string;

beforeAll(async () => {
  edge = await startAwsEdge({} as LocalWorkflowEngine, {} as Outbox, { queues: [queue], clock });
  queueUrl = edge.queueUrl(queue);
  sqs = new SQSClient({
    endpoint: edge.sqsUrl,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  sqs?.destroy();
  await edge?.close();
});

describe("the local AWS edge's SQS", () => {
  it("takes SendMessage into the queue named by the URL, delayed on the virtual clock", async () => {
    const sent = await sqs.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "one", DelaySeconds: 5 }),
    );
    expect(sent.MessageId).toBeTruthy();
    expect(queueUrl).toMatch(/\/000000000000\/edge-test$/);
    expect(queue.due(clock.nowMs())).toEqual([]);
    const [message] = queue.due(clock.nowMs() + 5_000);
    expect(message).toMatchObject({ messageId: sent.MessageId, body: "one" });
    queue.delete(message?.receiptHandle ?? "");
  });

  it("answers a batch entry by entry: the ones taken, and a delay SQS refuses as the sender's fault", async () => {
    const answer = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [
          { Id: "a", MessageBody: '{"line":1}' },
          { Id: "b", MessageBody: '{"line":2}', DelaySeconds: 901 },
        ],
      }),
    );
    expect(answer.Successful?.map((entry) => entry.Id)).toEqual(["a"]);
    expect(answer.Failed).toEqual([
      expect.objectContaining({ Id: "b", SenderFault: true, Code: "InvalidParameterValue" }),
    ]);
    expect(queue.due(clock.nowMs()).map((message) => message.body)).toEqual(['{"line":1}']);
  });

  it("refuses an unknown queue and a batch SQS would refuse", async () => {
    const unknown = sqs.send(
      new SendMessageCommand({ QueueUrl: `${edge.sqsUrl}/000000000000/nope`, MessageBody: "x" }),
    );
    await expect(unknown).rejects.toMatchObject({ name: "QueueDoesNotExist" });
    const tooMany = Array.from({ length: 11 }, (_, index) => ({ Id: String(index), MessageBody: "x" }));
    await expect(
      sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: tooMany })),
    ).rejects.toMatchObject({
      name: "TooManyEntriesInBatchRequest",
    });
    const twins = [
      { Id: "same", MessageBody: "x" },
      { Id: "same", MessageBody: "y" },
    ];
    await expect(
      sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: twins })),
    ).rejects.toMatchObject({
      name: "BatchEntryIdsNotDistinct",
    });
  });
});
