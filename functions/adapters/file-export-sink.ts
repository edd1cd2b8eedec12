import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import {
  type DeliveredExport,
  EXPORT_NAME,
  type ExportSink,
  type ExportTarget,
} from "../ports/export-sink.ts";
import { byteStream, EXPORT_URL_SECONDS } from "./s3-export-sink.ts";

/**
 * The embedded stack's export sink: streams each export to a file in `dir` and answers its URL on the local
 * server (`GET /local/exports/<file>`, no key, like every /local route). The file name starts with 16 random
 * bytes, so a link cannot be guessed; `expiresAt` mirrors the S3 link's 15 minutes but is not enforced here.
 */
export class FileExportSink implements ExportSink {
  constructor(
    readonly dir: string,
    private readonly baseUrl: () => string,
    private readonly now: () => number = Date.now,
  ) {}

  async deliver(target: ExportTarget, lines: AsyncIterable<string>): Promise<DeliveredExport> {
    if (!EXPORT_NAME.test(target.name)) throw new Error(`not a safe export name: ${target.name}`);
    await mkdir(this.dir, { recursive: true });
    const file = `${randomBytes(16).toString("hex")}-${target.name}`;
    const path = join(this.dir, file);
    const counter = { bytes: 0 };
    try {
      await pipeline(byteStream(lines, counter), createWriteStream(path, { flags: "wx" }));
    } catch (error) {
      await rm(path, { force: true });
      throw error;
    }
    return {
      url: `${this.baseUrl()}/local/exports/${file}`,
      expiresAt: new Date(this.now() + EXPORT_URL_SECONDS * 1000).toISOString(),
      bytes: counter.bytes,
    };
  }
}
