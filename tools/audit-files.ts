import { createReadStream, createWriteStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ExportManifest } from "../functions/domain/audit-export.ts";
import { MANIFEST_SUFFIX } from "../functions/formats/audit-export-files.ts";
import { type ExportVerdict, verifyExport } from "../functions/formats/export-verify/verify-export.ts";

/**
 * The audit CLI's work, usable in-process (tests) as well as from `npm run audit`: ask the API for an export,
 * download it with its manifest, verify a file against its manifest. Progress is reported in bytes through an
 * optional callback.
 */

export type Progress = (done: number, total: number) => void;

/**
 * The lines of a byte stream, split at LF only (a CR stays part of its line, so it cannot hide a change), each
 * decoded as UTF-8 on its own. A last line without its LF is still yielded.
 */
export async function* splitLines(
  chunks: AsyncIterable<Buffer | string>,
  onBytes?: (bytes: number) => void,
): AsyncGenerator<string> {
  const decoder = new TextDecoder("utf-8");
  let pending: Buffer[] = [];
  for await (const chunk of chunks) {
    const buffer = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
    onBytes?.(buffer.length);
    let start = 0;
    for (let lf = buffer.indexOf(0x0a, start); lf >= 0; lf = buffer.indexOf(0x0a, start)) {
      pending.push(buffer.subarray(start, lf));
      yield decoder.decode(Buffer.concat(pending));
      pending = [];
      start = lf + 1;
    }
    if (start < buffer.length) pending.push(buffer.subarray(start));
  }
  if (pending.length > 0) yield decoder.decode(Buffer.concat(pending));
}

/** Where an export's manifest lies: beside it, `<file>.manifest.json`. */
export const manifestPathOf = (exportPath: string) => `${exportPath}${MANIFEST_SUFFIX}`;

/**
 * Verifies an export file, streaming it, against its manifest (by default the file beside it); a manifest that is
 * not there is a problem of the export (MISSING_MANIFEST), not an error.
 */
export async function verifyFile(
  path: string,
  manifestPath: string = manifestPathOf(path),
  progress?: Progress,
): Promise<ExportVerdict> {
  const { size } = await stat(path);
  const manifest = await readFile(manifestPath, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return null;
    throw error;
  });
  let done = 0;
  return verifyExport(
    splitLines(createReadStream(path), (bytes) => {
      done += bytes;
      progress?.(done, size);
    }),
    manifest,
  );
}

export interface ExportRequest {
  baseUrl: string;
  key: string;
  from: string;
  to: string;
  loanId?: string;
  format?: "jsonl" | "csv";
}

export interface ExportAnswer {
  url: string;
  /** The manifest's own file, beside the export. */
  manifestUrl: string;
  expiresAt: string;
  bytes: number;
  manifest: ExportManifest;
}

export class ExportRequestError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`the API answered ${status}: ${body.slice(0, 500)}`);
    this.name = "ExportRequestError";
  }
}

/** GET /v1/audit/export; throws ExportRequestError on any answer but 200. */
export async function requestExport(request: ExportRequest): Promise<ExportAnswer> {
  const query = new URLSearchParams({
    from: request.from,
    to: request.to,
    format: request.format ?? "jsonl",
    ...(request.loanId ? { loanId: request.loanId } : {}),
  });
  const url = `${request.baseUrl.replace(/\/+$/, "")}/v1/audit/export?${query}`;
  const response = await fetch(url, { headers: { authorization: `Bearer ${request.key}` } });
  const text = await response.text();
  if (response.status !== 200) throw new ExportRequestError(response.status, text);
  return JSON.parse(text) as ExportAnswer;
}

/** Streams the file at `url` to `out`; answers the bytes written. */
export async function download(
  url: string,
  out: string,
  total: number,
  progress?: Progress,
): Promise<number> {
  const response = await fetch(url);
  if (response.status !== 200 || !response.body) {
    throw new ExportRequestError(response.status, await response.text().catch(() => ""));
  }
  let done = 0;
  const count = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      done += chunk.length;
      progress?.(done, total);
      callback(null, chunk);
    },
  });
  await pipeline(
    Readable.fromWeb(response.body as import("node:stream/web").ReadableStream<Uint8Array>),
    count,
    createWriteStream(out),
  );
  return done;
}

/**
 * Downloads an export to `out` and its manifest beside it (`<out>.manifest.json`); answers the export's bytes and
 * where the manifest went.
 */
export async function downloadExport(
  answer: ExportAnswer,
  out: string,
  progress?: Progress,
): Promise<{ bytes: number; manifestPath: string }> {
  const bytes = await download(answer.url, out, answer.bytes, progress);
  const manifestPath = manifestPathOf(out);
  await download(answer.manifestUrl, manifestPath, 0);
  return { bytes, manifestPath };
}
