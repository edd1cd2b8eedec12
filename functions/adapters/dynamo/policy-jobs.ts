import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { ApplicationProgress } from "../../domain/policy-application.ts";
import type { ApplicationRef, PageRecord, PolicyJobStore } from "../../ports/policy-jobs.ts";
import { isConditionalCheckFailed } from "./errors.ts";
import { keys } from "./schema.ts";

/** The stored attributes of a job besides its keys; `status`, `total`, `cursor`… are reserved words, hence names. */
const FIELDS = [
  "id",
  "policyId",
  "version",
  "status",
  "total",
  "moved",
  "failed",
  "startedAt",
  "finishedAt",
  "actor",
  "cursor",
  "lastFrom",
  "sent",
  "sendBy",
] as const;
const NAMES = Object.fromEntries(FIELDS.map((field) => [`#${field}`, field]));

const keyOf = (tenantId: string, policyId: string, jobId: string) =>
  keys.policyApplication(tenantId, policyId, jobId);
const refKey = (ref: ApplicationRef) => keyOf(ref.tenantId, ref.policyId, ref.jobId);

/** The item of a new job, put by the policy repository in the transaction that stores its version. */
export function applicationItem(tenantId: string, job: ApplicationProgress): Record<string, unknown> {
  return { ...keyOf(tenantId, job.policyId, job.id), tenantId, ...job };
}

function toProgress(item: Record<string, unknown>): ApplicationProgress {
  const job: Record<string, unknown> = {};
  for (const field of FIELDS) if (item[field] !== undefined) job[field] = item[field];
  return job as unknown as ApplicationProgress;
}

/**
 * Policy application jobs in the state table, beside their policy's versions (`T#<tenant>#POLICY#<id>` /
 * `APPLY#<jobId>`). Every change of a job is one conditional update, so repeated page messages never count twice.
 */
export class DynamoPolicyJobStore implements PolicyJobStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tables: { stateTable: string },
  ) {}

  async get(ref: ApplicationRef): Promise<ApplicationProgress | null> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tables.stateTable, Key: refKey(ref), ConsistentRead: true }),
    );
    return Item ? toProgress(Item) : null;
  }

  async recordPage(ref: ApplicationRef, page: PageRecord): Promise<boolean> {
    const ending = page.done ? ", #status = :done, #finishedAt = :at" : "";
    return this.update(ref, {
      UpdateExpression:
        "SET #cursor = :next, #lastFrom = :from, #sendBy = :sendBy, #total = #total + :total, " +
        `#moved = #moved + :moved, #failed = #failed + :failed${ending} REMOVE #sent`,
      ConditionExpression: "#status = :running AND #cursor = :from",
      ExpressionAttributeValues: {
        ":next": page.next,
        ":from": page.from,
        ":sendBy": page.sendBy,
        ":total": page.counts.total,
        ":moved": page.counts.moved,
        ":failed": page.counts.failed,
        ":running": "running",
        ...(page.done ? { ":done": "done", ":at": page.at } : {}),
      },
    });
  }

  claimSend(ref: ApplicationRef, cursor: string, expiredSendBy: number, sendBy: number): Promise<boolean> {
    return this.update(ref, {
      UpdateExpression: "SET #sendBy = :sendBy",
      ConditionExpression:
        "#status = :running AND #cursor = :cursor AND #sendBy = :expired AND " +
        "(attribute_not_exists(#sent) OR #sent <> :cursor)",
      ExpressionAttributeValues: {
        ":sendBy": sendBy,
        ":running": "running",
        ":cursor": cursor,
        ":expired": expiredSendBy,
      },
    });
  }

  async markSent(ref: ApplicationRef, cursor: string): Promise<void> {
    await this.update(ref, {
      UpdateExpression: "SET #sent = :cursor",
      ConditionExpression: "#cursor = :cursor",
      ExpressionAttributeValues: { ":cursor": cursor },
    });
  }

  async fail(ref: ApplicationRef, at: string): Promise<void> {
    await this.update(ref, {
      UpdateExpression: "SET #status = :failed, #finishedAt = :at",
      ConditionExpression: "#status = :running",
      ExpressionAttributeValues: { ":failed": "failed", ":running": "running", ":at": at },
    });
  }

  /** One conditional update of the job; false when its condition did not hold (nothing was written). */
  private async update(
    ref: ApplicationRef,
    input: {
      UpdateExpression: string;
      ConditionExpression: string;
      ExpressionAttributeValues: Record<string, unknown>;
    },
  ): Promise<boolean> {
    const used = `${input.UpdateExpression} ${input.ConditionExpression}`;
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tables.stateTable,
          Key: refKey(ref),
          ...input,
          ExpressionAttributeNames: Object.fromEntries(
            Object.entries(NAMES).filter(([name]) => new RegExp(`${name}\\b`).test(used)),
          ),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }
}
