import { contributionsOf, loanKey, type TrailEntry } from "../domain/trail-projection.ts";
import type { TrailProjectionStore } from "../ports/reports.ts";

/** Rounds of re-reading marks before a batch is given back to the stream to retry. */
const MAX_ROUNDS = 3;

/**
 * Adds what new audit entries stand for to their tenants' daily counters, each entry once. The stream delivers
 * records at least once: a loan whose entries were counted before (its mark refuses the write) has its mark read
 * again and only the entries above it are added. A mark that keeps moving under us is another consumer at work:
 * the error hands the batch back to the stream, which retries it.
 */
export async function projectTrail(
  store: TrailProjectionStore,
  entries: readonly TrailEntry[],
): Promise<{ loans: number; repeated: number }> {
  let contributions = contributionsOf(entries);
  const loans = new Set(contributions.map(loanKey)).size;
  const repeated = new Set<string>();
  for (let round = 1; contributions.length > 0; round++) {
    const { stale } = await store.add(contributions);
    if (stale.length === 0) break;
    if (round >= MAX_ROUNDS) throw new Error(`the projection marks of ${stale.length} loans keep moving`);
    for (const key of stale) repeated.add(key);
    const again = new Set(stale);
    const staleEntries = entries.filter((entry) => again.has(loanKey(entry)));
    const marks = await store.marks(uniqueLoans(staleEntries));
    contributions = contributionsOf(staleEntries, marks);
  }
  return { loans, repeated: repeated.size };
}

function uniqueLoans(entries: readonly TrailEntry[]): { tenantId: string; loanId: string }[] {
  const loans = new Map(
    entries.map((entry) => [loanKey(entry), { tenantId: entry.tenantId, loanId: entry.loanId }]),
  );
  return [...loans.values()];
}
