import { randomBytes } from "node:crypto";
import { CreateTableCommand, DescribeTableCommand } from "@aws-sdk/client-dynamodb";
import { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { beforeAll, describe, expect, it } from "vitest";
import { createTables } from "../../functions/adapters/dynamo/tables.ts";
import { AuditStreamPoller, toLambdaRecord } from "../../infra/local/audit-stream.ts";
import { type FreshTables, freshTables } from "../support/dynamo.ts";

let db: FreshTables;
let streams: DynamoDBStreamsClient;

beforeAll(async () => {
  db = await freshTables({ streams: true });
  streams = new DynamoDBStreamsClient({
    endpoint: db.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
});

/** An audit entry of its own loan, so each test reads only what it wrote by filtering on it. */
async function putEntries(loanId: string, count: number, extra: Record<string, unknown> = {}) {
  for (let seq = 1; seq <= count; seq++) {
    await db.client.send(
      new PutCommand({
        TableName: db.auditTable,
        Item: { pk: `T#acme#LOAN#${loanId}`, seq, gsi1pk: "acme", gsi1sk: `x#${loanId}#${seq}`, ...extra },
      }),
    );
  }
}

const poller = (maxRecordsPerPoll?: number) =>
  new AuditStreamPoller({
    client: db.client,
    streams,
    tableName: db.auditTable,
    ...(maxRecordsPerPoll ? { maxRecordsPerPoll } : {}),
  });

const loansOf = (records: Awaited<ReturnType<AuditStreamPoller["poll"]>>) =>
  records.map((record) => `${record.dynamodb?.NewImage?.pk?.S}/${record.dynamodb?.Keys?.seq?.N}`);

describe("AuditStreamPoller", () => {
  it("reads every entry written before its first poll, then only what is new, and nothing when nothing is", async () => {
    const stream = poller();
    await putEntries("L-first", 2);
    const first = await stream.poll();
    expect(loansOf(first)).toContain("T#acme#LOAN#L-first/1");
    expect(loansOf(first)).toContain("T#acme#LOAN#L-first/2");

    await putEntries("L-second", 1);
    expect(loansOf(await stream.poll())).toEqual(["T#acme#LOAN#L-second/1"]);
    expect(await stream.poll()).toEqual([]);
    expect(stream.behind).toBe(false);
  });

  it("gives records in Lambda's event shape", async () => {
    const stream = poller();
    await stream.poll();
    const before = Math.floor(Date.now() / 1000);
    await putEntries("L-shape", 1, { blob: new Uint8Array([1, 2, 3]), nested: { list: ["a", 2] } });
    const [record] = await stream.poll();

    const { Table } = await db.client.send(new DescribeTableCommand({ TableName: db.auditTable }));
    expect(record).toMatchObject({
      eventName: "INSERT",
      eventSource: "aws:dynamodb",
      eventSourceARN: Table?.LatestStreamArn,
      dynamodb: {
        Keys: { pk: { S: "T#acme#LOAN#L-shape" }, seq: { N: "1" } },
        NewImage: {
          pk: { S: "T#acme#LOAN#L-shape" },
          gsi1pk: { S: "acme" },
          blob: { B: Buffer.from([1, 2, 3]).toString("base64") },
          nested: { M: { list: { L: [{ S: "a" }, { N: "2" }] } } },
        },
        StreamViewType: "NEW_IMAGE",
      },
    });
    expect(record?.dynamodb?.SequenceNumber).toMatch(/^\d+$/);
    const created = record?.dynamodb?.ApproximateCreationDateTime ?? 0;
    // Epoch seconds (DynamoDB Local rounds to the minute), not milliseconds nor a Date.
    expect(typeof created).toBe("number");
    expect(Math.abs(created - before)).toBeLessThan(120);
  });

  it("takes at most its bound per poll and says when more is waiting", async () => {
    const stream = poller(3);
    while ((await stream.poll()).length > 0) {
      // Drains what the other tests wrote.
    }
    await putEntries("L-bounded", 5);
    expect(await stream.poll()).toHaveLength(3);
    expect(stream.behind).toBe(true);
    expect(loansOf(await stream.poll())).toEqual(["T#acme#LOAN#L-bounded/4", "T#acme#LOAN#L-bounded/5"]);
    expect(stream.behind).toBe(false);
  });

  it("converts an SDK record's time to epoch seconds and leaves out what it lacks", () => {
    const record = toLambdaRecord(
      {
        eventID: "e1",
        eventName: "INSERT",
        dynamodb: {
          ApproximateCreationDateTime: new Date("2026-01-05T00:00:00Z"),
          Keys: { pk: { S: "p" } },
          SequenceNumber: "7",
          StreamViewType: "KEYS_ONLY",
        },
      },
      "arn:stream",
    );
    expect(record.dynamodb).toEqual({
      ApproximateCreationDateTime: Date.parse("2026-01-05T00:00:00Z") / 1000,
      Keys: { pk: { S: "p" } },
      SequenceNumber: "7",
      SizeBytes: undefined,
      StreamViewType: "KEYS_ONLY",
    });
    expect(record).toMatchObject({
      eventID: "e1",
      eventSource: "aws:dynamodb",
      eventSourceARN: "arn:stream",
    });
  });
});

describe("createTables", () => {
  it("gives the audit table of an earlier data folder, made without a stream, its stream", async () => {
    const suffix = randomBytes(6).toString("hex");
    const tables = { stateTable: `state-${suffix}`, auditTable: `audit-${suffix}` };
    await db.client.send(
      new CreateTableCommand({
        TableName: tables.auditTable,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [
          { AttributeName: "pk", AttributeType: "S" },
          { AttributeName: "seq", AttributeType: "N" },
          { AttributeName: "gsi1pk", AttributeType: "S" },
          { AttributeName: "gsi1sk", AttributeType: "S" },
        ],
        KeySchema: [
          { AttributeName: "pk", KeyType: "HASH" },
          { AttributeName: "seq", KeyType: "RANGE" },
        ],
        // As the release before streams made it: its index, but no stream.
        GlobalSecondaryIndexes: [
          {
            IndexName: "byTenantTime",
            KeySchema: [
              { AttributeName: "gsi1pk", KeyType: "HASH" },
              { AttributeName: "gsi1sk", KeyType: "RANGE" },
            ],
            Projection: { ProjectionType: "ALL" },
          },
        ],
      }),
    );
    await createTables(db.client, tables);
    await createTables(db.client, tables);

    const { Table } = await db.client.send(new DescribeTableCommand({ TableName: tables.auditTable }));
    expect(Table?.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: "NEW_IMAGE" });
    expect(Table?.GlobalSecondaryIndexes?.map((index) => index.IndexName)).toEqual(["byTenantTime"]);
    const { Table: state } = await db.client.send(new DescribeTableCommand({ TableName: tables.stateTable }));
    expect(state?.StreamSpecification?.StreamEnabled ?? false).toBe(false);
  });
});
