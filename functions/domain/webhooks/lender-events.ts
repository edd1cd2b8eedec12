import { createHash } from "node:crypto";
import type { AuditEntry } from "../audit-chain.ts";
import type { CaseStage, CaseStatus } from "../loan-case.ts";
import type { AnnouncedState, LenderEvent, LenderEventType } from "./types.ts";

/** A lender event an audit entry stands for, before it is numbered and stamped. */
interface Announced {
  type: LenderEventType;
  data: Record<string, unknown>;
}

/** What one audit type means to a lender: the events it is announced as, and what it does to status and stage. */
interface Rule {
  events: (entry: AuditEntry) => Announced[];
  /** The status the case has after the entry, for entries that set it. */
  status?: (entry: AuditEntry, state: AnnouncedState) => CaseStatus | null;
  /** The stage the entry shows while the case is collected (a closed or legal status decides it otherwise). */
  stage?: (entry: AuditEntry) => CaseStage | null;
  /** Bankruptcy or cease-contact: from then on a broken agreement goes to legal. */
  endsContact?: true;
}

const STATUSES: readonly CaseStatus[] = ["active", "on_hold", "paid", "settled", "legal", "closed"];
const COLLECTION_STAGES: readonly CaseStage[] = ["pre_due", "soft_collection"];
const FINISHED: readonly CaseStatus[] = ["paid", "settled", "closed"];

/** The delivery report status (functions/usecases/delivery.ts) that means the message reached the borrower. */
const DELIVERED = "delivered";

/**
 * Keys under which the trail holds, or may hold, borrower contact data: the masked address of a message, a
 * provider's detail on a bounce. Dropped at any depth — but a boolean under them (`channels.email`) only says
 * whether a channel exists, not what the address is.
 */
const CONTACT_KEYS = new Set(["to", "detail", "name", "email", "phone", "address"]);

function withoutContactData(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutContactData);
  if (value === null || typeof value !== "object") return value;
  const kept = Object.entries(value).filter(([key, v]) => !CONTACT_KEYS.has(key) || typeof v === "boolean");
  return Object.fromEntries(kept.map(([key, v]) => [key, withoutContactData(v)]));
}

function publicData(entry: AuditEntry): Record<string, unknown> {
  return withoutContactData(entry.data) as Record<string, unknown>;
}

/** The entry announced as each of `types`, with its data less contact data. */
const announce =
  (...types: LenderEventType[]) =>
  (entry: AuditEntry): Announced[] =>
    types.map((type) => ({ type, data: publicData(entry) }));

/**
 * For entries whose top-level `to` is what the code wrote there — a due date, a channel, a policy version, never
 * an address — it stays: without it the event would not say what changed. Deeper ones still go.
 */
const announceWithTarget =
  (type: LenderEventType) =>
  (entry: AuditEntry): Announced[] => {
    const target = entry.data.to;
    const kept = typeof target === "string" || typeof target === "number" ? { to: target } : {};
    return [{ type, data: { ...publicData(entry), ...kept } }];
  };

const announceWithReason =
  (type: LenderEventType, reason: string) =>
  (entry: AuditEntry): Announced[] => [{ type, data: { ...publicData(entry), reason } }];

const becomes = (status: CaseStatus) => () => status;

/** Payments and reversals record the status they left the case in. */
function reportedStatus(entry: AuditEntry, state: AnnouncedState): CaseStatus | null {
  const status = entry.data.status;
  return STATUSES.find((s) => s === status) ?? state.status;
}

/** A broken promise or settlement resumes collection, unless contact has ended: then it is the legal route. */
function afterBrokenAgreement(_entry: AuditEntry, state: AnnouncedState): CaseStatus {
  return state.contactEnded ? "legal" : "active";
}

function paymentReceived(entry: AuditEntry): Announced[] {
  const announced = announce("payment.received")(entry);
  if (entry.data.paidInFull !== true) return announced;
  const paid = { amount: entry.data.amount, balance: entry.data.balance };
  return [...announced, { type: "loan.paid", data: paid }];
}

