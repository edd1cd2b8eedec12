/** What DynamoDB said about each item of a cancelled transaction, in the order the items were sent. */
export function cancellationCodes(error: unknown): (string | undefined)[] | null {
  if (!(error instanceof Error) || error.name !== "TransactionCanceledException") return null;
  const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
  return reasons.map((reason) => reason.Code);
}

export function isConditionalCheckFailed(error: unknown): boolean {
  return error instanceof Error && error.name === "ConditionalCheckFailedException";
}

/**
 * The case's version condition held but an audit entry with the next sequence number already exists: the trail
 * was written outside the repository. Retrying cannot help, so this is not a ConcurrentUpdateError.
 */
export class AuditChainConflictError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "AuditChainConflictError";
  }
}
