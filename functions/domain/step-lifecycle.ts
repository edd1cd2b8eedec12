import { Duration } from "luxon";
import type { AuditEvent } from "./audit-chain.ts";
import { addressOf, channelSpec } from "./channels.ts";
import {
  type CapRule,
  capBroken,
  capFreesAt,
  type DeferRule,
  isQuietDay,
  keepRecent,
  nextOpenDay,
  type RecentContact,
} from "./contact-rules.ts";
import { isInsideWindow } from "./contact-window.ts";
import { CaseStateConflictError } from "./errors.ts";
import {
  type CaseChange,
  type Claimant,
  type InFlightStep,
  type LoanCase,
  planFor,
  type SkipReason,
  skippedEvent,
  touched,
  WORKFLOW_ACTOR,
  withStepsDone,
} from "./loan-case.ts";
import type { PlannedAction } from "./planning.ts";
import {
  type Channel,
  FIRST_NOTICE_STEP,
  type Policy,
  type PolicyStep,
  rulesOf,
  type StepTask,
} from "./policy.ts";
import { daysPastDue, toInstant } from "./time.ts";
import { newWorkItem } from "./work/work-items.ts";

export type StepDecision =
  | { kind: "wait"; action: PlannedAction }
  | { kind: "defer"; step: PolicyStep; plannedAt: string; until: string; rule?: DeferRule }
  | {
      kind: "send";
      step: PolicyStep;
      plannedAt: string;
      superseded: PolicyStep[];
      channels: Channel[];
      /** Channels of the step left out because sending them would break a cap. */
      suppressed?: { channel: Channel; rule: CapRule }[];
      /** Channels that cannot reach the borrower, replaced by the other channel. */
      fallbacks?: { from: Channel; to: Channel }[];
    }
  | {
      kind: "skip";
      step: PolicyStep;
      plannedAt: string;
      superseded: PolicyStep[];
      reason: Extract<SkipReason, "later_than_max_lateness" | "no_reachable_channel">;
    }
  | { kind: "hand_off"; plannedAt: string; withheld?: "no_contact" }
  /** A call or visit step came due: it becomes a work item for the collection team. */
  | { kind: "assign"; step: PolicyStep & { task: StepTask }; plannedAt: string; superseded: PolicyStep[] };

/** Which channels of a step can reach this borrower. */
export function reachableChannels(
  loanCase: Pick<LoanCase, "borrower" | "optedOut" | "phoneUnreachable">,
  step: PolicyStep,
): Channel[] {
  return step.channels.filter((channel) => canReach(loanCase, channel));
}

function canReach(
  loanCase: Pick<LoanCase, "borrower" | "optedOut" | "phoneUnreachable">,
  channel: Channel,
): boolean {
  // A phone an agent found to be someone else's reaches nobody we may contact.
  if (loanCase.phoneUnreachable && channelSpec(channel).address === "phone") return false;
  return !loanCase.optedOut.includes(channel) && addressOf(loanCase.borrower, channel) !== undefined;
}

/**
 * What a workflow step should do now, for a collectable case. The contact rules apply in order: the
 * contact window, quiet days, the frequency caps and channel fallback. The caps count `recent`: the
 * borrower's contacts across all their loans (see contactsForCaps), the case's own when not given.
 * A due step is deferred, never dropped.
 */
export function decideStep(
  loanCase: LoanCase,
  policy: Policy,
  now: Date,
  nextWindowOpening: (at: Date) => Date,
  recent: readonly RecentContact[] = loanCase.recentContacts ?? [],
): StepDecision {
  const action = planFor(loanCase, policy, now);
  if (!action) throw new CaseStateConflictError(`case is ${loanCase.status}`);
  if (Date.parse(action.plannedAt) > now.getTime() || action.kind === "hold_review")
    return { kind: "wait", action };
  if (action.kind === "hand_off") return action;
  const { step, plannedAt } = action;
  const skip = (reason: Extract<StepDecision, { kind: "skip" }>["reason"]): StepDecision => ({
    kind: "skip",
    step,
    plannedAt,
    superseded: action.superseded,
    reason,
  });
  // Out of its moment, a reminder says the wrong thing ("due tomorrow" a week late); the first notice never is.
  if (step.id !== FIRST_NOTICE_STEP && tooLate(plannedAt, now, policy.maxLateness))
    return skip("later_than_max_lateness");
  const zone = loanCase.borrower.timeZone;
  const rules = rulesOf(policy);
  const defer = (rule: DeferRule, until: Date): StepDecision => ({
    kind: "defer",
    step,
    plannedAt,
    until: toInstant(until),
    rule,
  });
  if (!isInsideWindow(now, zone, policy.contactWindow))
    return defer("contact_window", nextWindowOpening(now));
  if (isQuietDay(now, zone, rules))
    return defer("quiet_day", nextOpenDay(now, zone, policy.contactWindow, rules));

  if (step.task) {
    // A call needs a phone; the team's own rules (caps on calls) are checked when an agent claims the item.
    if (step.task === "call" && (!loanCase.borrower.phone || loanCase.phoneUnreachable))
      return skip("no_reachable_channel");
    return { kind: "assign", step: { ...step, task: step.task }, plannedAt, superseded: action.superseded };
  }
  const { candidates, fallbacks } = channelsToTry(loanCase, step, rules.fallback);
  if (candidates.length === 0) return skip("no_reachable_channel");

  // Caps: a capped channel is left out while another is still allowed; with none left the step waits.
  const channels: Channel[] = [];
  const suppressed: { channel: Channel; rule: CapRule }[] = [];
  for (const channel of candidates) {
    const rule = capBroken(channel, channels, recent, now, zone, rules);
    if (rule) suppressed.push({ channel, rule });
    else channels.push(channel);
  }
  const firstCapped = suppressed[0];
  if (channels.length === 0 && firstCapped) {
    const frees = candidates.map((c) =>
      capFreesAt(c, recent, now, zone, policy.contactWindow, rules).getTime(),
    );
    return defer(firstCapped.rule, new Date(Math.min(...frees)));
  }
  return {
    kind: "send",
    step,
    plannedAt,
    superseded: action.superseded,
    channels,
    suppressed,
    fallbacks: fallbacks.filter((f) => channels.includes(f.to)),
  };
}

