import { Readable } from "node:stream";
import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { MANIFEST_CONTENT_TYPE, manifestNameOf } from "../formats/audit-export-files.ts";
import {
  type DeliveredExport,
  EXPORT_NAME,
  EXPORT_URL_SECONDS,
  type ExportSink,
  type ExportTarget,
} from "../ports/export-sink.ts";

/** Encodes each line with its `\n`, counting the bytes as they pass. */
export function byteStream(lines: AsyncIterable<string>, counter: { bytes: number }): Readable {
  return Readable.from(
    (async function* () {
      for await (const line of lines) {
        const chunk = Buffer.from(`${line}\n`, "utf8");
        counter.bytes += chunk.length;
        yield chunk;
      }
    })(),
    { objectMode: false },
  );
}

/**
 * Streams an export to `s3://<bucket>/exports/<tenant>/<name>` as a multipart upload (5 MiB parts, a few in
 * flight, so memory stays bounded whatever the size; the upload is aborted if the lines fail), then puts its
 * manifest beside it (`<name>.manifest.json`), and answers a pre-signed GET URL for each, valid for 15 minutes.
 * Encryption is the bucket's default (SSE-KMS); the links are signed with the function's role, which needs
 * s3:PutObject, s3:GetObject and kms:GenerateDataKey/Decrypt on the key.
 */
export class S3ExportSink implements ExportSink {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async deliver(
    target: ExportTarget,
    lines: AsyncIterable<string>,
    manifest: () => string,
  ): Promise<DeliveredExport> {
    const manifestName = manifestNameOf(target.name);
    for (const name of [target.name, manifestName]) {
      if (!EXPORT_NAME.test(name)) throw new Error(`not a safe export name: ${name}`);
    }
    const prefix = `exports/${encodeURIComponent(target.tenantId)}/`;
    const key = `${prefix}${target.name}`;
    const manifestKey = `${prefix}${manifestName}`;
    const counter = { bytes: 0 };
    const upload = new Upload({
      client: this.s3,
      params: {
        Bucket: this.bucket,
        Key: key,
        Body: byteStream(lines, counter),
        ContentType: target.contentType,
      },
      queueSize: 4,
      partSize: 5 * 1024 * 1024,
      leavePartsOnError: false,
    });
    await upload.done();
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: manifestKey,
        Body: manifest(),
        ContentType: MANIFEST_CONTENT_TYPE,
      }),
    );
    const sign = (objectKey: string) =>
      getSignedUrl(this.s3, new GetObjectCommand({ Bucket: this.bucket, Key: objectKey }), {
        expiresIn: EXPORT_URL_SECONDS,
      });
    return { url: await sign(key), manifestUrl: await sign(manifestKey), bytes: counter.bytes };
  }
}
