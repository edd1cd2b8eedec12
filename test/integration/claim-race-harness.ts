import { setTimeout as sleep } from "node:timers/promises";
import fc from "fast-check";
import { DynamoBorrowerContactStore } from "../../functions/adapters/dynamo/borrower-contacts.ts";
import { DynamoCaseRepository } from "../../functions/adapters/dynamo/case-repository.ts";
import { DynamoPolicyRepository } from "../../functions/adapters/dynamo/policy-repository.ts";
import { DynamoWorkflowWakes } from "../../functions/adapters/dynamo/wake-index.ts";
import { type AuditEntry, verifyChain } from "../../functions/domain/audit-chain.ts";
import {
  CaseNotCollectableError,
  ConcurrentUpdateError,
  StaleExecutionError,
  StepInProgressError,
} from "../../functions/domain/errors.ts";
import type { LoanEvent } from "../../functions/domain/events.ts";
import { type LoanCase, subscribe } from "../../functions/domain/loan-case.ts";
import { money } from "../../functions/domain/money.ts";
import { type Channel, DEFAULT_POLICY, type Policy, rulesOf } from "../../functions/domain/policy.ts";
import { toInstant } from "../../functions/domain/time.ts";
import type {
  Clock,
  MessageSender,
  OutgoingMessage,
  Principal,
  WorkflowControl,
  WorkflowRef,
} from "../../functions/ports.ts";
import { type LenderDeps, recordEvent } from "../../functions/usecases/lender.ts";
import { type ExecutionState, type StepDeps, sendStep } from "../../functions/usecases/workflow-steps.ts";
import type { FreshTables } from "../support/dynamo.ts";
import { exampleBorrower, subscriptionRequest } from "../support/fixtures.ts";
import { memoryHandoffs } from "../support/memory-handoffs.ts";
import { uniqueLoanId } from "./fixtures.ts";

/**
 * Harness for the claim race: real use cases (sendStep, recordEvent) on real DynamoDB Local tables, with a
 * controllable clock, a recording sender and a recording workflow control.
 */

export const TENANT = "acme-race";
/** Subscribed ten days before the loan is due (2026-01-15, Asia/Shanghai). */
export const SUBSCRIBED_AT = new Date("2026-01-05T00:00:00Z");
/** 10:00 in Shanghai on D+1: soft_1 (sms + email) is due and inside the contact window; earlier steps are superseded. */
export const SEND_AT = new Date("2026-01-16T02:00:00Z");
export const DUE_STEP = "soft_1";
export const DUE_CHANNELS: readonly Channel[] = ["sms", "email"];

export const PRINCIPAL: Principal = { tenantId: TENANT, role: "lender", keyId: "race-key" };

/** The lender events that forbid (some) contact from the moment they commit. */
export const FORBIDDING = [
  "payment_in_full",
  "dispute_opened",
  "cease_contact",
  "bankruptcy",
  "withdrawn",
  "opt_out_sms",
  "opt_out_email",
  "promise_to_pay",
] as const;
export type Forbidding = (typeof FORBIDDING)[number];

/** The audit entry type each forbidding event writes first. */
export const EVENT_ENTRY: Record<Forbidding, string> = {
  payment_in_full: "payment_received",
  dispute_opened: "dispute_opened",
  cease_contact: "cease_contact_requested",
  bankruptcy: "bankruptcy_notified",
  withdrawn: "loan_withdrawn",
  opt_out_sms: "opted_out",
  opt_out_email: "opted_out",
  promise_to_pay: "promise_to_pay",
};

/** The channel an opt-out forbids; null when the event forbids all contact. */
export function optedOutChannel(kind: Forbidding): Channel | null {
  if (kind === "opt_out_sms") return "sms";
  if (kind === "opt_out_email") return "email";
  return null;
}

