import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import type { AuditEntry } from "../../functions/domain/audit-chain.ts";
import { StepInProgressError } from "../../functions/domain/errors.ts";
import { planStep } from "../../functions/usecases/workflow-steps.ts";
import { type FreshTables, freshTables } from "../support/dynamo.ts";
import {
  DUE_CHANNELS,
  DUE_STEP,
  describeRace,
  EVENT_ENTRY,
  FORBIDDING,
  fireEvent,
  harness,
  invokeSend,
  optedOutChannel,
  type RaceScenario,
  raceScenario,
  runRace,
  subscribedLoan,
  TENANT,
  verdict,
} from "./claim-race-harness.ts";

/**
 * "No contact after an event lands", against DynamoDB Local: in the per-case version order, a step's claim
 * (step_started) either precedes the forbidding event or the step sends nothing; what was sent is recorded.
 */

let db: FreshTables;

beforeAll(async () => {
  db = await freshTables();
});

/** Scenarios per fast-check run, run concurrently on separate loans; runs × this ≥ 1,000. */
const SCENARIOS_PER_RUN = 5;
const RUNS = Number(process.env.CLAIM_RACE_RUNS ?? 200);

interface Tally {
  scenarios: number;
  event_first: number;
  mid_step: number;
  step_first: number;
  concurrentInvocations: number;
  exhausted: number;
  eventRetries: number;
}

async function race(sc: RaceScenario, tally: Tally): Promise<void> {
  const run = await runRace(db, sc);
  tally.scenarios++;
  tally[run.verdict.ordering]++;
  if (sc.invocations.length > 1) tally.concurrentInvocations++;
  tally.exhausted += run.outcomes.filter((o) => o.kind === "exhausted").length;
  tally.eventRetries += run.eventAttempts - 1;
  if (run.verdict.violations.length > 0) throw new Error(describeRace(sc, run));
}

describe("claim race: no contact after an event lands (DynamoDB Local)", () => {
  it(`holds for random interleavings of 1–3 send invocations and one forbidding event (${RUNS * SCENARIOS_PER_RUN} scenarios)`, async () => {
    const tally: Tally = {
      scenarios: 0,
      event_first: 0,
      mid_step: 0,
      step_first: 0,
      concurrentInvocations: 0,
      exhausted: 0,
      eventRetries: 0,
    };
    const started = performance.now();
    try {
      // Real I/O decides the interleaving, so a failing input does not replay exactly: report it, don't shrink.
      await fc.assert(
        fc.asyncProperty(
          fc.array(raceScenario, { minLength: SCENARIOS_PER_RUN, maxLength: SCENARIOS_PER_RUN }),
          async (scenarios) => {
            await Promise.all(scenarios.map((sc) => race(sc, tally)));
          },
        ),
        { numRuns: RUNS, endOnFailure: true },
      );
    } finally {
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      const share = (n: number) => `${n} (${((100 * n) / Math.max(tally.scenarios, 1)).toFixed(1)}%)`;
      console.log(
        `claim race: ${tally.scenarios} scenarios in ${seconds} s; event won ${share(tally.event_first)}, ` +
          `step won ${share(tally.mid_step + tally.step_first)} (event landed mid-step ${share(tally.mid_step)}, ` +
          `after the step ${share(tally.step_first)}); ${tally.concurrentInvocations} with concurrent invocations, ` +
          `${tally.exhausted} invocations out of retries, ${tally.eventRetries} event retries`,
      );
    }
  }, 300_000);
});

const STOPPING = FORBIDDING.filter((kind) => optedOutChannel(kind) === null);
const OPT_OUTS = FORBIDDING.filter((kind) => optedOutChannel(kind) !== null);

