import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { manifestNameOf } from "../formats/audit-export-files.ts";
import {
  type DeliveredExport,
  EXPORT_NAME,
  type ExportSink,
  type ExportTarget,
} from "../ports/export-sink.ts";
import { byteStream } from "./s3-export-sink.ts";

/**
 * The embedded stack's export sink: streams each export to a file in `dir`, writes its manifest beside it
 * (`<file>.manifest.json`), and answers both URLs on the local server (`GET /local/exports/<file>`, no key, like
 * every /local route). The file name starts with 16 random bytes, so a link cannot be guessed; the links do not
 * expire here.
 */
export class FileExportSink implements ExportSink {
  constructor(
    readonly dir: string,
    private readonly baseUrl: () => string,
  ) {}

  async deliver(
    target: ExportTarget,
    lines: AsyncIterable<string>,
    manifest: () => string,
  ): Promise<DeliveredExport> {
    if (!EXPORT_NAME.test(target.name)) throw new Error(`not a safe export name: ${target.name}`);
    await mkdir(this.dir, { recursive: true });
    const file = `${randomBytes(16).toString("hex")}-${target.name}`;
    const manifestFile = manifestNameOf(file);
    if (!EXPORT_NAME.test(manifestFile)) throw new Error(`not a safe export name: ${manifestFile}`);
    const path = join(this.dir, file);
    const counter = { bytes: 0 };
    try {
      await pipeline(byteStream(lines, counter), createWriteStream(path, { flags: "wx" }));
      await writeFile(join(this.dir, manifestFile), manifest(), { flag: "wx" });
    } catch (error) {
      await rm(path, { force: true });
      throw error;
    }
    const base = `${this.baseUrl()}/local/exports/`;
    return { url: `${base}${file}`, manifestUrl: `${base}${manifestFile}`, bytes: counter.bytes };
  }
}