export function loanEvent(kind: Forbidding): LoanEvent {
  switch (kind) {
    case "payment_in_full":
      return { type: "payment", amount: money("1250.00", "CNY") };
    case "dispute_opened":
    case "cease_contact":
    case "bankruptcy":
    case "withdrawn":
      return { type: kind };
    case "opt_out_sms":
      return { type: "opt_out", channel: "sms" };
    case "opt_out_email":
      return { type: "opt_out", channel: "email" };
    case "promise_to_pay":
      return { type: "promise_to_pay", amount: money("500.00", "CNY"), promisedDate: "2026-01-20" };
  }
}

export class MutableClock implements Clock {
  constructor(private current: Date) {}
  now(): Date {
    return new Date(this.current.getTime());
  }
  set(at: Date): void {
    this.current = new Date(at.getTime());
  }
}

export interface SentRecord {
  loanId: string;
  step: string;
  channel: Channel;
  at: bigint;
}

/**
 * Hands nothing to any provider: records the message, then waits a tiny delay (from `delays`, cyclically) to
 * widen the window between the claim and the recorded outcome. `onSend` runs after recording and is awaited.
 */
export class RecordingSender implements MessageSender {
  readonly log: SentRecord[] = [];
  private calls = 0;

  constructor(
    private readonly delays: readonly number[] = [0],
    private readonly onSend?: (message: OutgoingMessage) => Promise<void>,
  ) {}

  async send(message: OutgoingMessage): Promise<{ providerMessageId: string }> {
    const call = this.calls++;
    this.log.push({
      loanId: message.loanId,
      step: message.step,
      channel: message.channel,
      at: process.hrtime.bigint(),
    });
    if (this.onSend) await this.onSend(message);
    await sleep(this.delays[call % this.delays.length] ?? 0);
    return { providerMessageId: `pm-${message.loanId}-${message.step}-${message.channel}-${call}` };
  }
}

export class RecordingWorkflow implements WorkflowControl {
  readonly starts: WorkflowRef[] = [];
  readonly stops: WorkflowRef[] = [];
  async start(ref: WorkflowRef): Promise<void> {
    this.starts.push(ref);
  }
  async stop(ref: WorkflowRef): Promise<void> {
    this.stops.push(ref);
  }
}

export interface Harness {
  clock: MutableClock;
  sender: RecordingSender;
  workflow: RecordingWorkflow;
  stepDeps: StepDeps;
  lenderDeps: LenderDeps;
  cases: DynamoCaseRepository;
  policies: DynamoPolicyRepository;
}

export function harness(
  db: FreshTables,
  delays: readonly number[] = [0],
  onSend?: (message: OutgoingMessage) => Promise<void>,
): Harness {
  const cases = new DynamoCaseRepository(db.client, db);
  const policies = new DynamoPolicyRepository(db.client, db);
  const clock = new MutableClock(SUBSCRIBED_AT);
  const sender = new RecordingSender(delays, onSend);
  const workflow = new RecordingWorkflow();
  // Bankruptcy and cease_contact send the case to legal: its hand-off package is published (in memory).
  const handoffs = memoryHandoffs();
  return {
    clock,
    sender,
    workflow,
    cases,
    policies,
    // Overlapping invocations, as on AWS: only a claim's lease says its sender is gone.
    stepDeps: {
      cases,
      policies,
      sender,
      clock,
      workflow,
      runtime: { instanceId: "lambda", exclusive: false, realNow: Date.now },
      handoffs,
      borrowers: new DynamoBorrowerContactStore(db.client, db),
      wakes: new DynamoWorkflowWakes(db.client, db),
      horizonDays: 0,
    },
    lenderDeps: { cases, policies, workflow, clock, handoffs, horizonDays: 0 },
  };
}

/** The default policy with its frequency caps counted per borrower across their loans. */
export const PER_BORROWER_POLICY: Policy = {
  ...DEFAULT_POLICY,
  id: "per-borrower",
  contactRules: { ...rulesOf(DEFAULT_POLICY), capsPer: "borrower" },
};

/**
 * A phone of its own for each race loan: with caps per borrower, the races' many loans at the same instant
 * would otherwise all be one borrower capped at one SMS a day.
 */
