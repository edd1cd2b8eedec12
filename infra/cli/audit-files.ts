import { createReadStream, createWriteStream } from "node:fs";
import { stat } from "node:fs/promises";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ExportManifest } from "../../functions/domain/audit-export-format.ts";
import { type ExportVerdict, verifyExport } from "../../functions/domain/export-verify.ts";

/**
 * The audit CLI's work, usable in-process (tests) as well as from `npm run audit`: ask the API for an export,
 * download it, verify a file. Progress is reported in bytes through an optional callback.
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

/** Verifies an export file, streaming it. */
export async function verifyFile(path: string, progress?: Progress): Promise<ExportVerdict> {
  const { size } = await stat(path);
  let done = 0;
  return verifyExport(
    splitLines(createReadStream(path), (bytes) => {
      done += bytes;
      progress?.(done, size);
    }),
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
