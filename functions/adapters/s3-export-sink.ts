import { Readable } from "node:stream";
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import {
  type DeliveredExport,
  EXPORT_NAME,
  type ExportSink,
  type ExportTarget,
} from "../ports/export-sink.ts";

/** How long a download link works. */
export const EXPORT_URL_SECONDS = 15 * 60;

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
 * flight, so memory stays bounded whatever the size; the upload is aborted if the lines fail) and answers a
 * pre-signed GET URL valid for 15 minutes. Encryption is the bucket's default (SSE-KMS); the link is signed
 * with the function's role, which needs s3:PutObject, s3:GetObject and kms:GenerateDataKey/Decrypt on the key.
 */
export class S3ExportSink implements ExportSink {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly now: () => number = Date.now,
  ) {}

  async deliver(target: ExportTarget, lines: AsyncIterable<string>): Promise<DeliveredExport> {
    if (!EXPORT_NAME.test(target.name)) throw new Error(`not a safe export name: ${target.name}`);
    const key = `exports/${encodeURIComponent(target.tenantId)}/${target.name}`;
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
    const url = await getSignedUrl(this.s3, new GetObjectCommand({ Bucket: this.bucket, Key: key }), {
      expiresIn: EXPORT_URL_SECONDS,
    });
    return {
      url,
      expiresAt: new Date(this.now() + EXPORT_URL_SECONDS * 1000).toISOString(),
      bytes: counter.bytes,
    };
  }
}