let phones = 0;
const ownPhone = () => `+86138${String(phones++ % 1_000_000).padStart(8, "0")}`;

/**
 * Subscribes a fresh loan at SUBSCRIBED_AT (as subscribeLoan does, without its policy look-up) and moves the
 * clock to SEND_AT, when soft_1 is due. Each loan is its own borrower (see ownPhone) unless given a phone.
 */
export async function subscribedLoan(
  h: Harness,
  prefix = "race",
  phone = ownPhone(),
  policy: Policy = DEFAULT_POLICY,
): Promise<ExecutionState> {
  const loanId = uniqueLoanId(prefix);
  if (policy !== DEFAULT_POLICY) await h.policies.put(TENANT, policy);
  const change = subscribe(
    TENANT,
    subscriptionRequest(loanId, { borrower: exampleBorrower({ email: `${loanId}@example.com`, phone }) }),
    policy,
    `hash-of-${loanId}`,
    `${PRINCIPAL.role}:${PRINCIPAL.keyId}`,
    SUBSCRIBED_AT,
  );
  const result = await h.cases.create(change, toInstant(SUBSCRIBED_AT));
  if (!result.created) throw new Error(`${loanId} already exists`);
  h.clock.set(SEND_AT);
  return { tenantId: TENANT, loanId, generation: result.case.generation };
}

export type InvocationOutcome =
  | { kind: "returned"; next: ExecutionState["next"]; attempts: number }
  | { kind: "stopped"; error: string; attempts: number }
  | { kind: "exhausted"; attempts: number };

/**
 * The ASL's send task: ConcurrentUpdateError and StepInProgressError are retried; not-collectable and stale
 * end it.
 */
export const ASL_CONCURRENT_UPDATE_RETRIES = 5;

export async function invokeSend(
  deps: StepDeps,
  input: ExecutionState,
  retryDelays: readonly number[] = [0],
): Promise<InvocationOutcome> {
  for (let attempt = 1; ; attempt++) {
    try {
      const output = await sendStep(deps, input);
      return { kind: "returned", next: output.next, attempts: attempt };
    } catch (error) {
      if (error instanceof CaseNotCollectableError || error instanceof StaleExecutionError) {
        return { kind: "stopped", error: error.name, attempts: attempt };
      }
      if (!(error instanceof ConcurrentUpdateError) && !(error instanceof StepInProgressError)) throw error;
      if (attempt > ASL_CONCURRENT_UPDATE_RETRIES) return { kind: "exhausted", attempts: attempt };
      await sleep(retryDelays[attempt % retryDelays.length] ?? 0);
    }
  }
}

/** The lender's client retries a 409 CONCURRENT_UPDATE until the event lands. */
export async function fireEvent(h: Harness, loanId: string, kind: Forbidding): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      await recordEvent(h.lenderDeps, PRINCIPAL, loanId, loanEvent(kind));
      return attempt;
    } catch (error) {
      if (!(error instanceof ConcurrentUpdateError) || attempt >= 20) throw error;
      await sleep(1);
    }
  }
}

interface StepStarted {
  seq: number;
  step: string;
  channels: Channel[];
}

const startedEntries = (trail: AuditEntry[]): StepStarted[] =>
  trail
    .filter((e) => e.type === "step_started")
    .map((e) => ({ seq: e.seq, step: String(e.data.step), channels: e.data.channels as Channel[] }));

/**
 * Where the event landed in the per-case order: before any claim (the event won), between a claim and its
 * recorded outcome, or after the step's outcome was recorded.
 */
export type Ordering = "event_first" | "mid_step" | "step_first";

export interface Verdict {
  violations: string[];
  eventSeq: number;
  /** A step was claimed before the event committed. */
  stepWon: boolean;
  ordering: Ordering;
}

