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

  it("uploads under exports/<tenant>/<name> with the content type, its manifest beside, and answers 15-minute pre-signed GETs", async () => {
    const sink = new S3ExportSink(client, "export-bucket");
    const delivered = await sink.deliver(
      { tenantId: "demo", name: "audit-1.jsonl", contentType: "application/x-ndjson; charset=utf-8" },
      lines(3),
      () => '{"version":1}\n',
    );
    expect(delivered.bytes).toBe(33);
    const url = new URL(delivered.url);
    expect(url.hostname).toBe("export-bucket.s3.eu-west-1.amazonaws.com");
    expect(url.pathname).toBe("/exports/demo/audit-1.jsonl");
    expect(url.searchParams.get("X-Amz-Expires")).toBe("900");
    const manifestUrl = new URL(delivered.manifestUrl);
    expect(manifestUrl.pathname).toBe("/exports/demo/audit-1.jsonl.manifest.json");
    expect(manifestUrl.searchParams.get("X-Amz-Expires")).toBe("900");
    const [put, manifestPut] = s3.commandCalls(PutObjectCommand).map((call) => call.args[0].input);
    expect(put).toMatchObject({
      Bucket: "export-bucket",
      Key: "exports/demo/audit-1.jsonl",
      ContentType: "application/x-ndjson; charset=utf-8",
    });
    expect(manifestPut).toMatchObject({
      Bucket: "export-bucket",
      Key: "exports/demo/audit-1.jsonl.manifest.json",
      ContentType: "application/json; charset=utf-8",
      Body: '{"version":1}\n',
    });
    // Encryption is the bucket's default (SSE-KMS): the request does not choose it.
    expect(put?.ServerSideEncryption).toBeUndefined();
  });

  it("puts no manifest when the lines fail", async () => {
    const sink = new S3ExportSink(client, "export-bucket");
    async function* failing() {
      yield "one";
      throw new Error("the trail could not be read");
    }
    await expect(
      sink.deliver({ tenantId: "demo", name: "audit-2.csv", contentType: "text/csv" }, failing(), () => "{}"),
    ).rejects.toThrow(/could not be read/);
    const keys = s3.commandCalls(PutObjectCommand).map((call) => call.args[0].input.Key);
    expect(keys).not.toContain("exports/demo/audit-2.csv.manifest.json");
  });

  it("streams a large export as a multipart upload", async () => {
    const sink = new S3ExportSink(client, "export-bucket");
    const delivered = await sink.deliver(
      { tenantId: "demo", name: "big.jsonl", contentType: "application/x-ndjson" },
      lines(120_000, 99),
      () => "{}",
    );
    expect(delivered.bytes).toBe(120_000 * 100);
    expect(s3.commandCalls(UploadPartCommand).length).toBe(3);
    expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(1);
  });

  it("takes the name of an export of a 128-character loan id, and its manifest's", async () => {
    const sink = new S3ExportSink(client, "export-bucket");
    // audit-<from>-<to>-<loan id>-<24 hex>.jsonl, as the export route names it.
    const name = `audit-20260101T000000Z-20260201T000000Z-${"L".repeat(128)}-${"a".repeat(24)}.jsonl`;
    const delivered = await sink.deliver(
      { tenantId: "demo", name, contentType: "application/x-ndjson" },
      lines(1),
      () => "{}",
    );
    expect(new URL(delivered.manifestUrl).pathname).toBe(`/exports/demo/${name}.manifest.json`);
  });

  it("refuses a name that is not one safe path segment", async () => {
    const sink = new S3ExportSink(client, "export-bucket");
    await expect(
      sink.deliver({ tenantId: "demo", name: "../x.jsonl", contentType: "text/csv" }, lines(1), () => "{}"),
    ).rejects.toThrow(/not a safe export name/);
  });
});
