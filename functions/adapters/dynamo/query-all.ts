import { type DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from "@aws-sdk/lib-dynamodb";

/** The one call a query needs; tests wrap a client in an object that records or rewrites what is sent. */
export type QueryClient = Pick<DynamoDBDocumentClient, "send">;

export interface QueryAllOptions {
  /**
   * Yield at most this many items, then stop querying. Each page asks DynamoDB (Limit) for no more than the
   * items still missing, so a bounded read never evaluates (and pays for) items it would not return.
   */
  limit?: number;
}

/**
 * Every item a Query matches, in the index's order, page after page until DynamoDB has no LastEvaluatedKey (or
 * `options.limit` items were yielded). Pages are fetched as the caller reads: a caller that stops early (break,
 * return, throw) sends no further query. `input` is never changed; its ExclusiveStartKey, if any, is where the
 * first page starts, and its Limit, when no `options.limit` is given, is the size of every page.
 *
 * The items are cast to T, unchecked: the item type is the caller's knowledge of what it stored.
 *
 * lib-dynamodb's paginateQuery would follow the pages too, but it keeps one page size for the whole read and
 * refuses any client that is not a DynamoDBDocumentClient instance.
 */
export async function* queryAll<T = Record<string, unknown>>(
  client: QueryClient,
  input: QueryCommandInput,
  options: QueryAllOptions = {},
): AsyncGenerator<T, void, undefined> {
  const { limit } = options;
  let yielded = 0;
  let start = input.ExclusiveStartKey;
  do {
    if (limit !== undefined && yielded >= limit) return;
    const page = await client.send(
      new QueryCommand({
        ...input,
        ...(limit === undefined ? {} : { Limit: limit - yielded }),
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const item of page.Items ?? []) {
      if (limit !== undefined && yielded >= limit) return;
      yielded++;
      yield item as T;
    }
    start = page.LastEvaluatedKey;
  } while (start);
}