/**
 * The safety properties, on the stored audit trail and the sender's log, once everything has settled:
 * 1. no step_started after the forbidding event (an opt-out forbids only claims of its channel, see 3);
 * 2. every message sent was claimed (step_started naming its channel) before the event, and has its
 *    message_sent entry (none lost, even if recorded after the event); no message_sent without a send;
 * 3. for an opt-out, no claim of the opted-out channel after the opt-out entry;
 * 4. no step+channel sent twice;
 * 5. the hash chain verifies and its head is the stored case's audit head.
 */
export function verdict(
  kind: Forbidding,
  loanId: string,
  trail: AuditEntry[],
  stored: LoanCase | null,
  sent: readonly SentRecord[],
): Verdict {
  const violations: string[] = [];
  const eventEntries = trail.filter((e) => e.type === EVENT_ENTRY[kind]);
  if (eventEntries.length !== 1) {
    violations.push(`expected one ${EVENT_ENTRY[kind]} entry, found ${eventEntries.length}`);
  }
  const eventSeq = eventEntries[0]?.seq ?? Number.POSITIVE_INFINITY;
  const optedOut = optedOutChannel(kind);
  const started = startedEntries(trail);

  // 1 and 3: nothing forbidden is claimed after the event.
  for (const s of started) {
    if (s.seq < eventSeq) continue;
    if (optedOut === null)
      violations.push(`step_started ${s.step} at seq ${s.seq} after the event (${eventSeq})`);
    else if (s.channels.includes(optedOut)) {
      violations.push(
        `step_started ${s.step} claims opted-out ${optedOut} at seq ${s.seq} after ${eventSeq}`,
      );
    }
  }

  // 2: every send was claimed in time and its evidence recorded.
  const messageSent = trail.filter((e) => e.type === "message_sent");
  for (const m of sent) {
    if (m.loanId !== loanId) violations.push(`sent for another loan ${m.loanId}`);
    const mayClaimAfterEvent = optedOut !== null && m.channel !== optedOut;
    const claim = started.find(
      (s) => s.step === m.step && s.channels.includes(m.channel) && (mayClaimAfterEvent || s.seq < eventSeq),
    );
    if (!claim) violations.push(`${m.step}/${m.channel} sent without a step_started before the event`);
    const evidence = messageSent.filter((e) => e.data.step === m.step && e.data.channel === m.channel);
    if (evidence.length !== 1) {
      const other = trail
        .filter((e) => e.data.step === m.step && e.data.channel === m.channel)
        .map((e) => `${e.type}@${e.seq}`);
      violations.push(
        `${m.step}/${m.channel} was sent but has ${evidence.length} message_sent entries (trail has ${other.join(", ") || "nothing"} for it)`,
      );
    }
  }
  for (const e of messageSent) {
    if (!sent.some((m) => m.step === e.data.step && m.channel === e.data.channel)) {
      violations.push(`message_sent ${e.data.step}/${e.data.channel} at seq ${e.seq} without a send`);
    }
  }

  // 4: at most once per step and channel.
  const keysSent = sent.map((m) => `${m.step}/${m.channel}`);
  const duplicates = keysSent.filter((key, i) => keysSent.indexOf(key) !== i);
  if (duplicates.length > 0) violations.push(`sent twice: ${duplicates.join(", ")}`);

  // 5: the chain verifies and ends at the stored head.
  const chain = verifyChain({ tenantId: TENANT, loanId }, trail);
  if (!chain.valid) violations.push(`chain broken at seq ${chain.seq}: ${chain.reason}`);
  else if (!stored) violations.push("the case is gone");
  else if (chain.head.seq !== stored.audit.seq || chain.head.hash !== stored.audit.hash) {
    violations.push(`chain head ${chain.head.seq} != stored audit head ${stored.audit.seq}`);
  }

  const stepWon = started.some((s) => s.seq < eventSeq);
  const outcomeAfterEvent = trail.some(
    (e) => e.seq > eventSeq && e.type.startsWith("message_") && e.data.step === DUE_STEP,
  );
  const ordering: Ordering = !stepWon ? "event_first" : outcomeAfterEvent ? "mid_step" : "step_first";
  return { violations, eventSeq, stepWon, ordering };
}

