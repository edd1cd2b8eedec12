import { SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { SqsDeliveryQueue } from "../../functions/adapters/webhooks/sqs-delivery-queue.ts";
import type { DeliveryLine } from "../../functions/domain/webhooks/types.ts";

const client = new SQSClient({
  region: "eu-west-1",
  credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
});
const sqs = mockClient(client);
const queueUrl = "https://sqs.eu-west-1.amazonaws.com/111122223333/webhook-deliveries";
const now = new Date("2030-01-01T00:00:00.000Z");
const queue = new SqsDeliveryQueue(client, queueUrl, () => now);

function lines(count: number): DeliveryLine[] {
  return Array.from({ length: count }, (_, i) => ({
    tenantId: "demo",
    endpointId: "we_1",
    loanId: `L-${i}`,
  }));
}

function inputs() {
  return sqs.commandCalls(SendMessageBatchCommand).map((call) => call.args[0].input);
}

describe("SqsDeliveryQueue", () => {
  beforeEach(() => {
    sqs.reset();
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
  });

  it("sends the lines in batches of ten, due now", async () => {
    await queue.enqueue(lines(12));
    const body = (i: number) => JSON.stringify({ tenantId: "demo", endpointId: "we_1", loanId: `L-${i}` });
    expect(inputs()).toEqual([
      {
        QueueUrl: queueUrl,
        Entries: Array.from({ length: 10 }, (_, i) => ({
          Id: String(i),
          MessageBody: body(i),
          DelaySeconds: 0,
        })),
      },
      {
        QueueUrl: queueUrl,
        Entries: [
          { Id: "0", MessageBody: body(10), DelaySeconds: 0 },
          { Id: "1", MessageBody: body(11), DelaySeconds: 0 },
        ],
      },
    ]);
  });

  it("sends nothing for no lines", async () => {
    await queue.enqueue([]);
    expect(inputs()).toEqual([]);
  });

  it("delays until notBefore, rounding up, and carries it in the body", async () => {
    const notBefore = "2030-01-01T00:01:30.200Z";
    await queue.enqueue(
      [{ tenantId: "demo", endpointId: "we_1", loanId: "L-1", extra: "x" } as DeliveryLine],
      notBefore,
    );
    expect(inputs()).toEqual([
      {
        QueueUrl: queueUrl,
        Entries: [
          {
            Id: "0",
            MessageBody: JSON.stringify({ tenantId: "demo", endpointId: "we_1", loanId: "L-1", notBefore }),
            DelaySeconds: 91,
          },
        ],
      },
    ]);
  });

  it("clamps the delay to what SQS allows", async () => {
    await queue.enqueue(lines(1), "2030-01-01T06:00:00.000Z");
    await queue.enqueue(lines(1), "2029-12-31T23:00:00.000Z");
    expect(inputs().map((input) => input.Entries?.[0]?.DelaySeconds)).toEqual([900, 0]);
    await expect(queue.enqueue(lines(1), "later")).rejects.toThrow(/not an instant/);
  });

  it("tries the entries SQS failed once more", async () => {
    sqs
      .on(SendMessageBatchCommand)
      .resolvesOnce({ Failed: [{ Id: "1", Code: "InternalError", SenderFault: false }] })
      .resolves({});
    await queue.enqueue(lines(3));
    const [first, retry] = inputs();
    expect(first?.Entries?.map((entry) => entry.Id)).toEqual(["0", "1", "2"]);
    expect(retry).toEqual({ QueueUrl: queueUrl, Entries: [first?.Entries?.[1]] });
  });

  it("throws when the retry fails too", async () => {
    sqs
      .on(SendMessageBatchCommand)
      .resolves({ Failed: [{ Id: "0", Code: "InternalError", SenderFault: false }] });
    await expect(queue.enqueue(lines(2))).rejects.toThrow(/SQS refused 1 .*InternalError/);
    expect(inputs()).toHaveLength(2);
  });
});
