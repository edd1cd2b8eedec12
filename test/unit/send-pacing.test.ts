import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseWith } from "../../functions/api/http.ts";
import { settingsUpdateSchema } from "../../functions/contracts/settings.ts";
import type { AuditEvent } from "../../functions/domain/audit-chain.ts";
import type { Channel } from "../../functions/domain/channels.ts";
import type { CaseChange, LoanCase } from "../../functions/domain/loan-case.ts";
import { DEFAULT_POLICY, findStep, type PolicyStep } from "../../functions/domain/policy.ts";
import {
  firstPlaceFrom,
  instantOfSecond,
  minuteCapacity,
  pacedChannels,
  reservationEnd,
  type SendRates,
  secondOf,
  slotCovers,
  slotSecond,
  windowEnd,
} from "../../functions/domain/send-pacing.ts";
import type { StepDecision } from "../../functions/domain/step-lifecycle.ts";
import type { SendPacingStore } from "../../functions/ports/send-pacing.ts";
import { paceSend, ratesPerContainer } from "../../functions/usecases/send-pacing.ts";
import { newCase } from "./fixtures.ts";

const MINUTE = 29_460_000; // 2026-01-05T00:00Z in epoch minutes

describe("the places of a paced minute", () => {
  it("puts place p of a minute in second ⌊(p − 1) / rate⌋ of it: never more than `rate` in a second", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), (rate) => {
        const perSecond = new Array<number>(60).fill(0);
        for (let place = 1; place <= minuteCapacity(rate); place++) {
          const offset = slotSecond(MINUTE, place, rate) - MINUTE * 60;
          perSecond[offset] = (perSecond[offset] ?? 0) + 1;
        }
        // Every place in the minute, exactly `rate` in each of its seconds.
        expect(perSecond).toEqual(new Array<number>(60).fill(rate));
        expect(slotSecond(MINUTE, minuteCapacity(rate), rate)).toBe(MINUTE * 60 + 59);
      }),
    );
    expect([1, 2, 3, 4, 120].map((p) => slotSecond(MINUTE, p, 2) - MINUTE * 60)).toEqual([0, 0, 1, 1, 59]);
  });

  it("starts a minute at its first place, or in the minute under way at the first place of the current second", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 0, max: 59 }), (rate, offset) => {
        const second = MINUTE * 60 + offset;
        const first = firstPlaceFrom(MINUTE, second, rate);
        expect(slotSecond(MINUTE, first, rate)).toBe(second);
        if (first > 1) expect(slotSecond(MINUTE, first - 1, rate)).toBe(second - 1);
        expect(firstPlaceFrom(MINUTE + 1, second, rate)).toBe(1);
      }),
    );
  });

  it("ends a reservation at the window's end in the borrower's zone, or earlier at the policy's maxLateness", () => {
    const window = { start: "08:00", end: "21:00" };
    expect(windowEnd(new Date("2026-01-12T02:00:00Z"), "Asia/Shanghai", window).toISOString()).toBe(
      "2026-01-12T13:00:00.000Z",
    );
    // New York leaves daylight saving on 2026-11-01: the window ends at 21:00 EST that day.
    expect(windowEnd(new Date("2026-11-01T15:00:00Z"), "America/New_York", window).toISOString()).toBe(
      "2026-11-02T02:00:00.000Z",
    );
    const step = { id: "pre_due_3", plannedAt: "2026-01-12T02:00:00Z" };
    const now = new Date("2026-01-12T02:00:00Z");
    const late = { contactWindow: window, maxLateness: "PT1H" };
    expect(reservationEnd(now, "Asia/Shanghai", late, step).toISOString()).toBe("2026-01-12T03:00:01.000Z");
    expect(reservationEnd(now, "Asia/Shanghai", late, { ...step, id: "first_notice" }).toISOString()).toBe(
      "2026-01-12T13:00:00.000Z",
    );
  });

  it("paces the channels with a rate, and a place covers the channels it was taken on", () => {
    expect(pacedChannels(["sms", "email"], { sms: 5 })).toEqual(["sms"]);
    expect(pacedChannels(["email"], { sms: 5 })).toEqual([]);
    const slot = { at: "2026-01-12T02:00:07Z", channels: ["sms"] as Channel[] };
    expect(slotCovers(slot, ["sms"])).toBe(true);
    expect(slotCovers(slot, ["sms", "email"])).toBe(false);
    expect(slotCovers(undefined, ["sms"])).toBe(false);
    expect(instantOfSecond(secondOf(new Date("2026-01-12T02:00:07.900Z")))).toBe("2026-01-12T02:00:07Z");
  });
});

describe("the settings request", () => {
  const refused = (body: unknown) => {
    try {
      parseWith(settingsUpdateSchema, body);
    } catch (error) {
      return (error as { code: string; details: { path: string }[] }).details.map((d) => d.path);
    }
    throw new Error("accepted");
  };

  it("takes whole rates from 1 to 1000 per known channel, and refuses anything else by its path", () => {
    expect(parseWith(settingsUpdateSchema, { sendRates: { sms: 50, email: 14 } })).toEqual({
      sendRates: { sms: 50, email: 14 },
    });
    expect(parseWith(settingsUpdateSchema, { sendRates: {} })).toEqual({ sendRates: {} });
    expect(refused({ sendRates: { sms: 0 } })).toEqual(["sendRates.sms"]);
    expect(refused({ sendRates: { sms: 2.5, email: 1001 } })).toEqual(["sendRates.sms", "sendRates.email"]);
    expect(refused({ sendRates: { fax: 3 } })).toEqual(["sendRates"]);
    expect(refused({ sendRates: { sms: "50" } })).toEqual(["sendRates.sms"]);
    // Left out, the stored rates stay as they are.
    expect(parseWith(settingsUpdateSchema, {})).toEqual({});
    expect(refused({ sendRates: {}, other: 1 })).toEqual([""]);
  });
});

