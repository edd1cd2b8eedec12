/**
 * Where a finished export is put for the caller to download: a local folder, or S3 with pre-signed URLs. An export
 * is two files side by side: the entries under `name`, and their manifest under `<name>.manifest.json`.
 */

export interface ExportTarget {
  /** The tenant the export belongs to (S3: part of the object key). */
  tenantId: string;
  /** The file name: letters, digits, `.`, `_` and `-` only. */
  name: string;
  contentType: string;
}

export interface DeliveredExport {
  /** Where to GET the file, without credentials, for EXPORT_URL_SECONDS. */
  url: string;
  /** Where to GET the manifest (`<name>.manifest.json`, beside the file), likewise. */
  manifestUrl: string;
  /** Bytes of the file: every line in UTF-8, each followed by `\n`. */
  bytes: number;
}

export interface ExportSink {
  /**
   * Streams the lines (without terminators; the sink writes each followed by `\n`) to the file as they come,
   * never holding them all, then writes `manifest()` (called once the lines are done) to the file beside. If
   * `lines` throws, nothing is published and the error propagates.
   */
  deliver(
    target: ExportTarget,
    lines: AsyncIterable<string>,
    manifest: () => string,
  ): Promise<DeliveredExport>;
}

/** How long a download link works. */
export const EXPORT_URL_SECONDS = 15 * 60;

/**
 * Export file names: one path segment of safe characters, never `.` or `..`, at most 255 characters (a file
 * system's limit): room for the local sink's random prefix and the manifest's suffix around a 128-character loan id.
 */
export const EXPORT_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}$/;