/**
 * Fallback: a channel that cannot reach the borrower gives way to the first of its stand-ins (its spec's
 * `fallback`) that can, unless the step already uses it.
 */
function channelsToTry(loanCase: LoanCase, step: PolicyStep, fallback: boolean) {
  const candidates: Channel[] = [];
  const fallbacks: { from: Channel; to: Channel }[] = [];
  for (const channel of step.channels) {
    if (canReach(loanCase, channel)) {
      if (!candidates.includes(channel)) candidates.push(channel);
      continue;
    }
    if (!fallback) continue;
    const standIn = channelSpec(channel).fallback.find(
      (other) => !step.channels.includes(other) && !candidates.includes(other) && canReach(loanCase, other),
    );
    if (standIn) {
      candidates.push(standIn);
      fallbacks.push({ from: channel, to: standIn });
    }
  }
  return { candidates, fallbacks };
}

/** Whether a step planned at `plannedAt` is, at `now`, later than the policy lets a step go out. */
function tooLate(plannedAt: string, now: Date, maxLateness: string | undefined): boolean {
  if (!maxLateness) return false;
  const limit = Duration.fromISO(maxLateness);
  return limit.isValid && now.getTime() - Date.parse(plannedAt) > limit.toMillis();
}

/**
 * Settles a due step without sending it, on the record with its reason (and the steps it superseded): the
 * cursor moves past it as if it had been sent.
 */
export function skipStep(
  loanCase: LoanCase,
  decision: Extract<StepDecision, { kind: "skip" }>,
  now: Date,
): CaseChange {
  const events = [
    ...decision.superseded.map((step) =>
      skippedEvent(step.id, "superseded_by_later_due_step", { by: decision.step.id }),
    ),
    skippedEvent(decision.step.id, decision.reason, { plannedAt: decision.plannedAt }),
  ];
  const settled = withStepsDone(loanCase, [...decision.superseded.map((s) => s.id), decision.step.id]);
  const cursorAt =
    Date.parse(decision.plannedAt) > Date.parse(loanCase.cursorAt) ? decision.plannedAt : loanCase.cursorAt;
  return { next: touched(settled, now, { cursorAt, deferral: null }), events };
}

/**
 * Settles a due call or visit step by handing it to the collection team: a new work item, written with the case,
 * and the step on the record as done (the cursor moves past it, as after a message).
 */
export function assignTask(
  loanCase: LoanCase,
  decision: Extract<StepDecision, { kind: "assign" }>,
  now: Date,
): CaseChange {
  const at = toInstant(now);
  const { item, event } = newWorkItem(loanCase, decision.step, decision.plannedAt, at, WORKFLOW_ACTOR);
  const events = [
    ...decision.superseded.map((step) =>
      skippedEvent(step.id, "superseded_by_later_due_step", { by: decision.step.id }),
    ),
    event,
  ];
  const settled = withStepsDone(loanCase, [...decision.superseded.map((s) => s.id), decision.step.id]);
  const cursorAt =
    Date.parse(decision.plannedAt) > Date.parse(loanCase.cursorAt) ? decision.plannedAt : loanCase.cursorAt;
  return {
    next: touched(settled, now, { cursorAt, deferral: null }),
    events,
    workItems: [item],
  };
}

