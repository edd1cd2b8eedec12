import { createHash } from "node:crypto";
import {
  type AuditEntry,
  type ChainHead,
  type ChainVerdict,
  canonicalJson,
  verifyChain,
} from "./audit-chain.ts";
import { type InstallmentView, installmentViews } from "./installments.ts";
import { type Borrower, chargedTo, type LoanCase } from "./loan-case.ts";
import type { Money } from "./money.ts";
import { handOffLabel, type Policy } from "./policy.ts";
import { daysPastDue, toInstant } from "./time.ts";

/**
 * The legal hand-off package: everything a court asks for about one loan, self-contained (no look-ups
 * needed to read or verify it). Pure: built from the case, the policy versions in force and the case's
 * full audit trail.
 */

export const HANDOFF_PACKAGE_FORMAT = "loan-dunning/handoff-package@1";

/** Why the case went to legal: the policy's hand-off date came, or the borrower ended contact. */
export type HandoffReason = "policy" | "bankruptcy" | "cease_contact";

/** The audit entry that marks each kind of hand-off. */
const HANDOFF_ENTRY: Record<HandoffReason, string> = {
  policy: "handed_off",
  bankruptcy: "bankruptcy_notified",
  cease_contact: "cease_contact_requested",
};

/** Agreements with the borrower and what became of them. */
const AGREEMENT_TYPES = new Set([
  "promise_to_pay",
  "promise_kept",
  "promise_broken",
  "settlement_agreed",
  "settlement_completed",
  "settlement_broken",
  "installment_plan",
  "grace_extension",
]);

/** Contact attempts and their delivery result. */
const CONTACT_RESULTS: Record<string, Contact["result"]> = {
  message_sent: "sent",
  message_failed: "failed",
  message_outcome_unknown: "outcome_unknown",
};

/** Workflow bookkeeping: kept in `audit` and the chain proof, left out of the event list. */
const BOOKKEEPING_TYPES = new Set(["step_started", "step_skipped", "step_deferred", "step_failed"]);

export interface Contact {
  seq: number;
  /** When the entry was recorded (UTC). */
  at: string;
  result: "sent" | "failed" | "outcome_unknown";
  step: string | null;
  stage: string | null;
  channel: string | null;
  /** The recipient as the audit recorded it (masked). */
  to: string | null;
  sentAt: string | null;
  /** Borrower local time of the send. */
  sentAtLocal: string | null;
  template: { id: string; version: number; locale: string } | null;
  policy: { id: string; version: number } | null;
  contentSha256: string | null;
  providerMessageId: string | null;
  rulesPassed: string[];
  reason: string | null;
}

export interface PackageEvent {
  seq: number;
  at: string;
  type: string;
  actor: string;
  data: Record<string, unknown>;
}

export interface HandoffPackage {
  format: typeof HANDOFF_PACKAGE_FORMAT;
  tenantId: string;
  loanId: string;
  reason: HandoffReason;
  /** Human-readable: which rule or event sent the case to legal. */
  reasonDetail: string;
  handedOffAt: string;
  generatedAt: string;
  loan: {
    loanId: string;
    status: LoanCase["status"];
    amountDue: Money;
    currency: string;
    dueDate: string;
    daysPastDue: number;
    createdAt: string;
    /** Full contact data: the package is for legal, which may have to reach the borrower. */
    borrower: Borrower;
    /** A loan on a repayment schedule: every installment and where it stands at the package's generation. */
    installments?: InstallmentView[];
  };
  balance: {
    total: Money;
    principal: Money;
    fees: Money;
    interest: Money;
    totalPaid: Money;
    waived: Money | null;
    /** Fees and interest are charged up to this instant (the package's generation). */
    asOf: string;
  };
  contacts: Contact[];
  agreements: PackageEvent[];
  /** Every lender event and workflow milestone (everything but contacts and step bookkeeping). */
  events: PackageEvent[];
  /** The policy versions in force over the case's life. */
  policies: Policy[];
  /** The full audit trail, so every hash can be recomputed from the package alone. */
  audit: AuditEntry[];
  chain: {
    scope: { tenantId: string; loanId: string };
    algorithm: string;
    entries: { seq: number; prevHash: string; hash: string }[];
    verdict: ChainVerdict;
    head: ChainHead;
  };
  /** SHA-256 of the canonical JSON of the package without this field. */
  packageHash: string;
}

export interface HandoffInput {
  loanCase: LoanCase;
  /** Every policy version the trail refers to (the case's own at least). */
  policies: Policy[];
  audit: AuditEntry[];
  now: Date;
}

export function handoffReasonOf(loanCase: Pick<LoanCase, "contactEnded">): HandoffReason {
  return loanCase.contactEnded ?? "policy";
}

/** The policy versions an audit trail and a case refer to, each once, in order of first mention. */
export function policyRefs(
  loanCase: Pick<LoanCase, "policy">,
  audit: AuditEntry[],
): { id: string; version: number }[] {
  const refs = new Map<string, { id: string; version: number }>();
  const add = (value: unknown) => {
    if (!value || typeof value !== "object") return;
    const { id, version } = value as { id?: unknown; version?: unknown };
    if (typeof id === "string" && typeof version === "number") refs.set(`${id}@${version}`, { id, version });
  };
  for (const entry of audit) add(entry.data.policy);
  add(loanCase.policy);
  return [...refs.values()];
}