function workflowFailed(entry: AuditEntry): Announced[] {
  // The cause is the runtime's own error text (a stack, a provider's message that may quote an address): ops'.
  const { cause: _cause, ...data } = publicData(entry);
  return [{ type: "workflow.failed", data }];
}

function messageDelivery(entry: AuditEntry): Announced[] {
  return announce(entry.data.status === DELIVERED ? "message.delivered" : "message.failed")(entry);
}

/**
 * Every audit type of a loan's trail. A type not listed (message_outcome_unknown, anything newer) announces
 * nothing, and the fold still moves past it. Tenant-chain types (policy_changed) never reach a loan's fold.
 */
const RULES: Record<string, Rule> = {
  loan_subscribed: {
    events: announce("loan.subscribed"),
    status: becomes("active"),
    stage: (entry) => (entry.data.firstNotice === true ? "soft_collection" : "pre_due"),
  },
  policy_applied: { events: announceWithTarget("loan.policy_changed") },
  // The tenant's strategy placed the case in another segment, on another policy.
  strategy_reassigned: { events: announceWithTarget("loan.policy_changed") },
  // A claim only: message.sent or message.failed follows for each channel.
  step_started: { events: () => [] },
  step_deferred: { events: announce("step.deferred") },
  step_skipped: { events: announce("step.skipped") },
  step_failed: { events: announce("step.failed") },
  channel_fallback: { events: announceWithTarget("message.channel_fallback") },
  channel_suppressed: { events: announce("message.channel_suppressed") },
  message_sent: {
    events: announce("message.sent"),
    stage: (entry) => COLLECTION_STAGES.find((s) => s === entry.data.stage) ?? null,
  },
  message_failed: { events: announce("message.failed") },
  message_delivery: { events: messageDelivery },
  handed_off: { events: announce("loan.handed_off"), status: becomes("legal") },
  handoff_withheld: { events: announce("loan.handoff_withheld") },
  handoff_published: { events: announce("handoff.published") },
  handoff_acknowledged: { events: announce("handoff.acknowledged") },
  payment_received: { events: paymentReceived, status: reportedStatus },
  payment_reversed: { events: announce("payment.reversed"), status: reportedStatus },
  promise_to_pay: { events: announce("promise.made"), status: becomes("on_hold") },
  promise_kept: { events: announce("promise.kept"), status: becomes("active") },
  promise_broken: { events: announce("promise.broken"), status: afterBrokenAgreement },
  settlement_agreed: { events: announce("settlement.agreed"), status: becomes("on_hold") },
  settlement_completed: {
    events: announce("settlement.completed", "loan.settled"),
    status: becomes("settled"),
  },
  settlement_broken: { events: announce("settlement.broken"), status: afterBrokenAgreement },
  dispute_opened: { events: announce("dispute.opened"), status: becomes("on_hold") },
  dispute_resolved: { events: announce("dispute.resolved"), status: becomes("active") },
  // The new due date is never before the borrower's today: not past due.
  grace_extension: { events: announceWithTarget("loan.due_date_extended"), stage: () => "pre_due" },
  // So is the first installment's.
  installment_plan: {
    events: announce("loan.restructured"),
    status: becomes("active"),
    stage: () => "pre_due",
  },
  // A payment cleared every overdue installment: the next one is collected from its pre-due reminders. The
  // payment's own entry reports the status, which the cure leaves as it is.
  cured: { events: announce("loan.cured"), stage: () => "pre_due" },
  opted_out: { events: announce("borrower.opted_out") },
  opted_in: { events: announce("borrower.opted_in") },
  bankruptcy_notified: {
    events: announceWithReason("loan.contact_ended", "bankruptcy"),
    status: becomes("legal"),
    endsContact: true,
  },
  cease_contact_requested: {
    events: announceWithReason("loan.contact_ended", "cease_contact"),
    status: becomes("legal"),
    endsContact: true,
  },
  deceased_notified: { events: announceWithReason("loan.closed", "deceased"), status: becomes("closed") },
  loan_withdrawn: { events: announceWithReason("loan.closed", "withdrawn"), status: becomes("closed") },
  workflow_failed: { events: workflowFailed },
  workflow_restarted: { events: announce("workflow.restarted") },
  // From the borrowers' page: a plan that waits for the lender, and a link locked after five wrong answers.
  plan_requested: { events: announce("plan.requested") },
  portal_locked: { events: announce("borrower.portal_locked") },
};

