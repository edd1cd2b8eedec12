import { BatchGetCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { LoanCase } from "../../domain/loan-case.ts";
import { toCase } from "./case-items.ts";
import { sleep } from "./case-writes.ts";
import { keys } from "./schema.ts";

/** BatchGetItem reads at most 100 keys per call. */
const MAX_BATCH_GET = 100;

/** The key getCases files a case under: tenant and loan id. */
export function caseRefKey(ref: { tenantId: string; loanId: string }): string {
  return `${ref.tenantId}\u0000${ref.loanId}`;
}

/**
 * Strongly consistent reads of many cases, 100 keys per BatchGetItem, following unprocessed keys. A case that
 * does not exist is simply absent from the answer.
 */
export async function getCases(
  client: DynamoDBDocumentClient,
  stateTable: string,
  refs: readonly { tenantId: string; loanId: string }[],
): Promise<Map<string, LoanCase>> {
  const found = new Map<string, LoanCase>();
  for (let start = 0; start < refs.length; start += MAX_BATCH_GET) {
    let requested: Record<string, unknown>[] = refs
      .slice(start, start + MAX_BATCH_GET)
      .map((ref) => keys.loanCase(ref.tenantId, ref.loanId));
    for (let attempt = 1; requested.length > 0; attempt++) {
      const answer = await client.send(
        new BatchGetCommand({
          RequestItems: { [stateTable]: { Keys: requested, ConsistentRead: true } },
        }),
      );
      for (const item of answer.Responses?.[stateTable] ?? []) {
        const loanCase = toCase(item);
        found.set(caseRefKey(loanCase), loanCase);
      }
      requested = answer.UnprocessedKeys?.[stateTable]?.Keys ?? [];
      if (requested.length > 0) await sleep(20 * 2 ** Math.min(attempt, 6) * Math.random());
    }
  }
  return found;
}
