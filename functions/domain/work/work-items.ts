import { createHash } from "node:crypto";
import type { AuditEvent } from "../audit-chain.ts";
import type { PolicyStep, StepTask } from "../policy.ts";
import type { AttemptResult, ContactAttempt } from "./call-rules.ts";

/**
 * A call or visit for the tenant's collection team: made from a policy's task step when it comes due (inside the
 * contact window, after the rules), or from a callback an agent scheduled. An agent claims it (a lease, checked
 * against the call rules), then records what happened; the outcome goes on the case through the same use cases as
 * a lender's events, with the agent as actor.
 */
export interface WorkItem {
  id: string;
  tenantId: string;
  loanId: string;
  /** The policy step it comes from, or `callback` when an agent scheduled it. */
  step: string;
  task: StepTask;
  /** When it became due. */
  dueAt: string;
  createdAt: string;
  status: "open" | "done";
  /** Who holds it and until when; absent or past: anyone allowed may claim it. */
  lease?: { agent: string; until: string } | null;
  /** What was recorded when it was done. */
  outcome?: { result: AttemptResult; at: string; by: string } | null;
  /** Optimistic concurrency: every change is conditional on it. */
  version: number;
}

/** What a case keeps of the collection team's contacts: the call rules count them at the next claim. */
export interface TeamFields {
  /** Calls and visits of the last 30 days, oldest first (absent: none). */
  contactAttempts?: ContactAttempt[];
  /** The borrower's phone was found not to be theirs: no call and no SMS goes to it (absent: none found). */
  phoneUnreachable?: boolean;
  /** The outside agency the case is placed with (absent or null: the tenant works it). */
  placement?: CasePlacement | null;
  /** Consents the lender recorded, by scope, with when they were given. */
  consents?: { third_party_sharing?: string };
}

/** A case placed with an outside agency: which placement, since when, and whether the lender's messages pause. */
export interface CasePlacement {
  id: string;
  agencyId: string;
  since: string;
  pauseMessages: boolean;
}

/** How long a case keeps its contact attempts: longer than any rule pack looks back. */
export const ATTEMPTS_KEPT_MS = 30 * 24 * 60 * 60 * 1000;

/** A work item's id: the same step of the same due date of a loan always makes the same item. */
export function workItemId(tenantId: string, loanId: string, step: string, dueAt: string): string {
  const digest = createHash("sha256").update(`${tenantId}\n${loanId}\n${step}\n${dueAt}`).digest("hex");
  return `wi_${digest.slice(0, 24)}`;
}

/** A new open item for a task step that came due at `dueAt`, and the case's entry that says so. */
export function newWorkItem(
  loan: { tenantId: string; loanId: string },
  step: Pick<PolicyStep, "id"> & { task: StepTask },
  dueAt: string,
  now: string,
  actor: string,
): { item: WorkItem; event: AuditEvent } {
  const id = workItemId(loan.tenantId, loan.loanId, step.id, dueAt);
  const item: WorkItem = {
    id,
    tenantId: loan.tenantId,
    loanId: loan.loanId,
    step: step.id,
    task: step.task,
    dueAt,
    createdAt: now,
    status: "open",
    lease: null,
    outcome: null,
    version: 1,
  };
  return {
    item,
    event: {
      type: "work_item_created",
      actor,
      data: { workItemId: id, step: step.id, task: step.task, dueAt },
    },
  };
}
