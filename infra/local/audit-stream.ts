import { DescribeTableCommand } from "@aws-sdk/client-dynamodb";
import {
  type _Record,
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type AttributeValue as StreamAttributeValue,
} from "@aws-sdk/client-dynamodb-streams";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { AttributeValue, DynamoDBRecord } from "aws-lambda";
import { CLIENT_TIMEOUTS } from "../../functions/adapters/client-config.ts";
import type { LambdaName } from "../lambda-bundles.ts";
import type { LocalLambda } from "./lambda-runtime.ts";

/** Records one poll takes at most, over all shards: a kept trail read from its start comes a page at a time. */
export const MAX_RECORDS_PER_POLL = 1000;
/** The most GetRecords returns in one call. */
const GET_RECORDS_LIMIT = 1000;

interface ShardCursor {
  /** Where the next GetRecords reads from; unset until the shard is opened, or after its iterator went stale. */
  iterator?: string;
  /** The last record read, to pick up after it when the iterator has expired. */
  lastSequence?: string;
  /** Read to its end: no more records will ever come on it. */
  closed: boolean;
  parent?: string;
}

export interface AuditStreamDeps {
  client: DynamoDBDocumentClient;
  streams: DynamoDBStreamsClient;
  tableName: string;
  maxRecordsPerPoll?: number;
}

/**
 * Reads the audit table's stream as Lambda's event source mapping does, for the embedded stack: every shard, new
 * ones as they appear, each from its first record (TRIM_HORIZON) so that nothing written after the stack started
 * is missed — and a kept data folder's older records are read again, which announcing (idempotent) shrugs off.
 * A child shard is read once its parent is, so a key's records come in order.
 */
export class AuditStreamPoller {
  private streamArn: string | undefined;
  private readonly shards = new Map<string, ShardCursor>();
  /** Whether the last poll stopped at its bound, so more records may be waiting. */
  behind = false;
  /**
   * Whether the shard list must be read again: at the first poll, and after a shard was read to its end (its
   * children carry on). Shards are replaced, never added beside an open one, so an open shard means the list is
   * current — and a DescribeStream per poll would cost as much as the reads themselves.
   */
  private shardsChanged = true;

  constructor(private readonly deps: AuditStreamDeps) {}

  /** The records written since the last poll (at most maxRecordsPerPoll), in Lambda's event shape. */
  async poll(): Promise<DynamoDBRecord[]> {
    const arn = await this.arn();
    const open = [...this.shards.values()].some((cursor) => !cursor.closed);
    if (this.shardsChanged || !open) {
      this.shardsChanged = false;
      await this.discoverShards(arn);
    }
    const records: DynamoDBRecord[] = [];
    let budget = this.deps.maxRecordsPerPoll ?? MAX_RECORDS_PER_POLL;
    for (const [shardId, cursor] of this.shards) {
      if (budget <= 0) break;
      if (cursor.closed || !this.parentDone(cursor)) continue;
      const taken = await this.readShard(arn, shardId, cursor, budget);
      for (const record of taken) records.push(toLambdaRecord(record, arn));
      budget -= taken.length;
    }
    this.behind = budget <= 0;
    return records;
  }

  private async arn(): Promise<string> {
    if (this.streamArn) return this.streamArn;
    const { Table: table } = await this.deps.client.send(
      new DescribeTableCommand({ TableName: this.deps.tableName }),
    );
    if (!table?.LatestStreamArn) throw new Error(`table ${this.deps.tableName} has no stream`);
    this.streamArn = table.LatestStreamArn;
    return this.streamArn;
  }

  private async discoverShards(arn: string): Promise<void> {
    const listed = new Set<string>();
    let start: string | undefined;
    do {
      const { StreamDescription: description } = await this.deps.streams.send(
        new DescribeStreamCommand({ StreamArn: arn, ...(start ? { ExclusiveStartShardId: start } : {}) }),
      );
      for (const shard of description?.Shards ?? []) {
        if (!shard.ShardId) continue;
        listed.add(shard.ShardId);
        if (!this.shards.has(shard.ShardId)) {
          this.shards.set(shard.ShardId, {
            closed: false,
            ...(shard.ParentShardId ? { parent: shard.ParentShardId } : {}),
          });
        }
      }
      start = description?.LastEvaluatedShardId;
    } while (start);
    // A shard read to its end and since trimmed from the stream is forgotten.
    for (const [shardId, cursor] of this.shards) {
      if (cursor.closed && !listed.has(shardId)) this.shards.delete(shardId);
    }
  }

  private parentDone(cursor: ShardCursor): boolean {
    const parent = cursor.parent === undefined ? undefined : this.shards.get(cursor.parent);
    return parent === undefined || parent.closed;
  }

