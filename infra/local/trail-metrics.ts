import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { DynamoDBRecord } from "aws-lambda";
import { logger } from "../../functions/powertools.ts";
import type { LambdaName } from "../lambda-bundles.ts";
import { localAuditStream, trailWriteCount } from "./audit-stream.ts";
import type { LocalWorkflowEngine, ScheduledJob } from "./engine.ts";
import type { LocalLambda } from "./lambda-runtime.ts";

/** Stream records per invocation, as the event source mapping's batch size on AWS. */
export const TRAIL_METRICS_BATCH = 100;
/** Attempts at one batch: the first and the event source's three retries; then it is halved, as on AWS. */
const ATTEMPTS = 4;

export interface TrailMetricsFeedDeps {
  stream: { poll(): Promise<DynamoDBRecord[]>; behind: boolean };
  metrics: { invoke(event: unknown): Promise<unknown> };
  /** A count that moves whenever the trail may have grown (ended invocations of the functions that write it). */
  trailWrites: () => number;
}

/**
 * What Lambda's event source mapping does for the trail-metrics function on AWS, on the stack's virtual clock: the
 * audit table's stream, read from a position of its own (as a second mapping on the same stream is), into the
 * function in batches. A failing batch is tried again, then split in two (bisectBatchOnError); a single record
 * that still fails is given up (logged and kept in `deadLetters`, the dead-letter queue on AWS). The stream is read
 * only when a function that writes the trail has run since the last read, so an idle stack makes no calls.
 */
export class TrailMetricsFeed implements ScheduledJob {
  /** The trailWrites() count the stream was last read to its end at; unset before the first read. */
  private readAt: number | undefined;
  readonly deadLetters: DynamoDBRecord[][] = [];

  constructor(private readonly deps: TrailMetricsFeedDeps) {}

  private hasNews(): boolean {
    return this.readAt !== this.deps.trailWrites() || this.deps.stream.behind;
  }

  async nextAt(nowMs: number): Promise<number | null> {
    return this.hasNews() ? nowMs : null;
  }

  async run(): Promise<void> {
    while (this.hasNews()) {
      // Counted before the read: a write that ends while the stream is read is read next time.
      const writes = this.deps.trailWrites();
      const inserts = (await this.deps.stream.poll()).filter((record) => record.eventName === "INSERT");
      this.readAt = writes;
      for (let start = 0; start < inserts.length; start += TRAIL_METRICS_BATCH) {
        await this.deliver(inserts.slice(start, start + TRAIL_METRICS_BATCH));
      }
    }
  }

  private async deliver(records: DynamoDBRecord[]): Promise<void> {
    let failure: unknown;
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      try {
        await this.deps.metrics.invoke({ Records: records });
        return;
      } catch (error) {
        failure = error;
      }
    }
    if (records.length > 1) {
      const half = Math.ceil(records.length / 2);
      await this.deliver(records.slice(0, half));
      await this.deliver(records.slice(half));
      return;
    }
    this.deadLetters.push(records);
    logger.error("trail metrics record given up", {
      sequence: records[0]?.dynamodb?.SequenceNumber,
      error: (failure as Error).name,
      message: (failure as Error).message,
    });
  }
}

/**
 * Creates the trail-metrics function and feeds it the audit table's stream on the engine's virtual clock: the
 * stream's second reader, as on AWS (the business metrics and the portfolio's daily counters). Its own
 * invocations write no trail, so they never wake it.
 */
export function startTrailMetrics(
  engine: LocalWorkflowEngine,
  deps: {
    lambdas: Partial<Record<LambdaName, LocalLambda>>;
    lambda: (name: LambdaName) => LocalLambda;
    store: { client: DynamoDBDocumentClient; endpoint: string; tables: { auditTable: string } };
  },
): TrailMetricsFeed {
  const { lambdas, store } = deps;
  const metrics = deps.lambda("trailMetrics");
  lambdas.trailMetrics = metrics;
  const trailWrites = trailWriteCount(lambdas, new Set<LambdaName>(["trailMetrics"]));
  const feed = new TrailMetricsFeed({ stream: localAuditStream(store), metrics, trailWrites });
  engine.schedule(feed);
  return feed;
}