function ruleOf(type: string): Rule | undefined {
  // Own keys only: an audit type such as "constructor" must not find Object's.
  return Object.hasOwn(RULES, type) ? RULES[type] : undefined;
}

/** The stage the trail shows after an entry that left the case in `status`. */
function stageAfter(
  rule: Rule | undefined,
  entry: AuditEntry,
  before: AnnouncedState,
  status: CaseStatus | null,
): CaseStage | null {
  if (status === "legal") return "legal";
  if (status !== null && FINISHED.includes(status)) return "done";
  const shown = rule?.stage?.(entry) ?? null;
  if (shown) return shown;
  // A reversal re-opened a paid or settled debt. The trail does not carry the due date forward; a debt whose
  // payment was taken back is collected as overdue.
  if (before.stage === "done" || before.stage === "legal") return "soft_collection";
  return before.stage;
}

/** One entry: its own events, then the changes of status and stage it shows (none for the subscription). */
function foldEntry(
  state: AnnouncedState,
  entry: AuditEntry,
): { announced: Announced[]; next: AnnouncedState } {
  const rule = ruleOf(entry.type);
  const status = rule?.status?.(entry, state) ?? state.status;
  const stage = stageAfter(rule, entry, state, status);
  const announced = rule ? rule.events(entry) : [];
  if (state.status !== null && status !== state.status)
    announced.push({ type: "loan.status_changed", data: { from: state.status, to: status } });
  if (state.stage !== null && stage !== state.stage)
    announced.push({ type: "loan.stage_changed", data: { from: state.stage, to: stage } });
  const contactEnded = state.contactEnded || rule?.endsContact === true;
  return { announced, next: { ...state, auditSeq: entry.seq, status, stage, contactEnded } };
}

/**
 * Announces a loan's audit entries as lender events: a pure fold, so the same entries from the same state give
 * the same events, ids included — announcing again after a crash repeats them exactly. `entries` are the
 * loan's entries after `state.auditSeq`, in seq order, with none missing.
 */
export function announceEntries(
  scope: { tenantId: string; loanId: string },
  state: AnnouncedState,
  entries: AuditEntry[],
): { events: LenderEvent[]; state: AnnouncedState } {
  const events: LenderEvent[] = [];
  let current = state;
  for (const entry of entries) {
    if (entry.seq !== current.auditSeq + 1) {
      throw new Error(
        `audit entry ${entry.seq} of ${scope.tenantId}/${scope.loanId} does not follow ${current.auditSeq}`,
      );
    }
    const { announced, next } = foldEntry(current, entry);
    for (const [index, { type, data }] of announced.entries()) {
      events.push({
        id: lenderEventId(scope.tenantId, scope.loanId, entry.seq, index),
        type,
        createdAt: entry.at,
        tenantId: scope.tenantId,
        loanId: scope.loanId,
        sequence: current.eventSeq + index + 1,
        data: { ...data, auditSeq: entry.seq },
      });
    }
    current = { ...next, eventSeq: current.eventSeq + announced.length };
  }
  return { events, state: current };
}

/** `evt_…`: the same for the same entry and position, on every announcement of it. */
export function lenderEventId(tenantId: string, loanId: string, auditSeq: number, index: number): string {
  // JSON keeps the parts apart: no tenant/loan id pair can run into another.
  const digest = createHash("sha256")
    .update(JSON.stringify([tenantId, loanId, auditSeq, index]))
    .digest("hex");
  return `evt_${digest.slice(0, 26)}`;
}

/** An endpoint's filter: ["*"] takes every event, otherwise the types it lists. */
export function matchesFilter(filter: string[], type: string): boolean {
  return filter.includes("*") || filter.includes(type);
}
