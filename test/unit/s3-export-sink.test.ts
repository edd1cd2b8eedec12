import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { S3ExportSink } from "../../functions/adapters/s3-export-sink.ts";

const client = new S3Client({
  region: "eu-west-1",
  credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
});
const s3 = mockClient(client);

async function* lines(count: number, width = 10) {
  for (let i = 0; i < count; i++) yield `${String(i).padStart(width, "0")}`;
}

describe("S3ExportSink", () => {
  beforeEach(() => {
    s3.reset();
    s3.on(PutObjectCommand).resolves({});
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: "u-1" });
    s3.on(UploadPartCommand).resolves({ ETag: '"e"' });
    s3.on(CompleteMultipartUploadCommand).resolves({});
  });

  it("uploads under exports/<tenant>/<name> with the content type, and answers a 15-minute pre-signed GET", async () => {
    const sink = new S3ExportSink(client, "export-bucket", () => Date.parse("2026-01-09T00:00:00Z"));
    const delivered = await sink.deliver(
      { tenantId: "demo", name: "audit-1.jsonl", contentType: "application/x-ndjson; charset=utf-8" },
      lines(3),
    );
    expect(delivered.bytes).toBe(33);
    expect(delivered.expiresAt).toBe("2026-01-09T00:15:00.000Z");
    const url = new URL(delivered.url);
    expect(url.hostname).toBe("export-bucket.s3.eu-west-1.amazonaws.com");
    expect(url.pathname).toBe("/exports/demo/audit-1.jsonl");
    expect(url.searchParams.get("X-Amz-Expires")).toBe("900");
    const put = s3.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(put).toMatchObject({
      Bucket: "export-bucket",
      Key: "exports/demo/audit-1.jsonl",
      ContentType: "application/x-ndjson; charset=utf-8",
    });
    // Encryption is the bucket's default (SSE-KMS): the request does not choose it.
    expect(put?.ServerSideEncryption).toBeUndefined();
  });

  it("streams a large export as a multipart upload", async () => {
    const sink = new S3ExportSink(client, "export-bucket");
    const delivered = await sink.deliver(
      { tenantId: "demo", name: "big.jsonl", contentType: "application/x-ndjson" },
      lines(120_000, 99),
    );
    expect(delivered.bytes).toBe(120_000 * 100);
    expect(s3.commandCalls(UploadPartCommand).length).toBe(3);
    expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(1);
  });

  it("refuses a name that is not one safe path segment", async () => {
    const sink = new S3ExportSink(client, "export-bucket");
    await expect(
      sink.deliver({ tenantId: "demo", name: "../x.jsonl", contentType: "text/csv" }, lines(1)),
    ).rejects.toThrow(/not a safe export name/);
  });
});
