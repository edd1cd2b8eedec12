import type { QueryCommandInput } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import { type QueryClient, queryAll } from "../../functions/adapters/dynamo/query-all.ts";

/**
 * A partition of `count` items (`{ n }`, in order) served the way DynamoDB pages a Query: at most `pageSize` items
 * (or the request's Limit, if smaller) per page, a LastEvaluatedKey while items remain. Records every request.
 */
function partition(count: number, pageSize: number) {
  const sent: QueryCommandInput[] = [];
  const client = {
    async send(command: { input: QueryCommandInput }) {
      const input = command.input;
      sent.push({ ...input });
      const from = input.ExclusiveStartKey ? Number(input.ExclusiveStartKey.n) + 1 : 0;
      const size = Math.min(pageSize, input.Limit ?? pageSize);
      const Items = Array.from({ length: Math.max(0, Math.min(size, count - from)) }, (_, i) => ({
        n: from + i,
      }));
      const last = Items.at(-1);
      return { Items, ...(last && last.n < count - 1 ? { LastEvaluatedKey: { n: last.n } } : {}) };
    },
  } as unknown as QueryClient;
  return { client, sent };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

const INPUT: QueryCommandInput = { TableName: "t", KeyConditionExpression: "pk = :pk" };

describe("queryAll", () => {
  it("follows every page until there is no LastEvaluatedKey, in order, without changing the input", async () => {
    const { client, sent } = partition(7, 3);
    const input = { ...INPUT };
    const items = await collect(queryAll<{ n: number }>(client, input));
    expect(items.map((item) => item.n)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(sent.map((request) => request.ExclusiveStartKey)).toEqual([undefined, { n: 2 }, { n: 5 }]);
    expect(input).toEqual(INPUT);
  });

  it("starts at the input's ExclusiveStartKey and keeps its Limit as the page size", async () => {
    const { client, sent } = partition(10, 100);
    const items = await collect(
      queryAll<{ n: number }>(client, { ...INPUT, ExclusiveStartKey: { n: 5 }, Limit: 2 }),
    );
    expect(items.map((item) => item.n)).toEqual([6, 7, 8, 9]);
    expect(sent.map((request) => request.Limit)).toEqual([2, 2]);
  });

  it("with a limit, asks each page for only the items still missing and stops once it has them", async () => {
    const { client, sent } = partition(20, 4);
    const items = await collect(queryAll<{ n: number }>(client, INPUT, { limit: 10 }));
    expect(items.map((item) => item.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(sent.map((request) => request.Limit)).toEqual([10, 6, 2]);
  });

  it("sends no further query once the reader stops", async () => {
    const { client, sent } = partition(20, 4);
    for await (const item of queryAll<{ n: number }>(client, INPUT)) if (item.n === 5) break;
    expect(sent).toHaveLength(2);
  });

  it("yields nothing and sends nothing for a limit of 0", async () => {
    const { client, sent } = partition(5, 5);
    expect(await collect(queryAll(client, INPUT, { limit: 0 }))).toEqual([]);
    expect(sent).toHaveLength(0);
  });
});
