import fc from "fast-check";
import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import { type AuditEntry, type AuditEvent, appendToChain } from "../../functions/domain/audit-chain.ts";
import { type BorrowerContact, borrowerRef } from "../../functions/domain/borrower-contacts.ts";
import { ConcurrentUpdateError } from "../../functions/domain/errors.ts";
import { type CaseChange, type LoanCase, subscribe } from "../../functions/domain/loan-case.ts";
import {
  type Channel,
  DEFAULT_CONTACT_RULES,
  DEFAULT_POLICY,
  type Policy,
} from "../../functions/domain/policy.ts";
import { toInstant } from "../../functions/domain/time.ts";
import { expectsWorkflow } from "../../functions/domain/workflow-health.ts";
import type { BorrowerContactRecord } from "../../functions/ports/borrower-contacts.ts";
import type { CaseRepository, OutgoingMessage } from "../../functions/ports.ts";
import {
  type ExecutionState,
  handOffStep,
  type StepDeps,
  sendStep,
} from "../../functions/usecases/workflow-steps.ts";
import { simulateStep } from "../../simulator/engine.ts";
import { memoryHandoffs } from "../support/memory-handoffs.ts";
import { ACTOR, borrower, subscription, TENANT, ZONES } from "./fixtures.ts";

const DAY_MS = 86_400_000;
const CHANNELS: Channel[] = ["sms", "email"];
const OTHER_LOANS = ["loan-1", "loan-2", "loan-3"];
const STEP_IDS = ["first_notice", ...DEFAULT_POLICY.steps.map((s) => s.id)];

/** A state the workflow may wake to: a case mid-plan, its policy, the borrower's record and the instant. */
interface Scenario {
  loanCase: LoanCase;
  subscribed: AuditEvent[];
  policy: Policy;
  record: BorrowerContact[];
  now: Date;
  /** The workflow's horizon: a next action further away parks the case. */
  horizonDays: number;
}

const policies = fc
  .record({
    smsPerDay: fc.integer({ min: 1, max: 3 }),
    contactsPer7Days: fc.integer({ min: 1, max: 8 }),
    quietWeekdays: fc.subarray([1, 2, 3, 4, 5, 6, 7], { maxLength: 6 }),
    quietDays: fc.array(fc.integer({ min: -3, max: 60 }), { maxLength: 4 }),
    fallback: fc.boolean(),
    capsPer: fc.constantFrom("loan" as const, "borrower" as const),
    maxLateness: fc.constantFrom(undefined, "PT30M", "PT2H", "P1D", "P3D"),
    window: fc.constantFrom(
      { start: "08:00", end: "21:00" },
      { start: "09:30", end: "17:00" },
      { start: "00:00", end: "23:59" },
    ),
    minDays: fc.constantFrom(undefined, 0, 3, 14),
  })
  .map((p) => (baseDate: string): Policy => {
    const base = DateTime.fromISO(baseDate);
    return {
      ...DEFAULT_POLICY,
      id: "what-if",
      contactWindow: p.window,
      handOff: {
        ...DEFAULT_POLICY.handOff,
        ...(p.minDays === undefined ? {} : { minDaysAfterFirstContact: p.minDays }),
      },
      ...(p.maxLateness ? { maxLateness: p.maxLateness } : {}),
      contactRules: {
        ...DEFAULT_CONTACT_RULES,
        caps: { smsPerDay: p.smsPerDay, contactsPer7Days: p.contactsPer7Days },
        quietWeekdays: p.quietWeekdays,
        quietDates: p.quietDays.map((d) => base.plus({ days: d }).toISODate() as string),
        fallback: p.fallback,
        capsPer: p.capsPer,
      },
    };
  });

const contacts = (maxLength: number) =>
  fc.array(
    fc.record({
      ago: fc.integer({ min: 0, max: 9 * DAY_MS }),
      channel: fc.constantFrom(...CHANNELS),
      loanId: fc.constantFrom(...OTHER_LOANS),
      step: fc.constantFrom(...STEP_IDS),
    }),
    { maxLength },
  );

