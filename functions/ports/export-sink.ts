/** Where a finished export is put for the caller to download: a local folder, or S3 with a pre-signed URL. */

export interface ExportTarget {
  /** The tenant the export belongs to (S3: part of the object key). */
  tenantId: string;
  /** The file name: letters, digits, `.`, `_` and `-` only. */
  name: string;
  contentType: string;
}

export interface DeliveredExport {
  /** Where to GET the file, without credentials, until `expiresAt`. */
  url: string;
  expiresAt: string;
  /** Bytes written: every line in UTF-8, each followed by `\n`. */
  bytes: number;
}

export interface ExportSink {
  /**
   * Streams the lines (without terminators; the sink writes each followed by `\n`) to the file as they come,
   * never holding them all. If `lines` throws, nothing is published and the error propagates.
   */
  deliver(target: ExportTarget, lines: AsyncIterable<string>): Promise<DeliveredExport>;
}

/** Export file names: one path segment of safe characters, never `.` or `..`. */
export const EXPORT_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/;
