import type { AuditEvent } from "../domain/audit-chain.ts";
import { channelSpec } from "../domain/channels.ts";
import {
  confirmationDecision,
  confirmationMessage,
  type PendingConfirmation,
  type WithheldRule,
} from "../domain/confirmations.ts";
import { ConcurrentUpdateError, StepInProgressError } from "../domain/errors.ts";
import {
  type CaseChange,
  type Claimant,
  type LoanCase,
  stageOf,
  WORKFLOW_ACTOR,
} from "../domain/loan-case.ts";
import { type MessageCopy, messageCopy } from "../domain/message-copies.ts";
import { recordContacts } from "../domain/step-lifecycle.ts";
import { localTime, toInstant } from "../domain/time.ts";
import { type Loaded, type SendingDeps, writeChange } from "./step-sending.ts";
import {
  CONFIRMATION_STEP,
  type ExecutionState,
  nextAction,
  recordWake,
  type WakeDeps,
  writeEnding,
} from "./step-wakes.ts";

/** Who runs the workflow's tasks, as far as a claim's holder is concerned (see StepRuntime). */
export interface ClaimRuntime {
  instanceId: string;
  exclusive: boolean;
  realNow(): number;
}

export interface ConfirmDeps extends SendingDeps, WakeDeps {
  runtime: ClaimRuntime;
}

/**
 * Whether the holder of a claim can no longer be sending: none recorded, its lease ran out, or (on one machine,
 * where nothing else runs steps) it is another process — one that is gone.
 */
export function claimHolderGone(runtime: ClaimRuntime, claimant: Claimant | undefined): boolean {
  return (
    !claimant ||
    runtime.realNow() > claimant.leaseUntil ||
    (runtime.exclusive && claimant.owner !== runtime.instanceId)
  );
}

/**
 * Settles a confirmation an earlier run claimed and never recorded: it may have gone out, so it is never sent
 * again and goes on the record as outcome unknown (counted as a contact, like a step's).
 */
export async function settleConfirmation(deps: ConfirmDeps, loaded: Loaded, reason: string): Promise<Loaded> {
  const pending = loaded.loanCase.confirmation;
  if (!pending?.claimedAt || !pending.channel) return loaded;
  if (!claimHolderGone(deps.runtime, pending.claimant)) {
    throw new StepInProgressError("the borrower's confirmation is being sent by another run");
  }
  const now = deps.clock.now();
  const event: AuditEvent = {
    type: "message_outcome_unknown",
    actor: WORKFLOW_ACTOR,
    data: { step: CONFIRMATION_STEP, action: pending.action, channel: pending.channel, reason },
  };
  return writeChange(deps, loaded, settled(loaded.loanCase, pending, [event], now, pending.claimedAt));
}

/**
 * Drops a confirmation whose send task failed before claiming it (the workflow's Catch planned it again at
 * once): on the record as a failed step, so the workflow moves on instead of trying it in a loop.
 */
export function failedConfirmation(loanCase: LoanCase, error: string, now: Date): CaseChange | null {
  const pending = loanCase.confirmation;
  if (!pending || pending.claimedAt) return null;
  const events = [
    {
      type: "step_failed",
      actor: WORKFLOW_ACTOR,
      data: { step: CONFIRMATION_STEP, action: pending.action, error },
    },
  ];
  return settled(loanCase, pending, events, now);
}

/**
 * The send task's work for a confirmation: wait for the contact window, withhold it where the rules say no, or
 * claim, send and record it. Then the workflow goes on with the case's plan.
 */
export async function confirmStep(
  deps: ConfirmDeps,
  input: ExecutionState,
  loaded: Loaded,
  claimant: Claimant,
): Promise<ExecutionState> {
  const now = deps.clock.now();
  const { loanCase, policy } = loaded;
  const pending = loanCase.confirmation;
  const decision = pending ? confirmationDecision(loanCase, policy, pending, now) : null;
  if (!pending || !decision || decision.kind === "wait") {
    return recordWake(deps, input, nextAction(loaded, now), loanCase, now, policy);
  }
  if (decision.kind === "withheld") {
    return writeEnding(deps, input, loaded, withheld(loanCase, pending, decision.rule, now), now);
  }
  const claim = { ...pending, claimedAt: toInstant(now), claimant, channel: decision.channel };
  const claimed = await writeChange(deps, loaded, {
    next: { ...loanCase, confirmation: claim, updatedAt: toInstant(now) },
    events: [],
  });
  const sent = await sendConfirmation(deps, claimed.loanCase, claim, decision);
  return recordOutcome(deps, input, claimed, claim, sent);
}

