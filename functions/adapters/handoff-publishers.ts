import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { PublishCommand, type SNSClient } from "@aws-sdk/client-sns";
import type { HandoffPackage } from "../domain/handoff-package.ts";
import type { HandoffLocation, HandoffPublisher } from "../ports/handoff.ts";

/** Tenant and loan ids become path segments and object keys: refuse anything that could leave its folder. */
function segment(value: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(value) || value.includes("..")) {
    throw new Error(`not a safe path segment: ${JSON.stringify(value)}`);
  }
  return value;
}

/** The object key (without extension) of a loan's package in the export bucket. */
export function handoffKey(tenantId: string, loanId: string): string {
  return `handoffs/${segment(tenantId)}/${segment(loanId)}`;
}

/**
 * One machine: `<folder>/<tenant>/<loanId>.json` and `.html`, each written to a temporary file and renamed,
 * so a reader never sees half a package. No notification: the folder is the hand-off.
 */
export class FileHandoffPublisher implements HandoffPublisher {
  constructor(private readonly folder: string) {}

  private paths(tenantId: string, loanId: string) {
    const dir = join(this.folder, segment(tenantId));
    return { dir, json: join(dir, `${segment(loanId)}.json`), html: join(dir, `${segment(loanId)}.html`) };
  }

  async publish(pkg: HandoffPackage, html: string): Promise<HandoffLocation> {
    const paths = this.paths(pkg.tenantId, pkg.loanId);
    await mkdir(paths.dir, { recursive: true });
    for (const [path, content] of [
      [paths.json, `${JSON.stringify(pkg, null, 2)}\n`],
      [paths.html, html],
    ] as const) {
      const partial = `${path}.partial`;
      await writeFile(partial, content, "utf8");
      await rename(partial, path);
    }
    return { kind: "file", container: this.folder, json: paths.json, html: paths.html };
  }

  async read(tenantId: string, loanId: string): Promise<HandoffPackage | null> {
    try {
      return JSON.parse(await readFile(this.paths(tenantId, loanId).json, "utf8")) as HandoffPackage;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw error;
    }
  }
}

/**
 * AWS: the JSON and HTML in the export bucket under `handoffs/<tenant>/<loanId>.*` (encrypted by the bucket's
 * default key), then a notification on the hand-off topic carrying ids and object keys only — never PII.
 */
export class S3SnsHandoffPublisher implements HandoffPublisher {
  constructor(
    private readonly s3: S3Client,
    private readonly sns: SNSClient,
    private readonly bucket: string,
    private readonly topicArn: string,
  ) {}

  async publish(pkg: HandoffPackage, html: string): Promise<HandoffLocation> {
    const key = handoffKey(pkg.tenantId, pkg.loanId);
    const json = `${key}.json`;
    const page = `${key}.html`;
    const metadata = { "package-sha256": pkg.packageHash };
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: json,
        Body: JSON.stringify(pkg),
        ContentType: "application/json; charset=utf-8",
        Metadata: metadata,
      }),
    );
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: page,
        Body: html,
        ContentType: "text/html; charset=utf-8",
        Metadata: metadata,
      }),
    );
    const notification = {
      type: "handoff_published",
      tenantId: pkg.tenantId,
      loanId: pkg.loanId,
      reason: pkg.reason,
      handedOffAt: pkg.handedOffAt,
      packageHash: pkg.packageHash,
      bucket: this.bucket,
      json,
      html: page,
    };
    const { MessageId } = await this.sns.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Message: JSON.stringify(notification),
        MessageAttributes: {
          tenantId: { DataType: "String", StringValue: pkg.tenantId },
          reason: { DataType: "String", StringValue: pkg.reason },
        },
      }),
    );
    return {
      kind: "s3",
      container: this.bucket,
      json,
      html: page,
      ...(MessageId ? { notificationId: MessageId } : {}),
    };
  }

  async read(tenantId: string, loanId: string): Promise<HandoffPackage | null> {
    try {
      const object = await this.s3.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: `${handoffKey(tenantId, loanId)}.json` }),
      );
      const body = await object.Body?.transformToString("utf8");
      return body ? (JSON.parse(body) as HandoffPackage) : null;
    } catch (error) {
      if (error instanceof Error && (error.name === "NoSuchKey" || error.name === "NotFound")) return null;
      throw error;
    }
  }
}
