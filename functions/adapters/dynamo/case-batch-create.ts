import { type DynamoDBDocumentClient, TransactWriteCommand } from "@aws-sdk/lib-dynamodb";
import { type AuditEntry, appendToChain, EMPTY_CHAIN } from "../../domain/audit-chain.ts";
import type { CaseChange, LoanCase } from "../../domain/loan-case.ts";
import type { CreateOutcome } from "../../ports.ts";
import { caseRefKey, getCases } from "./case-batch-get.ts";
import {
  type CaseTables,
  MAX_EVENTS_PER_WRITE,
  MAX_TRANSACTION_ITEMS,
  putItems,
  sleep,
  translateCancellation,
  writeCase,
} from "./case-writes.ts";
import { cancellationCodes } from "./errors.ts";

/**
 * Loans per TransactWriteItems in createMany. Fewer than the 100-item limit allows: a transaction's cost grows
 * faster than its size on DynamoDB Local (measured: 25 loans per call beats 50), and a smaller chunk loses less
 * when one loan in it already exists and the chunk is sent again without it.
 */
export const LOANS_PER_WRITE = 25;
/** Transactions createMany keeps in flight at once. */
const WRITES_IN_FLIGHT = 4;
/** A chunk that keeps colliding with other writers is written loan by loan after this many tries. */
const MAX_CHUNK_ATTEMPTS = 4;

/** One new case ready to write: its place in the caller's list, the case as stored and its first audit entries. */
interface NewLoan {
  index: number;
  stored: LoanCase;
  entries: AuditEntry[];
}

/**
 * Creates many new cases, several loans per TransactWriteItems (each loan's case and audit entries stay in the
 * same transaction, so a case never lands without its trail). A chunk cancelled because some of its loans
 * already exist is sent again without them; their stored cases are read back in one BatchGetItem.
 */
export async function createMany(
  client: DynamoDBDocumentClient,
  tables: CaseTables,
  changes: CaseChange[],
  at: string,
): Promise<CreateOutcome[]> {
  const prepared = changes.map((change, index): NewLoan => {
    const { tenantId, loanId } = change.next;
    const chain = appendToChain({ tenantId, loanId }, EMPTY_CHAIN, change.events, at);
    const stored: LoanCase = { ...change.next, audit: chain.head, version: change.next.version + 1 };
    return { index, stored, entries: chain.entries };
  });
  const batch = new BatchCreate(client, tables, changes.length);
  const chunks = [...chunksOf(prepared)];
  let nextChunk = 0;
  const writeChunks = async () => {
    for (let chunk = chunks[nextChunk++]; chunk; chunk = chunks[nextChunk++]) await batch.writeChunk(chunk);
  };
  // A few transactions in flight: DynamoDB (Local too) serves them in parallel, one at a time leaves it idle.
  await Promise.all(Array.from({ length: Math.min(WRITES_IN_FLIGHT, chunks.length) }, writeChunks));
  await batch.readExisting();
  return batch.outcomes;
}

/** The state of one createMany call: each loan's outcome, and the loans found to exist already. */
class BatchCreate {
  readonly outcomes: CreateOutcome[];
  private readonly existing: NewLoan[] = [];

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tables: CaseTables,
    size: number,
  ) {
    this.outcomes = new Array(size);
  }

  async writeChunk(chunk: NewLoan[]): Promise<void> {
    let pending = chunk;
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > MAX_CHUNK_ATTEMPTS) {
        await this.writeOneByOne(pending);
        return;
      }
      try {
        await this.client.send(
          new TransactWriteCommand({
            TransactItems: pending.flatMap((loan) =>
              putItems(this.tables, loan.stored, loan.entries, "attribute_not_exists(pk)"),
            ),
          }),
        );
        for (const loan of pending) this.outcomes[loan.index] = { created: true, case: loan.stored };
        return;
      } catch (error) {
        const codes = cancellationCodes(error);
        if (!codes) {
          for (const loan of pending) this.outcomes[loan.index] = { failed: error };
          return;
        }
        pending = this.sortCancelled(pending, error, codes);
        if (codes.includes("TransactionConflict") || codes.includes("ThrottlingError")) {
          await sleep(20 * 2 ** attempt * Math.random());
        }
      }
    }
  }

  /**
   * Decides each loan of a cancelled chunk from its own reasons (they come in item order: its case first, then
   * its audit entries) and returns the loans to send again.
   */
  private sortCancelled(pending: NewLoan[], error: unknown, codes: (string | undefined)[]): NewLoan[] {
    const retry: NewLoan[] = [];
    let position = 0;
    for (const loan of pending) {
      const own = codes.slice(position, position + 1 + loan.entries.length);
      position += 1 + loan.entries.length;
      if (own[0] === "ConditionalCheckFailed") this.existing.push(loan);
      else if (own.slice(1).includes("ConditionalCheckFailed")) {
        this.outcomes[loan.index] = {
          failed: translateCancellation(error, own, `loan ${loan.stored.loanId}`),
        };
      } else retry.push(loan);
    }
    return retry;
  }

  /** Still colliding with concurrent writers: one transaction per loan, each decided on its own. */
  private async writeOneByOne(pending: NewLoan[]): Promise<void> {
    for (const loan of pending) {
      this.outcomes[loan.index] = await this.createOne(loan.stored, loan.entries).catch((error: unknown) => ({
        failed: error,
      }));
      if (this.outcomes[loan.index]?.created === false) this.existing.push(loan);
    }
  }

  /** One loan's case and entries in its own transaction. */
  private async createOne(stored: LoanCase, entries: AuditEntry[]): Promise<CreateOutcome> {
    try {
      await writeCase(this.client, this.tables, stored, entries, {
        ConditionExpression: "attribute_not_exists(pk)",
      });
      return { created: true, case: stored };
    } catch (error) {
      const codes = cancellationCodes(error);
      if (codes?.[0] === "ConditionalCheckFailed") return { created: false, existing: null };
      throw translateCancellation(error, codes, `loan ${stored.loanId}`);
    }
  }

  /** The stored case of every loan that already existed, as its outcome. */
  async readExisting(): Promise<void> {
    if (this.existing.length === 0) return;
    const stored = await getCases(
      this.client,
      this.tables.stateTable,
      this.existing.map((loan) => ({ tenantId: loan.stored.tenantId, loanId: loan.stored.loanId })),
    );
    for (const loan of this.existing) {
      const found = stored.get(caseRefKey(loan.stored)) ?? null;
      this.outcomes[loan.index] = { created: false, existing: found };
    }
  }
}

/**
 * Consecutive loans whose items fit one transaction (at most LOANS_PER_WRITE loans, 100 items). A loan with more
 * audit entries than one transaction takes is refused as create() refuses it.
 */
function* chunksOf<T extends { entries: AuditEntry[] }>(loans: T[]): Generator<T[]> {
  let chunk: T[] = [];
  let items = 0;
  for (const loan of loans) {
    const size = 1 + loan.entries.length;
    if (loan.entries.length > MAX_EVENTS_PER_WRITE) {
      throw new RangeError(`a case change may carry at most ${MAX_EVENTS_PER_WRITE} audit events`);
    }
    if (chunk.length > 0 && (chunk.length >= LOANS_PER_WRITE || items + size > MAX_TRANSACTION_ITEMS)) {
      yield chunk;
      chunk = [];
      items = 0;
    }
    chunk.push(loan);
    items += size;
  }
  if (chunk.length > 0) yield chunk;
}
