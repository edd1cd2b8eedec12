import { type DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from "@aws-sdk/lib-dynamodb";
import {
  type Counters,
  dailyIncrements,
  type LoanContribution,
  loanKey,
  writeGroups,
} from "../../domain/trail-projection.ts";
import type { DailyCounters, PortfolioReadModel, TrailProjectionStore } from "../../ports/reports.ts";
import { countCases } from "./case-counts.ts";
import { MAX_TRANSACTION_ITEMS, sleep } from "./case-writes.ts";
import { cancellationCodes } from "./errors.ts";
import { queryAll } from "./query-all.ts";
import { keys } from "./schema.ts";

/**
 * The trail's daily counters in the state table, every key led by the tenant:
 * - one item per tenant and UTC day, `T#<tenant>#DAILY` / `DAY#<YYYY-MM-DD>`, one number attribute per counter
 *   (`MessagesSent|channel=sms|stage=pre_due`, `HandOffs`…), grown by atomic ADD;
 * - how far a loan's trail was counted: beside the case, `T#<tenant>#LOAN#<loan>` / `PROJECTED`, `countedThrough`
 *   holding the highest seq counted. Every write moves a loan's mark together with the counters its entries add
 *   (one transaction, on condition that the mark is still below them), so a stream record delivered again adds
 *   nothing. Entries that stand for no metric are never written.
 */
const dailyPartition = (tenantId: string) => `T#${tenantId}#DAILY`;
const DAY_PREFIX = "DAY#";
const markKey = (tenantId: string, loanId: string) => ({
  pk: keys.loanCase(tenantId, loanId).pk,
  sk: "PROJECTED",
});
/** Attempts at one write when other writes of the same counter items conflict with it. */
const MAX_ATTEMPTS = 6;

type Client = Pick<DynamoDBDocumentClient, "send">;

export class DynamoPortfolioReadModel implements PortfolioReadModel {
  constructor(
    private readonly client: Client,
    private readonly tables: { stateTable: string },
  ) {}

  caseCounts(tenantId: string) {
    return countCases(this.client, this.tables.stateTable, tenantId);
  }

  async dailyCounters(tenantId: string, from: string, to: string): Promise<DailyCounters[]> {
    const items = queryAll(this.client, {
      TableName: this.tables.stateTable,
      KeyConditionExpression: "pk = :pk AND sk BETWEEN :from AND :to",
      ExpressionAttributeValues: {
        ":pk": dailyPartition(tenantId),
        ":from": `${DAY_PREFIX}${from}`,
        ":to": `${DAY_PREFIX}${to}`,
      },
    });
    const days: DailyCounters[] = [];
    for await (const { pk: _pk, sk, ...counters } of items) {
      days.push({ day: String(sk).slice(DAY_PREFIX.length), counters: counters as Counters });
    }
    return days;
  }
}

export class DynamoTrailProjection implements TrailProjectionStore {
  constructor(
    private readonly client: Client,
    private readonly tables: { stateTable: string },
  ) {}

  async add(contributions: readonly LoanContribution[]): Promise<{ stale: string[] }> {
    const stale = new Set<string>();
    for (const group of writeGroups(contributions, MAX_TRANSACTION_ITEMS)) {
      // A loan refused in an earlier write stays out: its later entries wait until the earlier ones are sorted.
      await this.write(
        group.filter((contribution) => !stale.has(loanKey(contribution))),
        stale,
      );
    }
    return { stale: [...stale] };
  }

  async marks(loans: readonly { tenantId: string; loanId: string }[]): Promise<Map<string, number>> {
    const marks = new Map<string, number>();
    await Promise.all(
      loans.map(async (loan) => {
        const { Item } = await this.client.send(
          new GetCommand({
            TableName: this.tables.stateTable,
            Key: markKey(loan.tenantId, loan.loanId),
            ConsistentRead: true,
          }),
        );
        if (typeof Item?.countedThrough === "number") marks.set(loanKey(loan), Item.countedThrough);
      }),
    );
    return marks;
  }

  /**
   * One transaction: each loan's mark (conditional), then each tenant-day's counters. A loan whose mark refuses
   * is set aside as stale and the others are written again at once; a conflict with a concurrent write of the
   * same counters is tried again after a pause (the stream retries the batch beyond that).
   */
  private async write(group: LoanContribution[], stale: Set<string>): Promise<void> {
    let pending = group;
    for (let attempt = 1; pending.length > 0; attempt++) {
      try {
        await this.client.send(new TransactWriteCommand({ TransactItems: this.items(pending) }));
        return;
      } catch (error) {
        const codes = cancellationCodes(error);
        if (codes === null || attempt >= MAX_ATTEMPTS) throw error;
        // The marks come first in the transaction, in the order of `pending`.
        const refused = pending.filter((_, index) => codes[index] === "ConditionalCheckFailed");
        for (const contribution of refused) stale.add(loanKey(contribution));
        pending = pending.filter((contribution) => !stale.has(loanKey(contribution)));
        if (refused.length === 0) await sleep(25 * 2 ** attempt * Math.random());
      }
    }
  }

  private items(group: readonly LoanContribution[]) {
    const TableName = this.tables.stateTable;
    const marks = group.map((contribution) => ({
      Update: {
        TableName,
        Key: markKey(contribution.tenantId, contribution.loanId),
        UpdateExpression: "SET #through = :last",
        ConditionExpression: "attribute_not_exists(#through) OR #through < :first",
        ExpressionAttributeNames: { "#through": "countedThrough" },
        ExpressionAttributeValues: { ":last": contribution.lastSeq, ":first": contribution.firstSeq },
      },
    }));
    const counters = dailyIncrements(group).map(({ tenantId, day, counters: amounts }) => {
      const names = Object.keys(amounts);
      return {
        Update: {
          TableName,
          Key: { pk: dailyPartition(tenantId), sk: `${DAY_PREFIX}${day}` },
          UpdateExpression: `ADD ${names.map((_, i) => `#c${i} :c${i}`).join(", ")}`,
          ExpressionAttributeNames: Object.fromEntries(names.map((name, i) => [`#c${i}`, name])),
          ExpressionAttributeValues: Object.fromEntries(names.map((name, i) => [`:c${i}`, amounts[name]])),
        },
      };
    });
    return [...marks, ...counters];
  }
}
