import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DescribeTimeToLiveCommand, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, inject, it } from "vitest";
import { makeDocumentClient } from "../../functions/adapters/dynamo/client.ts";
import { createTables } from "../../functions/adapters/dynamo/tables.ts";
import { startDynamoDbLocal } from "../../infra/local/dynamodb-local.ts";
import { freshTables } from "../support/dynamo.ts";
import { connects, listeningAddresses, otherAddress } from "../support/listening.ts";

describe("createTables", () => {
  it("is idempotent and turns on TTL for the state table", async () => {
    const db = await freshTables();
    await createTables(db.client, db);

    const { TableNames } = await db.client.send(new ListTablesCommand({}));
    expect(TableNames).toEqual(expect.arrayContaining([db.stateTable, db.auditTable]));
    const ttl = await db.client.send(new DescribeTimeToLiveCommand({ TableName: db.stateTable }));
    expect(ttl.TimeToLiveDescription).toMatchObject({
      AttributeName: "expiresAt",
      TimeToLiveStatus: "ENABLED",
    });
  });
});

describe("startDynamoDbLocal", () => {
  it("keeps data in dbPath across a restart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dynamo-data-"));
    const tables = { stateTable: "state", auditTable: "audit" };
    try {
      const first = await startDynamoDbLocal({ dbPath: dir });
      try {
        const client = makeDocumentClient({ endpoint: first.endpoint });
        await createTables(client, tables);
        await client.send(new PutCommand({ TableName: "state", Item: { pk: "p", sk: "s", value: 42 } }));
      } finally {
        await first.stop();
      }

      const second = await startDynamoDbLocal({ dbPath: dir });
      try {
        // A different region and key id still sees the data: -sharedDb.
        const client = makeDocumentClient({ endpoint: second.endpoint, region: "eu-west-1" });
        const { Item } = await client.send(new GetCommand({ TableName: "state", Key: { pk: "p", sk: "s" } }));
        expect(Item).toEqual({ pk: "p", sk: "s", value: 42 });
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("listens on 127.0.0.1 only", async () => {
    const dynamo = await startDynamoDbLocal();
    try {
      expect(dynamo.loopbackOnly).toBe(true);
      expect(dynamo.warning).toBeUndefined();
      expect(listeningAddresses(dynamo.port)).toEqual(["127.0.0.1"]);
      // An address of this machine other than loopback does not answer.
      const other = otherAddress();
      if (other) expect(await connects(other, dynamo.port)).toBe(false);
      expect(await connects("127.0.0.1", dynamo.port)).toBe(true);
    } finally {
      await dynamo.stop();
    }
  });

  it("falls back to the jar on every interface, and says so, when Java cannot run the loopback launcher", async () => {
    // A Java runtime without its compiler cannot run a source file; everything else it runs as java does.
    const dir = mkdtempSync(join(tmpdir(), "jre-only-"));
    const java = join(dir, "java");
    writeFileSync(
      java,
      [
        "#!/bin/sh",
        'for arg in "$@"; do case "$arg" in *.java) echo "error: unable to find the Java compiler" >&2; exit 1;; esac; done',
        'exec java "$@"',
      ].join("\n"),
      { mode: 0o755 },
    );
    try {
      const dynamo = await startDynamoDbLocal({ javaPath: java });
      try {
        expect(dynamo.loopbackOnly).toBe(false);
        expect(dynamo.warning).toMatch(
          /listens on every interface .*\(error: unable to find the Java compiler\)/,
        );
        const client = makeDocumentClient({ endpoint: dynamo.endpoint });
        expect((await client.send(new ListTablesCommand({}))).TableNames).toEqual([]);
      } finally {
        await dynamo.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("says so when java is missing", async () => {
    await expect(startDynamoDbLocal({ javaPath: "/nonexistent/bin/java" })).rejects.toThrow(/needs Java/);
  });

  it("refuses a port that is taken instead of talking to whatever holds it", async () => {
    const port = Number(new URL(inject("dynamoEndpoint")).port);
    await expect(startDynamoDbLocal({ port })).rejects.toThrow(/port \d+ is not free/);
  });
});
