import { inject } from "vitest";
import { type LocalStack, type LocalStackOptions, startLocalStack } from "../../infra/local/stack.ts";
import { apiClient } from "./client.ts";

export interface TestStack {
  stack: LocalStack;
  lender: ReturnType<typeof apiClient>;
  ops: ReturnType<typeof apiClient>;
  local: ReturnType<typeof apiClient>;
}

/**
 * The embedded stack on a frozen virtual clock, on tables of its own (named from `tablePrefix`) in the run's
 * DynamoDB Local, with a client per role it seeds keys for.
 */
export async function startTestStack(
  tablePrefix: string,
  clockStart = "2026-01-05T00:00:00Z",
  options: Pick<LocalStackOptions, "logLevel"> = {},
): Promise<TestStack> {
  const stack = await startLocalStack({
    clockStart: new Date(clockStart),
    frozen: true,
    port: 0,
    dynamoEndpoint: inject("dynamoEndpoint"),
    tablePrefix,
    ...options,
  });
  return {
    stack,
    lender: apiClient(stack.url, stack.keys.lender),
    ops: apiClient(stack.url, stack.keys.ops),
    local: apiClient(stack.url),
  };
}
