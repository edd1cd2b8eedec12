import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { LoanCase } from "../../domain/loan-case.ts";
import type { OpenCaseSource } from "../../ports/simulations.ts";
import { caseRefKey, getCases } from "./case-batch-get.ts";
import { openCasePages } from "./case-queries.ts";

/** Open cases read per page of the index, and per BatchGetItem (its most); the reads of a page run side by side. */
const PAGE = 1000;
const BATCH = 100;

/**
 * The tenant's open cases, whole, a page at a time: positions from the sparse open-case index (keys only, never a
 * scan), then the cases themselves by key. A case closed between the two reads is simply left out.
 */
export function openCaseReader(client: DynamoDBDocumentClient, stateTable: string): OpenCaseSource {
  const index = openCasePages(client, stateTable);
  return {
    async *pages(tenantId: string): AsyncGenerator<LoanCase[]> {
      for (let after = "", more = true; more; ) {
        const page = await index.page(tenantId, after, PAGE);
        const refs = page.items.map(({ loanId }) => ({ tenantId, loanId }));
        const batches = [];
        for (let start = 0; start < refs.length; start += BATCH) {
          batches.push(getCases(client, stateTable, refs.slice(start, start + BATCH)));
        }
        const found = new Map((await Promise.all(batches)).flatMap((batch) => [...batch]));
        yield refs.flatMap((ref) => found.get(caseRefKey(ref)) ?? []);
        more = page.more;
        after = page.items.at(-1)?.position ?? after;
      }
    },
  };
}