const scenarios: fc.Arbitrary<Scenario> = fc
  .record({
    zone: fc.constantFrom(...ZONES),
    subscribedAt: fc.integer({
      min: Date.parse("2026-01-01T00:00:00Z"),
      max: Date.parse("2027-12-31T00:00:00Z"),
    }),
    dueInDays: fc.integer({ min: -20, max: 40 }),
    phone: fc.boolean(),
    email: fc.boolean(),
    optedOut: fc.subarray(CHANNELS),
    after: fc.integer({ min: 0, max: 60 * DAY_MS }),
    cursor: fc.double({ min: 0, max: 1, noNaN: true }),
    done: fc.subarray(STEP_IDS),
    firstContact: fc.oneof(
      fc.constant("untracked" as const),
      fc.constant("none" as const),
      fc.double({ min: 0, max: 1, noNaN: true }),
    ),
    own: contacts(6),
    record: contacts(8),
    policy: policies,
    horizonDays: fc.constantFrom(0, 7, 30),
  })
  .map((s) => {
    const subscribedAt = new Date(s.subscribedAt);
    const dueDate = DateTime.fromJSDate(subscribedAt, { zone: s.zone })
      .plus({ days: s.dueInDays })
      .toISODate();
    const policy = s.policy(dueDate as string);
    const { phone, email, ...rest } = borrower({ timeZone: s.zone });
    const request = subscription({
      dueDate: dueDate as string,
      borrower: { ...rest, ...(s.phone ? { phone } : {}), ...(s.email ? { email } : {}) },
    });
    const subscribed = subscribe(TENANT, request, policy, "sub-hash", ACTOR, subscribedAt);
    const now = new Date(s.subscribedAt + s.after);
    const between = (f: number) => toInstant(new Date(s.subscribedAt + Math.floor(f * s.after)));
    const at = (ago: number) => toInstant(new Date(now.getTime() - ago));
    // Untracked: a case stored before first contacts were; none: no message has reached the borrower yet.
    const firstContactAt =
      s.firstContact === "untracked" ? undefined : s.firstContact === "none" ? null : between(s.firstContact);
    const { firstContactAt: _, ...subscribedCase } = subscribed.next;
    const loanCase: LoanCase = {
      ...subscribedCase,
      ...(firstContactAt === undefined ? {} : { firstContactAt }),
      optedOut: s.optedOut,
      cursorAt: between(s.cursor),
      stepsDone: { dueDate: dueDate as string, steps: s.done },
      recentContacts: s.own.map((c) => ({ at: at(c.ago), channel: c.channel })),
    };
    const record = s.record.map((c) => ({
      at: at(c.ago),
      channel: c.channel,
      loanId: c.loanId,
      step: c.step,
      plannedAt: at(c.ago),
    }));
    return { loanCase, subscribed: subscribed.events, policy, record, now, horizonDays: s.horizonDays };
  });

/** The workflow's ports in memory, holding one case and its borrower's contact record. */
function memoryDeps(scenario: Scenario) {
  const { loanCase, policy, now } = scenario;
  let stored: LoanCase = loanCase;
  const trail: AuditEntry[] = [];
  const written: AuditEvent[] = [];
  const store = (change: CaseChange, at: string): LoanCase => {
    const scope = { tenantId: loanCase.tenantId, loanId: loanCase.loanId };
    const { entries, head } = appendToChain(scope, change.next.audit, change.events, at);
    trail.push(...entries);
    stored = { ...change.next, audit: head, version: change.next.version + 1 };
    return stored;
  };
  store({ next: loanCase, events: scenario.subscribed }, toInstant(now));
  const ref = borrowerRef(loanCase.tenantId, loanCase.borrower);
  let record: BorrowerContactRecord = { contacts: scenario.record, version: 1 };
  const sent: OutgoingMessage[] = [];
  let wakeWrites = 0;
  const cases: CaseRepository = {
    get: async () => stored,
    async update(current, change, at) {
      if (current.version !== stored.version) throw new ConcurrentUpdateError("version moved");
      written.push(...change.events);
      return store(change, at);
    },
    onceRecord: async () => null,
    list: async () => ({ items: [stored], nextCursor: null }),
    auditTrail: async () => trail,
    async *openCases() {},
    create: async () => ({ created: false }),
  };
  const deps: StepDeps = {
    cases,
    policies: { get: async () => policy },
    sender: {
      async send(message) {
        sent.push(message);
        return { providerMessageId: `provider-${sent.length}` };
      },
    },
    clock: { now: () => new Date(now.getTime()) },
    workflow: { start: async () => {}, stop: async () => {} },
    runtime: { instanceId: "test", exclusive: true, realNow: () => 0 },
    handoffs: memoryHandoffs(),
    borrowers: {
      async get(_tenantId, key) {
        return key === ref ? record : { contacts: [], version: 0 };
      },
      async put(_tenantId, key, version, contacts) {
        if (key !== ref || version !== record.version) throw new ConcurrentUpdateError("record moved");
        record = { contacts, version: version + 1 };
      },
    },
    wakes: {
      // As the wake index does: for this generation only, an instant only on a case a workflow acts on.
      async setWake(wakeRef, wakeAt, options) {
        wakeWrites++;
        const running = ["active", "on_hold"].includes(stored.status) && !stored.attention;
        if (wakeRef.generation !== stored.generation || (wakeAt !== null && !running)) return;
        const { parked: _, ...rest } = stored;
        stored = { ...rest, wakeAt, ...(wakeAt !== null && options?.parked ? { parked: true } : {}) };
      },
      overdue: async function* () {},
      parkedBefore: async function* () {},
    },
    horizonDays: scenario.horizonDays,
  };
  return { deps, written, sent, stored: () => stored, record: () => record, wakeWrites: () => wakeWrites };
}