const str = (value: unknown): string | null => (typeof value === "string" ? value : null);

function contactOf(entry: AuditEntry, result: Contact["result"]): Contact {
  const d = entry.data;
  const template = d.template as Contact["template"] | undefined;
  const policy = d.policy as Contact["policy"] | undefined;
  return {
    seq: entry.seq,
    at: entry.at,
    result,
    step: str(d.step),
    stage: str(d.stage),
    channel: str(d.channel),
    to: str(d.to),
    sentAt: str(d.sentAt),
    sentAtLocal: str(d.sentAtLocal),
    template: template ?? null,
    policy: policy ?? null,
    contentSha256: str(d.contentSha256),
    providerMessageId: str(d.providerMessageId),
    rulesPassed: Array.isArray(d.rulesPassed) ? (d.rulesPassed as string[]) : [],
    reason: str(d.reason),
  };
}

const eventOf = (entry: AuditEntry): PackageEvent => ({
  seq: entry.seq,
  at: entry.at,
  type: entry.type,
  actor: entry.actor,
  data: entry.data,
});

function loanOf(loanCase: LoanCase, now: Date): HandoffPackage["loan"] {
  const installments = installmentViews(loanCase, now);
  return {
    loanId: loanCase.loanId,
    status: loanCase.status,
    amountDue: loanCase.amountDue,
    currency: loanCase.amountDue.currency,
    dueDate: loanCase.dueDate,
    daysPastDue: Math.max(0, daysPastDue(loanCase.dueDate, loanCase.borrower.timeZone, now)),
    createdAt: loanCase.createdAt,
    borrower: { ...loanCase.borrower },
    ...(installments && { installments }),
  };
}

function reasonDetail(reason: HandoffReason, policy: Policy | undefined): string {
  if (reason === "bankruptcy") return "The lender notified the borrower's bankruptcy: no further contact.";
  if (reason === "cease_contact") return "The borrower asked that contact cease: legal route only.";
  if (!policy) return "The policy's hand-off date came with the loan unpaid.";
  return `Policy ${policy.id} v${policy.version}: hand-off to legal at ${handOffLabel(policy.handOff)} (${policy.handOff.at} borrower local) with the loan unpaid.`;
}

export function packageHashOf(pkg: Omit<HandoffPackage, "packageHash">): string {
  return createHash("sha256").update(canonicalJson(pkg)).digest("hex");
}

export function buildHandoffPackage(input: HandoffInput): HandoffPackage {
  const { loanCase, audit, now } = input;
  const scope = { tenantId: loanCase.tenantId, loanId: loanCase.loanId };
  const reason = handoffReasonOf(loanCase);
  const marker = audit.findLast((entry) => entry.type === HANDOFF_ENTRY[reason]);
  const wanted = policyRefs(loanCase, audit);
  const policies = wanted
    .map((ref) => input.policies.find((p) => p.id === ref.id && p.version === ref.version))
    .filter((p): p is Policy => p !== undefined);
  const casePolicy = policies.find(
    (p) => p.id === loanCase.policy.id && p.version === loanCase.policy.version,
  );
  // What is owed as of the package: fees and interest charged up to now under the case's policy.
  const charged = casePolicy ? chargedTo(loanCase, casePolicy.charges, now) : loanCase;
  const verdict = verifyChain(scope, audit);
  const last = audit.at(-1);
  const body: Omit<HandoffPackage, "packageHash"> = {
    format: HANDOFF_PACKAGE_FORMAT,
    ...scope,
    reason,
    reasonDetail: reasonDetail(reason, casePolicy),
    handedOffAt: marker?.at ?? loanCase.updatedAt,
    generatedAt: toInstant(now),
    loan: loanOf(loanCase, now),
    balance: {
      total: charged.balance,
      principal: charged.principal,
      fees: charged.fees,
      interest: charged.interest,
      totalPaid: charged.totalPaid,
      waived: charged.waived,
      asOf: toInstant(now),
    },
    contacts: audit.flatMap((entry) => {
      const result = CONTACT_RESULTS[entry.type];
      return result ? [contactOf(entry, result)] : [];
    }),
    agreements: audit.filter((entry) => AGREEMENT_TYPES.has(entry.type)).map(eventOf),
    events: audit
      .filter((entry) => !(entry.type in CONTACT_RESULTS) && !BOOKKEEPING_TYPES.has(entry.type))
      .map(eventOf),
    policies,
    audit,
    chain: {
      scope,
      algorithm:
        "sha256 over the canonical JSON (RFC 8785) of {tenantId, loanId, seq, at, type, actor, data, prevHash}; prevHash of seq 1 is 64 zeros",
      entries: audit.map(({ seq, prevHash, hash }) => ({ seq, prevHash, hash })),
      verdict,
      head: last ? { seq: last.seq, hash: last.hash } : { seq: 0, hash: "0".repeat(64) },
    },
  };
  return { ...body, packageHash: packageHashOf(body) };
}