/** The case without its confirmation (when it is still the one settled) and with what was sent counted. */
function settled(
  loanCase: LoanCase,
  pending: PendingConfirmation,
  events: AuditEvent[],
  now: Date,
  claimedAt?: string,
): CaseChange {
  const same = loanCase.confirmation?.requestedAt === pending.requestedAt;
  const next = { ...loanCase, confirmation: same ? null : loanCase.confirmation, updatedAt: toInstant(now) };
  return { next: recordContacts(next, events, now, claimedAt), events };
}

function withheld(
  loanCase: LoanCase,
  pending: PendingConfirmation,
  rule: WithheldRule,
  now: Date,
): CaseChange {
  const data = { action: pending.action, linkId: pending.linkId, rule };
  return settled(loanCase, pending, [{ type: "confirmation_withheld", actor: WORKFLOW_ACTOR, data }], now);
}

/**
 * The sent confirmation is a fact: written onto the case as it is now, even when an event (a payment, a re-plan)
 * landed between the claim and this write.
 */
async function recordOutcome(
  deps: ConfirmDeps,
  input: ExecutionState,
  claimed: Loaded,
  claim: PendingConfirmation,
  sent: { event: AuditEvent; copy?: MessageCopy },
): Promise<ExecutionState> {
  let loaded = claimed;
  const copies = sent.copy ? { messageCopies: [sent.copy] } : {};
  for (let attempt = 1; ; attempt++) {
    const now = deps.clock.now();
    try {
      const change = { ...settled(loaded.loanCase, claim, [sent.event], now), ...copies };
      return await writeEnding(deps, input, loaded, change, now);
    } catch (error) {
      if (!(error instanceof ConcurrentUpdateError) || attempt >= 5) throw error;
      const fresh = await deps.cases.get(loaded.loanCase.tenantId, loaded.loanCase.loanId);
      if (!fresh) throw error;
      loaded = { ...loaded, loanCase: fresh };
    }
  }
}

/** Hands the confirmation to its provider; any failure is recorded, never retried (at most once). */
async function sendConfirmation(
  deps: ConfirmDeps,
  loanCase: LoanCase,
  claim: PendingConfirmation,
  target: { channel: NonNullable<PendingConfirmation["channel"]>; to: string },
): Promise<{ event: AuditEvent; copy?: MessageCopy }> {
  const now = deps.clock.now();
  const { borrower } = loanCase;
  const { channel, to } = target;
  const stage = stageOf(loanCase, now);
  const content = confirmationMessage(claim, borrower.locale, channel);
  const about = { step: CONFIRMATION_STEP, action: claim.action, linkId: claim.linkId, stage, channel };
  try {
    const { providerMessageId } = await deps.sender.send({
      tenantId: loanCase.tenantId,
      loanId: loanCase.loanId,
      step: CONFIRMATION_STEP,
      stage,
      channel,
      locale: borrower.locale,
      to,
      ...content,
    });
    const sentAt = toInstant(now);
    const copy = messageCopy(content);
    const event: AuditEvent = {
      type: "message_sent",
      actor: WORKFLOW_ACTOR,
      data: {
        ...about,
        to: channelSpec(channel).mask(to),
        contentSha256: copy.contentSha256,
        sentAt,
        sentAtLocal: localTime(now, borrower.timeZone),
        // The frequency caps do not hold back what the borrower asked for; the message still counts towards them.
        rulesPassed: ["contact_window", "case_contactable", "channel_not_opted_out", "claimed_at_version"],
        consentBasis: "borrower_request",
        providerMessageId,
      },
    };
    return { event, copy };
  } catch (error) {
    const reason = error instanceof Error ? error.name : "unknown";
    return { event: { type: "message_failed", actor: WORKFLOW_ACTOR, data: { ...about, reason } } };
  }
}