export function describeTrail(trail: AuditEntry[]): string {
  return trail
    .map((e) => {
      const step = e.data.step ? ` ${e.data.step}` : "";
      const channel = e.data.channel ? `/${e.data.channel}` : "";
      const channels = Array.isArray(e.data.channels) ? ` [${(e.data.channels as string[]).join(",")}]` : "";
      return `${e.seq}:${e.type}${step}${channel}${channels}`;
    })
    .join(" ");
}

const tinyDelay = fc.integer({ min: 0, max: 3 });

/** One race: k concurrent invocations of the due send task and one forbidding event, with random timing. */
export const raceScenario = fc.record({
  /** Concurrent invocations of the same send task (duplicates, retries), each after its own start delay (ms). */
  invocations: fc.array(tinyDelay, { minLength: 1, maxLength: 3 }),
  event: fc.constantFrom(...FORBIDDING),
  /**
   * When the event is fired relative to the invocations (ms): negative, the invocations start that much after
   * the event; positive, the event is fired that much after them. Spans before, during and after the step.
   */
  eventOffset: fc.integer({ min: -12, max: 24 }),
  /** The sender's delay after each message (cyclic), widening the claim-to-outcome window. */
  sendDelays: fc.array(fc.oneof(tinyDelay, fc.integer({ min: 4, max: 15 })), { minLength: 1, maxLength: 4 }),
  /** The back-off before each retry of a ConcurrentUpdateError (cyclic). */
  retryDelays: fc.array(tinyDelay, { minLength: 1, maxLength: 4 }),
});
export type RaceScenario = typeof raceScenario extends fc.Arbitrary<infer T> ? T : never;

export interface RaceRun {
  loanId: string;
  verdict: Verdict;
  trail: AuditEntry[];
  sent: SentRecord[];
  outcomes: InvocationOutcome[];
  eventAttempts: number;
}

/** Runs one race on a fresh loan and judges the settled result. */
export async function runRace(db: FreshTables, sc: RaceScenario): Promise<RaceRun> {
  const h = harness(db, sc.sendDelays);
  const input = await subscribedLoan(h);
  const invocationLag = Math.max(0, -sc.eventOffset);
  const eventLag = Math.max(0, sc.eventOffset);
  const invocations = sc.invocations.map((start) =>
    sleep(invocationLag + start).then(() => invokeSend(h.stepDeps, input, sc.retryDelays)),
  );
  const event = sleep(eventLag).then(() => fireEvent(h, input.loanId, sc.event));
  const [eventAttempts, ...outcomes] = await Promise.all([event, ...invocations]);

  const trail = await h.cases.auditTrail(TENANT, input.loanId);
  const stored = await h.cases.get(TENANT, input.loanId);
  return {
    loanId: input.loanId,
    verdict: verdict(sc.event, input.loanId, trail, stored, h.sender.log),
    trail,
    sent: h.sender.log,
    outcomes,
    eventAttempts,
  };
}

export function describeOutcome(o: InvocationOutcome): string {
  if (o.kind === "returned") return `returned ${o.next?.phase} after ${o.attempts} attempt(s)`;
  if (o.kind === "stopped") return `${o.error} after ${o.attempts} attempt(s)`;
  return `ConcurrentUpdateError after ${o.attempts} attempts`;
}

export function describeRace(sc: RaceScenario, run: RaceRun): string {
  const sent = run.sent.map((m) => `${m.step}/${m.channel}`).join(", ");
  return [
    `${run.loanId}: ${sc.event} at offset ${sc.eventOffset} ms, ${sc.invocations.length} invocation(s), ${run.verdict.ordering}`,
    ...run.verdict.violations.map((v) => `  - ${v}`),
    `  trail: ${describeTrail(run.trail)}`,
    `  sent: ${sent || "nothing"}`,
    `  invocations: ${run.outcomes.map(describeOutcome).join("; ")}`,
  ].join("\n");
}
