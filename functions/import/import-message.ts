import * as z from "zod";

/**
 * What the S3 import function puts on the queue: up to IMPORT_MESSAGE_LOANS validated loans of one tenant's file,
 * and at most IMPORT_MESSAGE_BYTES of them: a loan with a schedule of 360 installments is some 30 KiB, where one
 * with a due date is under 1 KiB. Both keep a message, and a batch of ten, within SQS's limits.
 */
export const IMPORT_MESSAGE_LOANS = 100;
export const IMPORT_MESSAGE_BYTES = 100 * 1024;

export const importMessageSchema = z.object({
  v: z.literal(1),
  tenantId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/),
  source: z.object({ bucket: z.string(), key: z.string(), etag: z.string().optional() }),
  /** 0-based index of this message within the file, for logs. */
  batch: z.number().int().min(0),
  /** Each is checked again with subscribeSchema by the consumer: the queue is not trusted more than a client. */
  loans: z.array(z.unknown()).min(1).max(IMPORT_MESSAGE_LOANS),
});

export type ImportMessage = z.infer<typeof importMessageSchema>;

/** Imports are uploaded as `imports/<tenantId>/<file>.jsonl|csv`: the tenant is the first folder below the prefix. */
export const IMPORTS_KEY_PREFIX = "imports/";

export function tenantOfKey(key: string): string | null {
  const match = /^imports\/([A-Za-z0-9][A-Za-z0-9_-]{0,63})\/[^/].*$/.exec(key);
  return match?.[1] ?? null;
}