/** Places in memory: per channel and second, at most `rate`; the earliest second with room from `fromSecond`. */
function memoryPlaces(busy: Partial<Record<Channel, number>> = {}) {
  const taken = new Map<string, number>();
  const calls: Channel[] = [];
  const places: SendPacingStore = {
    async reserve({ channel, rate, fromSecond, untilSecond }) {
      calls.push(channel);
      // A channel `busy` until a second has no room before it.
      for (let second = Math.max(fromSecond, busy[channel] ?? 0); second < untilSecond; second++) {
        const key = `${channel}/${second}`;
        if ((taken.get(key) ?? 0) < rate) {
          taken.set(key, (taken.get(key) ?? 0) + 1);
          return second;
        }
      }
      return null;
    },
  };
  return { places, calls };
}

function pacing(rates: SendRates, places: SendPacingStore, loanCase: LoanCase) {
  const written: CaseChange[] = [];
  const deps = {
    pacing: { rates: async () => rates, places },
    clock: { now: () => new Date() },
    cases: {
      async update(_current: LoanCase, change: CaseChange) {
        written.push(change);
        return change.next;
      },
    } as never,
  };
  return { deps, written, loaded: { loanCase, policy: DEFAULT_POLICY } };
}

const sendDecision = (step: PolicyStep, plannedAt: string): Extract<StepDecision, { kind: "send" }> => ({
  kind: "send",
  step,
  plannedAt,
  superseded: [],
  channels: [...step.channels],
});

describe("pacing a step the rules let go", () => {
  const loanCase = newCase();
  const plannedAt = "2026-01-12T02:00:00Z"; // D-3, 10:00 in Shanghai
  const now = new Date(plannedAt);
  const smsStep = findStep(DEFAULT_POLICY, "pre_due_3") as PolicyStep;
  const bothStep = findStep(DEFAULT_POLICY, "pre_due_1") as PolicyStep;

  it("sends at once for an unpaced channel, or in the current second, and waits for a later place", async () => {
    const { places, calls } = memoryPlaces();
    const unpaced = pacing({ email: 3 }, places, loanCase);
    expect(
      await paceSend(unpaced.deps, unpaced.loaded, sendDecision(smsStep, plannedAt), now, undefined),
    ).toBe(null);
    expect(calls).toEqual([]);
    const paced = pacing({ sms: 2 }, places, loanCase);
    const pace = () => paceSend(paced.deps, paced.loaded, sendDecision(smsStep, plannedAt), now, undefined);
    expect([await pace(), await pace()]).toEqual([null, null]);
    const third = await pace();
    expect(third).toEqual({
      phase: "pre_due",
      step: "pre_due_3",
      at: "2026-01-12T02:00:01Z",
      slot: { at: "2026-01-12T02:00:01Z", channels: ["sms"] },
    });
    // Back at its place: the send goes out on it, taking no other.
    expect(await paceSend(paced.deps, paced.loaded, sendDecision(smsStep, plannedAt), now, third ?? {})).toBe(
      null,
    );
    expect(calls).toEqual(["sms", "sms", "sms"]);
  });

  it("finds one second for every paced channel of a step", async () => {
    const { places } = memoryPlaces({ email: secondOf(now) + 40 });
    const { deps, loaded } = pacing({ sms: 5, email: 1 }, places, loanCase);
    const wake = await paceSend(deps, loaded, sendDecision(bothStep, plannedAt), now, undefined);
    expect(wake?.slot).toEqual({ at: "2026-01-12T02:00:40Z", channels: ["sms", "email"] });
  });

  it("defers to the next window opening, on the record, when today's window holds no place", async () => {
    // Busy until past 21:00 in Shanghai (13:00Z).
    const { places } = memoryPlaces({ sms: secondOf(new Date("2026-01-12T13:00:00Z")) });
    const { deps, loaded, written } = pacing({ sms: 5 }, places, loanCase);
    const wake = await paceSend(deps, loaded, sendDecision(smsStep, plannedAt), now, undefined);
    expect(wake).toEqual({ phase: "pre_due", step: "pre_due_3", at: "2026-01-13T00:00:00Z" });
    const events: AuditEvent[] = written.flatMap((change) => change.events);
    expect(events.map((e) => [e.type, e.data])).toEqual([
      ["step_deferred", { step: "pre_due_3", rule: "send_capacity", until: "2026-01-13T00:00:00Z" }],
    ]);
    expect(written[0]?.next.deferral).toEqual({ step: "pre_due_3", until: "2026-01-13T00:00:00Z" });
  });

  it("reads a tenant's rates once a minute per container", async () => {
    let reads = 0;
    let clock = 0;
    const rates = ratesPerContainer(
      {
        async get() {
          reads++;
          return {
            sendRates: { sms: reads },
            paymentUrlTemplate: null,
            version: reads,
            updatedAt: null,
            updatedBy: null,
          };
        },
      },
      60_000,
      () => clock,
    );
    expect([await rates("t"), await rates("t")]).toEqual([{ sms: 1 }, { sms: 1 }]);
    clock = 60_001;
    expect(await rates("t")).toEqual({ sms: 2 });
  });
});