/**
 * One wake of the workflow at `now`: the send task, and the hand-off task when the send task found the
 * hand-off due (it wrote nothing and routed to it at once). A step settled just before a hand-off that is due
 * as well is one wake; the hand-off is the next.
 */
async function runWorkflow(workflow: ReturnType<typeof memoryDeps>, loanCase: LoanCase, now: Date) {
  const input: ExecutionState = { tenantId: loanCase.tenantId, loanId: loanCase.loanId, generation: 1 };
  const state = await sendStep(workflow.deps, input);
  const next = state.next;
  const handOffDue = next?.phase === "legal" && Date.parse(next.at) <= now.getTime();
  if (!handOffDue || workflow.written.length > 0) return state;
  return handOffStep(workflow.deps, { ...input, next });
}

/** What the simulator records of a message: the workflow's evidence carries more (recipient, hash, provider id). */
function comparable(event: AuditEvent) {
  if (event.type !== "message_sent") return { type: event.type, actor: event.actor, data: event.data };
  const { step, stage, channel, sentAt } = event.data;
  return { type: event.type, actor: event.actor, data: { step, stage, channel, sentAt } };
}

/** One channel of one step of one loan on the borrower's record, whenever it was reserved. */
const sameContact = (a: BorrowerContact, b: BorrowerContact) =>
  a.loanId === b.loanId && a.step === b.step && a.plannedAt === b.plannedAt && a.channel === b.channel;

/** What the next decisions depend on. */
function planningState(loanCase: LoanCase) {
  const { status, cursorAt, lastStep, deferral, stepsDone, inFlight, firstContactAt, recentContacts } =
    loanCase;
  return {
    status,
    cursorAt,
    lastStep,
    deferral,
    stepsDone,
    inFlight,
    firstContactAt,
    recentContacts,
    attention: loanCase.attention,
  };
}

describe("the what-if simulator and the workflow take one step transition", () => {
  it("decide alike, write the same events and leave the same case over random cases, policies and contacts", async () => {
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(scenarios, async (scenario) => {
        const { loanCase, policy, now } = scenario;
        const simulated = simulateStep(loanCase, policy, now, scenario.record);
        const { kind } = simulated.decision;
        seen.add(kind === "hand_off" && simulated.decision.withheld ? "hand_off_withheld" : kind);

        const workflow = memoryDeps(scenario);
        const state = await runWorkflow(workflow, loanCase, now);
        const workflowEvents = workflow.written.filter((e) => e.type !== "handoff_published");
        expect(workflowEvents.map(comparable)).toEqual(simulated.events.map(comparable));
        expect(planningState(workflow.stored())).toEqual(planningState(simulated.loanCase));
        const sent = workflow.sent.map((m) => m.channel);
        expect(sent).toEqual(kind === "send" ? simulated.decision.channels : []);
        // When the workflow next wakes for the case: the simulator's next wake.
        const next = state.next;
        const wake =
          next && "at" in next ? Math.max(Date.parse(next.at), now.getTime()) : Number.POSITIVE_INFINITY;
        expect(wake).toBe(simulated.wake);
        // The case holds the wake the workflow goes on to; a step that wrote the case wrote its wake with it.
        const stored = workflow.stored();
        if (!(next && "at" in next) || expectsWorkflow(stored)) {
          expect({ wakeAt: stored.wakeAt ?? null, parked: stored.parked === true }).toEqual({
            wakeAt: next && "at" in next ? next.at : null,
            parked: next?.phase === "parked",
          });
        }
        if (kind === "send" || kind === "skip" || kind === "defer") expect(workflow.wakeWrites()).toBe(0);
        if (policy.contactRules?.capsPer === "borrower" && borrowerRef(TENANT, loanCase.borrower)) {
          // With caps per borrower the workflow reserved on the borrower's record what the simulator counts.
          const added = workflow.record().contacts.filter((c) => !scenario.record.includes(c));
          expect(added).toEqual(
            simulated.sent.filter((c) => !scenario.record.some((r) => sameContact(r, c))),
          );
        }
      }),
      { numRuns: 400 },
    );
    // The generators reach every kind of decision, or the property would prove less than it says.
    expect([...seen].sort()).toEqual(["defer", "hand_off", "hand_off_withheld", "send", "skip", "wait"]);
  });
});