  /** Up to `budget` records of one shard, marking it closed when its end is reached. */
  private async readShard(
    arn: string,
    shardId: string,
    cursor: ShardCursor,
    budget: number,
  ): Promise<_Record[]> {
    const taken: _Record[] = [];
    let recoveries = 0;
    while (taken.length < budget && !cursor.closed) {
      cursor.iterator ??= await this.openShard(arn, shardId, cursor);
      if (cursor.iterator === undefined) break;
      const limit = Math.min(budget - taken.length, GET_RECORDS_LIMIT);
      let page: Awaited<ReturnType<typeof this.getRecords>>;
      try {
        page = await this.getRecords(cursor.iterator, limit);
      } catch (error) {
        if (recoveries++ > 1 || !STALE_ITERATOR.has((error as Error).name)) throw error;
        // Iterators expire after 15 minutes (an idle stack): resume after the last record read, or from the
        // oldest one kept when that record is trimmed away.
        if ((error as Error).name === "TrimmedDataAccessException") delete cursor.lastSequence;
        delete cursor.iterator;
        continue;
      }
      const got = page.Records ?? [];
      taken.push(...got);
      const last = got.at(-1)?.dynamodb?.SequenceNumber;
      if (last) cursor.lastSequence = last;
      if (page.NextShardIterator) cursor.iterator = page.NextShardIterator;
      else {
        cursor.closed = true;
        this.shardsChanged = true;
        delete cursor.iterator;
      }
      // A short page: the shard has nothing more for now.
      if (got.length < limit) break;
    }
    return taken;
  }

  private getRecords(iterator: string, limit: number) {
    return this.deps.streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: limit }));
  }

  private async openShard(arn: string, shardId: string, cursor: ShardCursor): Promise<string | undefined> {
    try {
      const { ShardIterator: iterator } = await this.deps.streams.send(
        new GetShardIteratorCommand({
          StreamArn: arn,
          ShardId: shardId,
          ...(cursor.lastSequence
            ? { ShardIteratorType: "AFTER_SEQUENCE_NUMBER", SequenceNumber: cursor.lastSequence }
            : { ShardIteratorType: "TRIM_HORIZON" }),
        }),
      );
      if (!iterator) cursor.closed = true;
      return iterator;
    } catch (error) {
      if ((error as Error).name !== "ResourceNotFoundException") throw error;
      // Trimmed from the stream with whatever it held.
      cursor.closed = true;
      return undefined;
    }
  }
}

const STALE_ITERATOR = new Set(["ExpiredIteratorException", "TrimmedDataAccessException"]);

/** DynamoDB Local keeps tables per access key and region: the same as every other client of the stack. */
const LOCAL_STREAMS = {
  region: "us-east-1",
  credentials: { accessKeyId: "local", secretAccessKey: "local" },
};

/**
 * A reader of the stack's audit stream from its start. Each consumer has its own, as each event source mapping on
 * AWS reads the stream from a position of its own.
 */
export function localAuditStream(store: {
  client: DynamoDBDocumentClient;
  endpoint: string;
  tables: { auditTable: string };
}): AuditStreamPoller {
  return new AuditStreamPoller({
    client: store.client,
    streams: new DynamoDBStreamsClient({ ...CLIENT_TIMEOUTS, endpoint: store.endpoint, ...LOCAL_STREAMS }),
    tableName: store.tables.auditTable,
  });
}

/**
 * A count that moves whenever the trail may have grown: the ended invocations of the stack's functions, but those
 * named (a consumer's own, which write no trail). `lambdas` is read at each call, so functions made later count.
 */
export function trailWriteCount(
  lambdas: Partial<Record<LambdaName, LocalLambda>>,
  except: ReadonlySet<LambdaName>,
): () => number {
  return () => {
    let ended = 0;
    for (const fn of Object.values(lambdas)) if (fn && !except.has(fn.name)) ended += fn.completed;
    return ended;
  };
}

/** A record as the SDK reads it, in the shape Lambda hands a function: binary in base64, time in seconds. */
export function toLambdaRecord(record: _Record, eventSourceArn: string): DynamoDBRecord {
  const stream = record.dynamodb ?? {};
  const created = stream.ApproximateCreationDateTime;
  return {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion,
    eventSource: "aws:dynamodb",
    awsRegion: record.awsRegion,
    eventSourceARN: eventSourceArn,
    dynamodb: {
      ...(created ? { ApproximateCreationDateTime: Math.floor(created.getTime() / 1000) } : {}),
      ...(stream.Keys ? { Keys: toLambdaImage(stream.Keys) } : {}),
      ...(stream.NewImage ? { NewImage: toLambdaImage(stream.NewImage) } : {}),
      ...(stream.OldImage ? { OldImage: toLambdaImage(stream.OldImage) } : {}),
      SequenceNumber: stream.SequenceNumber,
      SizeBytes: stream.SizeBytes,
      StreamViewType: stream.StreamViewType,
    },
  };
}

function toLambdaImage(image: Record<string, StreamAttributeValue>): Record<string, AttributeValue> {
  return Object.fromEntries(Object.entries(image).map(([name, value]) => [name, toLambdaValue(value)]));
}

const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

function toLambdaValue(value: StreamAttributeValue): AttributeValue {
  if (value.B !== undefined) return { B: base64(value.B) };
  if (value.BS !== undefined) return { BS: value.BS.map(base64) };
  if (value.L !== undefined) return { L: value.L.map(toLambdaValue) };
  if (value.M !== undefined) return { M: toLambdaImage(value.M) };
  // S, N, SS, NS, BOOL and NULL read the same in both shapes.
  return value as AttributeValue;
}