describe("claim race: each ordering, deterministically", () => {
  it.each(STOPPING)("%s strictly before the step: nothing is claimed or sent", async (kind) => {
    const h = harness(db);
    const input = await subscribedLoan(h);
    await fireEvent(h, input.loanId, kind);

    const outcome = await invokeSend(h.stepDeps, input);

    expect(outcome.kind).toBe("stopped");
    expect(h.sender.log).toEqual([]);
    const trail = await h.cases.auditTrail(TENANT, input.loanId);
    expect(trail.map((e) => e.type)).not.toContain("step_started");
    const result = verdict(kind, input.loanId, trail, await h.cases.get(TENANT, input.loanId), h.sender.log);
    expect(result.violations).toEqual([]);
    expect(result.ordering).toBe("event_first");
  });

  it.each(OPT_OUTS)("%s strictly before the step: the step is claimed without that channel", async (kind) => {
    const h = harness(db);
    const input = await subscribedLoan(h);
    await fireEvent(h, input.loanId, kind);

    await invokeSend(h.stepDeps, input);

    const optedOut = optedOutChannel(kind);
    const other = DUE_CHANNELS.filter((c) => c !== optedOut);
    expect(h.sender.log.map((m) => m.channel)).toEqual(other);
    const trail = await h.cases.auditTrail(TENANT, input.loanId);
    const started = trail.filter((e) => e.type === "step_started");
    expect(started).toHaveLength(1);
    expect(started[0]?.data).toMatchObject({ step: DUE_STEP, channels: other, unreachable: [optedOut] });
    const result = verdict(kind, input.loanId, trail, await h.cases.get(TENANT, input.loanId), h.sender.log);
    expect(result.violations).toEqual([]);
  });

  it.each(FORBIDDING)(
    "the step completes strictly before %s: its messages are recorded first",
    async (kind) => {
      const h = harness(db);
      const input = await subscribedLoan(h);
      const outcome = await invokeSend(h.stepDeps, input);
      const sentBefore = process.hrtime.bigint();
      await fireEvent(h, input.loanId, kind);

      expect(outcome).toMatchObject({ kind: "returned", attempts: 1 });
      expect(h.sender.log.map((m) => `${m.step}/${m.channel}`)).toEqual(
        DUE_CHANNELS.map((c) => `${DUE_STEP}/${c}`),
      );
      expect(h.sender.log.every((m) => m.at < sentBefore)).toBe(true);
      const trail = await h.cases.auditTrail(TENANT, input.loanId);
      const result = verdict(
        kind,
        input.loanId,
        trail,
        await h.cases.get(TENANT, input.loanId),
        h.sender.log,
      );
      expect(result.violations).toEqual([]);
      expect(result.ordering).toBe("step_first");
      const sent = trail.filter((e) => e.type === "message_sent");
      expect(sent.map((e) => e.data.channel)).toEqual([...DUE_CHANNELS]);
      expect(sent.every((e) => e.seq < result.eventSeq)).toBe(true);
      // bankruptcy / cease_contact send the case to legal: the hand-off package's entry may follow the event's.
      expect(trail.filter((e) => !e.type.startsWith("handoff_")).at(-1)?.type).toBe(EVENT_ENTRY[kind]);
    },
  );

  it.each(FORBIDDING)(
    "%s between the claim and the outcome: the sent message is recorded, nothing further is claimed",
    async (kind) => {
      // The sender blocks on its first message until the event has committed.
      let eventLanded: Promise<number> | undefined;
      const h = harness(db, [0], async (message) => {
        eventLanded ??= fireEvent(h, message.loanId, kind);
        await eventLanded;
      });
      const input = await subscribedLoan(h);

      const first = await invokeSend(h.stepDeps, input);
      // A later invocation (the next state, a duplicate) finds nothing it may send.
      const second = await invokeSend(h.stepDeps, input);

      expect(eventLanded).toBeDefined();
      expect(first).toMatchObject({ kind: "returned", attempts: 1 });
      if (optedOutChannel(kind) === null) expect(second.kind).toBe("stopped");
      else expect(second).toMatchObject({ kind: "returned", next: { step: "soft_3" } });
      expect(h.sender.log.map((m) => `${m.step}/${m.channel}`)).toEqual(
        DUE_CHANNELS.map((c) => `${DUE_STEP}/${c}`),
      );
      const trail = await h.cases.auditTrail(TENANT, input.loanId);
      const stored = await h.cases.get(TENANT, input.loanId);
      const result = verdict(kind, input.loanId, trail, stored, h.sender.log);
      expect(result.violations).toEqual([]);
      expect(result.ordering).toBe("mid_step");
      const sent = trail.filter((e) => e.type === "message_sent");
      expect(sent.map((e) => e.data.channel)).toEqual([...DUE_CHANNELS]);
      expect(sent.every((e) => e.seq > result.eventSeq)).toBe(true);
      expect(trail.filter((e) => e.type === "step_started")).toHaveLength(1);
      expect(stored?.inFlight).toBeNull();
      expect(stored?.lastStep).toBe(DUE_STEP);
    },
  );
});

