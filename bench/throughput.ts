import { randomBytes } from "node:crypto";
import { CreateTableCommand, DynamoDBClient, TransactWriteItemsCommand } from "@aws-sdk/client-dynamodb";
import { forEachLimited } from "../functions/concurrency.ts";
import { startLocalStack } from "../infra/local/stack.ts";
import { syntheticPortfolio } from "../simulator/portfolio.ts";
import { jsonClient, log } from "./http.ts";
import { taskKinds } from "./workflow.ts";

export interface RawThroughput {
  transactionsPerSecond: number;
  transactions: number;
  seconds: number;
  concurrency: number;
  errors: number;
}

/** Two-item TransactWriteItems against DynamoDB Local, `concurrency` in flight, for `seconds`. */
export async function rawDynamoThroughput(
  endpoint: string,
  seconds: number,
  concurrency: number,
): Promise<RawThroughput> {
  const client = new DynamoDBClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  const table = `bench-raw-${randomBytes(3).toString("hex")}`;
  await client.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [
        { AttributeName: "pk", AttributeType: "S" },
        { AttributeName: "sk", AttributeType: "S" },
      ],
      KeySchema: [
        { AttributeName: "pk", KeyType: "HASH" },
        { AttributeName: "sk", KeyType: "RANGE" },
      ],
    }),
  );
  // About the size of a case item and an audit entry.
  const payload = "x".repeat(600);
  let transactions = 0;
  let errors = 0;
  let seq = 0;
  const began = performance.now();
  const deadline = began + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const id = `loan-${++seq}`;
        try {
          await client.send(
            new TransactWriteItemsCommand({
              TransactItems: [
                { Put: { TableName: table, Item: { pk: { S: id }, sk: { S: "case" }, v: { S: payload } } } },
                {
                  Put: { TableName: table, Item: { pk: { S: id }, sk: { S: "audit#1" }, v: { S: payload } } },
                },
              ],
            }),
          );
          transactions++;
        } catch {
          errors++;
        }
      }
    }),
  );
  const elapsed = (performance.now() - began) / 1000;
  client.destroy();
  return {
    transactionsPerSecond: transactions / elapsed,
    transactions,
    seconds: elapsed,
    concurrency,
    errors,
  };
}

export interface StackThroughput {
  loans: number;
  subscribeSeconds: number;
  /** Dunning steps run while the clock moved (send and hand-off task calls). */
  steps: number;
  taskCalls: number;
  messages: number;
  seconds: number;
  stepsPerSecond: number;
  /** Share of the advance's wall time spent inside task handlers (summed over overlapping calls). */
  taskTimeShare: number;
  meanTaskMs: number;
  workerRequestsPerStep: number;
}

/**
 * Full stack: `loans` loans from the synthetic portfolio subscribed through the API, then the virtual
 * clock moved past every step and the legal hand-off in one advance; steps executed ÷ seconds of that advance.
 */
export async function stackThroughput(dynamoEndpoint: string, loans: number): Promise<StackThroughput> {
  const stack = await startLocalStack({
    clockStart: new Date("2026-01-05T00:00:00Z"),
    frozen: true,
    port: 0,
    dynamoEndpoint,
    tablePrefix: `bench-tp-${randomBytes(3).toString("hex")}-`,
  });
  try {
    const lender = jsonClient(stack.url, stack.keys.lender);
    const local = jsonClient(stack.url);
    const portfolio = syntheticPortfolio({
      count: loans,
      seed: 7,
      firstDueDate: "2026-01-15",
      dueDays: 7,
      idPrefix: `TP${randomBytes(2).toString("hex")}`,
    });
    const subscribeBegan = performance.now();
    let failed = 0;
    await forEachLimited(portfolio, 8, async (loan) => {
      const res = await lender("POST", "/v1/loans", loan);
      if (res.status !== 201) failed++;
    });
    if (failed > 0) throw new Error(`${failed} of ${loans} subscriptions failed`);
    await stack.engine.settle();
    const subscribeSeconds = (performance.now() - subscribeBegan) / 1000;
    log(`throughput: ${loans} loans subscribed in ${subscribeSeconds.toFixed(1)} s; advancing the clock`);

    const stats = { ...stack.engine.stats };
    const messagesBefore = stack.outbox.list().length;
    const began = performance.now();
    const res = await local("POST", "/local/clock/advance", { to: "2026-03-31T00:00:00Z" });
    if (res.status !== 200) throw new Error(`advance failed: ${JSON.stringify(res.body)}`);
    const seconds = (performance.now() - began) / 1000;
    const taskCalls = stack.engine.stats.taskCalls - stats.taskCalls;
    const kinds = taskKinds();
    const steps = stack.engine
      .allExecutions()
      .flatMap((e) => e.states)
      .filter((s) => kinds.get(s) === "step").length;
    const taskMs = stack.engine.stats.taskMs - stats.taskMs;
    return {
      loans,
      subscribeSeconds,
      steps,
      taskCalls,
      messages: stack.outbox.list().length - messagesBefore,
      seconds,
      stepsPerSecond: steps / seconds,
      taskTimeShare: taskMs / (seconds * 1000),
      meanTaskMs: taskMs / Math.max(1, taskCalls),
      workerRequestsPerStep: (stack.engine.stats.workerRequests - stats.workerRequests) / Math.max(1, steps),
    };
  } finally {
    await stack.stop();
  }
}
