import { createHash } from "node:crypto";
import { toInstant } from "../domain/time.ts";
import type { WorkflowRef } from "../ports.ts";

/**
 * Deterministic execution name for (tenant, loan, generation): starting the same generation twice is a
 * no-op, and a re-plan starts a new generation. Step Functions allows 80 characters of [A-Za-z0-9-_].
 */
export function executionName(ref: WorkflowRef): string {
  const digest = createHash("sha256").update(`${ref.tenantId}\u0000${ref.loanId}`).digest("hex").slice(0, 16);
  const wake = ref.wake ? `-w${ref.wake.replace(/[^0-9TZ]/g, "")}` : "";
  const tail = `-${digest}-g${ref.generation}${ref.epoch ? `-e${ref.epoch}` : ""}${wake}`;
  // The readable part gives way to a woken execution's wake; names without one are as they always were.
  const readable = ref.loanId.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, Math.min(48, 80 - tail.length));
  return `${readable}${tail}`;
}

/** The input of an execution: the ref, when it started, and its first action if the caller planned it. */
export function executionInput(ref: WorkflowRef, now: Date) {
  const { planned, wake: _wake, ...id } = ref;
  return {
    ...id,
    startedAt: planned?.startedAt ?? toInstant(now),
    ...(planned ? { next: planned.next } : {}),
  };
}