export function claimStep(
  loanCase: LoanCase,
  decision: Extract<StepDecision, { kind: "send" }>,
  now: Date,
  claimant?: Claimant,
): CaseChange {
  const events: AuditEvent[] = decision.superseded.map((step) =>
    skippedEvent(step.id, "superseded_by_later_due_step", { by: decision.step.id }),
  );
  for (const { channel, rule } of decision.suppressed ?? []) {
    events.push({
      type: "channel_suppressed",
      actor: WORKFLOW_ACTOR,
      data: { step: decision.step.id, channel, rule },
    });
  }
  for (const { from, to } of decision.fallbacks ?? []) {
    events.push({
      type: "channel_fallback",
      actor: WORKFLOW_ACTOR,
      data: { step: decision.step.id, from, to },
    });
  }
  events.push({
    type: "step_started",
    actor: WORKFLOW_ACTOR,
    data: {
      step: decision.step.id,
      stage: decision.step.stage,
      plannedAt: decision.plannedAt,
      channels: decision.channels,
      unreachable: decision.step.channels.filter(
        (c) => !decision.channels.includes(c) && !(decision.suppressed ?? []).some((s) => s.channel === c),
      ),
      policy: loanCase.policy,
    },
  });
  const inFlight: InFlightStep = {
    step: decision.step.id,
    plannedAt: decision.plannedAt,
    channels: decision.channels,
    claimedAt: toInstant(now),
    retryable: false,
    ...(claimant ? { claimant } : {}),
  };
  // Superseded steps are settled here: skipped, on the record, never sent later.
  const settled = withStepsDone(
    loanCase,
    decision.superseded.map((step) => step.id),
  );
  return { next: touched(settled, now, { inFlight }), events };
}

/** Closes the in-flight step: the cursor moves past it whatever the delivery outcome. */
export function completeStep(loanCase: LoanCase, events: AuditEvent[], now: Date): CaseChange {
  const inFlight = loanCase.inFlight;
  if (!inFlight) throw new CaseStateConflictError("no step in flight");
  return {
    next: recordContacts(
      withStepsDone(
        touched(loanCase, now, { inFlight: null, cursorAt: inFlight.plannedAt, lastStep: inFlight.step }),
        [inFlight.step],
      ),
      events,
      now,
      inFlight.claimedAt,
    ),
    events,
  };
}

/**
 * The case with the messages among `events` added to its recent contacts (the last 8 days kept). A message whose
 * outcome is unknown may well have reached the borrower, so it counts as a contact too, from when it was claimed.
 */
export function recordContacts(
  loanCase: LoanCase,
  events: AuditEvent[],
  now: Date,
  claimedAt?: string,
): LoanCase {
  const sent: RecentContact[] = events
    .filter((e) => e.type === "message_sent" || e.type === "message_outcome_unknown")
    .map((e) => ({
      at: typeof e.data.sentAt === "string" ? e.data.sentAt : (claimedAt ?? toInstant(now)),
      channel: e.data.channel as Channel,
    }));
  // Notice is given by a message that went out, not by one whose fate is unknown.
  const reached = events.find((e) => e.type === "message_sent");
  const firstContact =
    loanCase.firstContactAt === null && reached
      ? { firstContactAt: typeof reached.data.sentAt === "string" ? reached.data.sentAt : toInstant(now) }
      : {};
  if (sent.length === 0 && !loanCase.recentContacts) return { ...loanCase, ...firstContact };
  return {
    ...loanCase,
    ...firstContact,
    recentContacts: keepRecent([...(loanCase.recentContacts ?? []), ...sent], now),
  };
}

/** Keeps the step open with the channels still to send, marked safe to retry. */
export function releaseChannels(
  loanCase: LoanCase,
  remaining: Channel[],
  events: AuditEvent[],
  now: Date,
): CaseChange {
  const inFlight = loanCase.inFlight;
  if (!inFlight) throw new CaseStateConflictError("no step in flight");
  return {
    next: recordContacts(
      touched(loanCase, now, { inFlight: { ...inFlight, channels: remaining, retryable: true } }),
      events,
      now,
    ),
    events,
  };
}

export function deferStep(
  loanCase: LoanCase,
  decision: Extract<StepDecision, { kind: "defer" }>,
  now: Date,
): CaseChange {
  return {
    next: touched(loanCase, now, { deferral: { step: decision.step.id, until: decision.until } }),
    events: [
      {
        type: "step_deferred",
        actor: WORKFLOW_ACTOR,
        data: { step: decision.step.id, rule: decision.rule ?? "contact_window", until: decision.until },
      },
    ],
  };
}

export function handOff(loanCase: LoanCase, plannedAt: string, now: Date): CaseChange {
  return {
    next: touched(loanCase, now, { status: "legal", cursorAt: plannedAt, lastStep: "hand_off" }),
    events: [
      {
        type: "handed_off",
        actor: WORKFLOW_ACTOR,
        data: {
          to: "legal",
          plannedAt,
          balance: loanCase.balance,
          daysPastDue: daysPastDue(loanCase.dueDate, loanCase.borrower.timeZone, now),
        },
      },
    ],
  };
}
