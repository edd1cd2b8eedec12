import { type DynamoDBDocumentClient, paginateScan } from "@aws-sdk/lib-dynamodb";
import type { SQSBatchResponse } from "aws-lambda";
import { APPLY_MAX_RECEIVES, type ApplicationMessage } from "../../functions/domain/policy-application.ts";
import { logger } from "../../functions/powertools.ts";
import { LAMBDA_FUNCTIONS, type LambdaName } from "../lambda-bundles.ts";
import type { LocalWorkflowEngine, ScheduledJob } from "./engine.ts";
import type { LocalLambda } from "./lambda-runtime.ts";
import { LocalQueue, type ReceivedMessage } from "./local-queue.ts";
import { sqsRecord } from "./webhook-dispatch.ts";

/** The function the policy application queue runs. */
export type PolicyJobFunction = "policyApply";

/** Pages worked at once, as the apply function's event source allows on AWS (its maximum concurrency). */
const APPLY_CONCURRENCY = 2;
/** Six times the apply function's timeout, as the queue on AWS. */
const APPLY_VISIBILITY_TIMEOUT_MS = LAMBDA_FUNCTIONS.policyApply.timeoutSeconds * 6 * 1000;
/** The pace settings the apply function reads, passed on from this process's environment where set. */
const PACE_SETTINGS = ["POLICY_APPLY_RATE", "POLICY_APPLY_PAGE_SIZE"] as const;

/** The policy application queue, on the stack's virtual clock. */
export function policyJobQueue(): LocalQueue {
  return new LocalQueue("policy-applications", {
    visibilityTimeoutMs: APPLY_VISIBILITY_TIMEOUT_MS,
    maxReceives: APPLY_MAX_RECEIVES,
    onDeadLetter: (message) =>
      logger.error("policy application page dead-lettered", {
        messageId: message.messageId,
        receiveCount: message.receiveCount,
        body: message.body,
      }),
  });
}

/**
 * What Lambda's SQS event source does for the apply function on AWS, on the stack's virtual clock: each visible page
 * message to the function (one per invocation, two at once), deleted when it succeeds and left to come back after
 * the visibility timeout when it fails. A page's delay is virtual time, so a job runs as fast as the machine allows.
 */
export class PolicyJobDispatch implements ScheduledJob {
  constructor(
    private readonly deps: { queue: LocalQueue; apply: { invoke(event: unknown): Promise<unknown> } },
  ) {}

  async nextAt(nowMs: number): Promise<number | null> {
    const visible = this.deps.queue.nextVisibleAt();
    return visible === null ? null : Math.max(nowMs, visible);
  }

  /** Works every page due at `nowMs`, those it queues undelayed included. */
  async run(nowMs: number): Promise<void> {
    for (;;) {
      const due = this.deps.queue.due(nowMs, APPLY_CONCURRENCY);
      if (due.length === 0) return;
      await Promise.all(due.map((message) => this.apply(message)));
    }
  }

  private apply(message: ReceivedMessage): Promise<void> {
    return deliver(this.deps.queue, message, this.deps.apply);
  }
}

/**
 * One message to a function as Lambda's SQS event source hands it over (a batch of one): deleted when it succeeds,
 * left to come back after the visibility timeout (or to go to the dead-letter list) when it fails.
 */
export async function deliver(
  queue: LocalQueue,
  message: ReceivedMessage,
  fn: { name?: string; invoke(event: unknown): Promise<unknown> },
): Promise<void> {
  let failed: boolean;
  try {
    const response = (await fn.invoke({ Records: [sqsRecord(message, queue.arn)] })) as SQSBatchResponse;
    failed = (response?.batchItemFailures ?? []).length > 0;
  } catch (error) {
    logger.warn(`${fn.name ?? queue.name} invocation failed`, { error: (error as Error).name });
    failed = true;
  }
  if (failed) queue.fail(message.receiptHandle);
  else queue.delete(message.receiptHandle);
}

/**
 * After a restart on kept data (--data-dir), every job still running gets its current page queued again (the
 * queue lived in memory); a page counted before the restart is never counted twice.
 */
async function resumeApplications(
  client: DynamoDBDocumentClient,
  stateTable: string,
  queue: LocalQueue,
  nowMs: number,
) {
  const pages = paginateScan(
    { client },
    {
      TableName: stateTable,
      FilterExpression: "begins_with(sk, :apply) AND #status = :running",
      ExpressionAttributeNames: { "#status": "status", "#cursor": "cursor", "#version": "version" },
      ExpressionAttributeValues: { ":apply": "APPLY#", ":running": "running" },
      ProjectionExpression: "tenantId, policyId, #version, id, #cursor",
    },
  );
  for await (const page of pages) {
    for (const item of page.Items ?? []) {
      const message: ApplicationMessage = {
        tenantId: item.tenantId,
        policyId: item.policyId,
        version: item.version,
        jobId: item.id,
        ...(item.cursor ? { cursor: item.cursor } : {}),
      };
      queue.send(JSON.stringify(message), 0, nowMs);
    }
  }
}

/** What the policy jobs need of the stack: its queue and edge, how it makes functions, its store and clock. */
export interface PolicyJobsDeps {
  queue: LocalQueue;
  edge: { queueUrl(queue: LocalQueue): string };
  /** Makes a function's sandbox with the stack's environment and `extra`; `lambdas` lists those the stack stops. */
  lambda: (name: LambdaName, extra: Record<string, string>) => LocalLambda;
  lambdas: Partial<Record<LambdaName, LocalLambda>>;
  store: { client: DynamoDBDocumentClient; tables: { stateTable: string } };
  clock: { nowMs(): number };
}

/**
 * Creates the apply function and runs the policy application queue into it on the engine's virtual clock; jobs a
 * restart cut off are resumed. Returns the environment the API needs to queue a job's first page.
 */
export async function startPolicyJobs(
  engine: LocalWorkflowEngine,
  deps: PolicyJobsDeps,
): Promise<{ env: Record<string, string> }> {
  const env = { POLICY_APPLY_QUEUE_URL: deps.edge.queueUrl(deps.queue) };
  const pace = Object.fromEntries(
    PACE_SETTINGS.flatMap((name) => (process.env[name] ? [[name, process.env[name] as string]] : [])),
  );
  const apply = deps.lambda("policyApply", { ...env, ...pace });
  deps.lambdas.policyApply = apply;
  await resumeApplications(deps.store.client, deps.store.tables.stateTable, deps.queue, deps.clock.nowMs());
  engine.schedule(new PolicyJobDispatch({ queue: deps.queue, apply }));
  return { env };
}