/**
 * A claimed step whose sender is still working is indistinguishable, to another run, from one left behind by a
 * crash: these pin what must hold when a second run of the same generation (a duplicate task invocation), or the
 * first run of a re-planned generation, reads the case in the middle of a send.
 */
/** What the trail says happened to each claimed channel. */
const outcomesOf = (trail: AuditEntry[]) =>
  trail.filter((e) => e.type.startsWith("message_")).map((e) => `${e.type} ${e.data.step}/${e.data.channel}`);

describe("claim race: another run reads the case mid-send", () => {
  it("a duplicate invocation does not lose the evidence of the first one's sent messages", async () => {
    let duplicate: Promise<unknown> | undefined;
    const h = harness(db, [0], async () => {
      duplicate ??= invokeSend(h.stepDeps, input);
      await duplicate;
    });
    const input = await subscribedLoan(h, "dup");

    await invokeSend(h.stepDeps, input);

    expect(duplicate).toBeDefined();
    expect(h.sender.log.map((m) => `${m.step}/${m.channel}`)).toEqual(
      DUE_CHANNELS.map((c) => `${DUE_STEP}/${c}`),
    );
    const trail = await h.cases.auditTrail(TENANT, input.loanId);
    // Whatever else the other run records about the step, each message that went out has its evidence.
    expect(outcomesOf(trail).filter((o) => o.startsWith("message_sent"))).toEqual(
      DUE_CHANNELS.map((c) => `message_sent ${DUE_STEP}/${c}`),
    );
  });

  it("the execution a re-planning event starts does not lose the evidence of the old one's sent messages", async () => {
    let replanned: Promise<unknown> | undefined;
    const refused: unknown[] = [];
    const h = harness(db, [0], async (message) => {
      replanned ??= (async () => {
        await fireEvent(h, message.loanId, "promise_to_pay");
        // recordEvent stopped the old execution (a running task is not interrupted) and started the next
        // generation, whose first state plans: the old run's claim is live, so it is told to retry.
        for (const ref of h.workflow.starts) {
          await planStep(h.stepDeps, ref).catch((error: unknown) => {
            if (!(error instanceof StepInProgressError)) throw error;
            refused.push(ref);
          });
        }
      })();
      await replanned;
    });
    const input = await subscribedLoan(h, "replan");

    await invokeSend(h.stepDeps, input);
    // The ASL retries the new generation's plan once the old run has recorded its outcome.
    expect(refused).toHaveLength(1);
    for (const ref of h.workflow.starts) await planStep(h.stepDeps, ref);

    expect(h.workflow.starts).toEqual([{ tenantId: TENANT, loanId: input.loanId, generation: 2 }]);
    expect(h.sender.log.map((m) => `${m.step}/${m.channel}`)).toEqual(
      DUE_CHANNELS.map((c) => `${DUE_STEP}/${c}`),
    );
    const trail = await h.cases.auditTrail(TENANT, input.loanId);
    // Whatever else the other run records about the step, each message that went out has its evidence.
    expect(outcomesOf(trail).filter((o) => o.startsWith("message_sent"))).toEqual(
      DUE_CHANNELS.map((c) => `message_sent ${DUE_STEP}/${c}`),
    );
    const result = verdict(
      "promise_to_pay",
      input.loanId,
      trail,
      await h.cases.get(TENANT, input.loanId),
      h.sender.log,
    );
    expect(result.violations).toEqual([]);
  });
});
