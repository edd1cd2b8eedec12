import fc from "fast-check";
import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import { CAP_WINDOW_MS, isQuietDay, type RecentContact } from "../../functions/domain/contact-rules.ts";
import { isInsideWindow, nextAllowedInstant } from "../../functions/domain/contact-window.ts";
import { type LoanCase, WORKFLOW_ACTOR } from "../../functions/domain/loan-case.ts";
import { money } from "../../functions/domain/money.ts";
import {
  CHANNELS,
  type Channel,
  type ContactRules,
  DEFAULT_POLICY,
  type Policy,
  type PolicyStep,
  rulesOf,
} from "../../functions/domain/policy.ts";
import { validatePolicy } from "../../functions/domain/policy-validation.ts";
import {
  claimStep,
  completeStep,
  decideStep,
  deferStep,
  type StepDecision,
} from "../../functions/domain/step-lifecycle.ts";
import { borrower, newCase, wallClock, ZONES } from "./fixtures.ts";

function policyWith(rules: Partial<ContactRules>, base: Policy = DEFAULT_POLICY): Policy {
  return { ...base, contactRules: { ...rulesOf(base), ...rules } };
}

function decide(loanCase: LoanCase, policy: Policy, now: string | Date): StepDecision {
  const zone = loanCase.borrower.timeZone;
  return decideStep(loanCase, policy, new Date(now), (at) =>
    nextAllowedInstant(at, zone, policy.contactWindow),
  );
}

function expectSend(decision: StepDecision): Extract<StepDecision, { kind: "send" }> {
  if (decision.kind !== "send") throw new Error(`expected send, got ${JSON.stringify(decision)}`);
  return decision;
}

function expectDefer(decision: StepDecision): Extract<StepDecision, { kind: "defer" }> {
  if (decision.kind !== "defer") throw new Error(`expected defer, got ${JSON.stringify(decision)}`);
  return decision;
}

const withContacts = (loanCase: LoanCase, recentContacts: RecentContact[]): LoanCase => ({
  ...loanCase,
  recentContacts,
});

// Default case: due 2026-01-15 in Shanghai. pre_due_7 (email) is 01-08 10:00 = 02:00Z, a Thursday;
// pre_due_3 (sms) 01-12 02:00Z; pre_due_1 (sms + email) 01-14 02:00Z.
describe("quiet days", () => {
  it("defers a step due on a tenant holiday to the next day's window opening, audited as quiet_day", () => {
    const policy = policyWith({ quietDates: ["2026-01-08"] });
    const loanCase = newCase();
    const decision = expectDefer(decide(loanCase, policy, "2026-01-08T02:00:00Z"));
    expect(decision).toMatchObject({ rule: "quiet_day", until: "2026-01-09T00:00:00Z" });
    const { events } = deferStep(loanCase, decision, new Date("2026-01-08T02:00:00Z"));
    expect(events).toEqual([
      {
        type: "step_deferred",
        actor: WORKFLOW_ACTOR,
        data: { step: "pre_due_7", rule: "quiet_day", until: "2026-01-09T00:00:00Z" },
      },
    ]);
  });

  it("skips quiet weekdays and holidays in a row (Thu, Fri quiet; Sat a holiday → Sunday 08:00)", () => {
    const policy = policyWith({ quietWeekdays: [4, 5], quietDates: ["2026-01-10"] });
    const decision = expectDefer(decide(newCase(), policy, "2026-01-08T02:00:00Z"));
    expect(decision.rule).toBe("quiet_day");
    expect(wallClock(decision.until, "Asia/Shanghai").local).toBe("2026-01-11 08:00");
  });

  it("applies the contact window first", () => {
    const policy = policyWith({ quietDates: ["2026-01-08"] });
    // 22:30 local on the holiday: the window rule is named, and the holiday is judged when the window opens.
    expect(expectDefer(decide(newCase(), policy, "2026-01-08T14:30:00Z")).rule).toBe("contact_window");
  });
});

describe("frequency caps", () => {
  it("defers an SMS-only step past the borrower-local day when the day's SMS is spent", () => {
    const loanCase = withContacts(newCase(), [{ at: "2026-01-12T01:00:00Z", channel: "sms" }]);
    const decision = expectDefer(decide(loanCase, DEFAULT_POLICY, "2026-01-12T02:00:00Z"));
    expect(decision).toMatchObject({ rule: "sms_daily_cap", until: "2026-01-13T00:00:00Z" });
    expect(deferStep(loanCase, decision, new Date("2026-01-12T02:00:00Z")).events[0]?.data).toMatchObject({
      rule: "sms_daily_cap",
    });
  });

  it("counts the SMS day in the borrower's zone: yesterday-local SMS does not count", () => {
    // 2026-01-11T15:59Z is 23:59 on 01-11 in Shanghai.
    const loanCase = withContacts(newCase(), [{ at: "2026-01-11T15:59:00Z", channel: "sms" }]);
    expect(expectSend(decide(loanCase, DEFAULT_POLICY, "2026-01-12T02:00:00Z")).channels).toEqual(["sms"]);
  });

  it("drops a capped channel when another channel of the step is allowed, audited as channel_suppressed", () => {
    const loanCase = withContacts(newCase(), [{ at: "2026-01-14T00:30:00Z", channel: "sms" }]);
    const now = new Date("2026-01-14T02:00:00Z");
    const decision = expectSend(decide(loanCase, DEFAULT_POLICY, now));
    expect(decision.channels).toEqual(["email"]);
    expect(decision.suppressed).toEqual([{ channel: "sms", rule: "sms_daily_cap" }]);
    const { events } = claimStep(loanCase, decision, now);
    expect(events).toContainEqual({
      type: "channel_suppressed",
      actor: WORKFLOW_ACTOR,
      data: { step: "pre_due_1", channel: "sms", rule: "sms_daily_cap" },
    });
    expect(events.find((e) => e.type === "step_started")?.data.unreachable).toEqual([]);
  });

  describe("7-day cap over a rolling 7×24h window across the New York DST change", () => {
    // Due 2026-03-13: pre_due_3 (sms) is 03-10 10:00 EDT = 14:00Z; DST began 03-08.
    const nyCase = (recent: RecentContact[]) =>
      withContacts(
        newCase(
          {
            borrower: borrower({ locale: "en-US", timeZone: "America/New_York" }),
            amountDue: money("500.00", "USD"),
            dueDate: "2026-03-13",
          },
          "2026-03-01T00:00:00Z",
        ),
        recent,
      );
    const policy = policyWith({ caps: { smsPerDay: 1, contactsPer7Days: 2 } });

    it("defers until exactly 7×24h after the oldest counted contact (10:00 EST + 168h = 11:00 EDT)", () => {
      const loanCase = nyCase([
        { at: "2026-03-04T15:00:00Z", channel: "email" },
        { at: "2026-03-05T15:00:00Z", channel: "email" },
      ]);
      const decision = expectDefer(decide(loanCase, policy, "2026-03-10T14:00:00Z"));
      expect(decision).toMatchObject({ rule: "contacts_7_day_cap", until: "2026-03-11T15:00:00Z" });
      expect(wallClock(decision.until, "America/New_York").local).toBe("2026-03-11 11:00");
      // One millisecond before, still capped; at the instant, allowed.
      expect(decide(loanCase, policy, "2026-03-11T14:59:59.999Z").kind).toBe("defer");
      expect(expectSend(decide(loanCase, policy, "2026-03-11T15:00:00Z")).channels).toEqual(["sms"]);
    });

    it("waits for the next window opening when the cap frees at night", () => {
      // 2026-03-04T02:30Z is 21:30 EST on 03-03; it leaves the window at 03-11T02:30Z = 22:30 EDT on 03-10.
      const loanCase = nyCase([{ at: "2026-03-04T02:30:00Z", channel: "email" }]);
      const tight = policyWith({ caps: { smsPerDay: 1, contactsPer7Days: 1 } });
      const decision = expectDefer(decide(loanCase, tight, "2026-03-10T14:00:00Z"));
      expect(decision).toMatchObject({ rule: "contacts_7_day_cap", until: "2026-03-11T12:00:00Z" });
      expect(wallClock(decision.until, "America/New_York").local).toBe("2026-03-11 08:00");
    });
  });
});

describe("channel fallback", () => {
  it("sends an email-only step by SMS when the borrower opted out of email, audited as channel_fallback", () => {
    const loanCase: LoanCase = { ...newCase(), optedOut: ["email"] };
    const now = new Date("2026-01-08T02:00:00Z");
    const decision = expectSend(decide(loanCase, DEFAULT_POLICY, now));
    expect(decision.channels).toEqual(["sms"]);
    expect(decision.fallbacks).toEqual([{ from: "email", to: "sms" }]);
    expect(claimStep(loanCase, decision, now).events).toContainEqual({
      type: "channel_fallback",
      actor: WORKFLOW_ACTOR,
      data: { step: "pre_due_7", from: "email", to: "sms" },
    });
  });

  it("falls back for a borrower without an email address, and not when fallback is off", () => {
    const loanCase = newCase({ borrower: borrower({ email: undefined }) });
    expect(expectSend(decide(loanCase, DEFAULT_POLICY, "2026-01-08T02:00:00Z")).channels).toEqual(["sms"]);
    const off = policyWith({ fallback: false });
    // Nothing can reach the borrower: the step is skipped on the record, not "sent" to no one.
    expect(decide(loanCase, off, "2026-01-08T02:00:00Z")).toMatchObject({
      kind: "skip",
      step: { id: "pre_due_7" },
      reason: "no_reachable_channel",
    });
  });

  it("defers rather than drops when the fallback channel is capped", () => {
    const loanCase = withContacts({ ...newCase(), optedOut: ["email"] }, [
      { at: "2026-01-08T01:00:00Z", channel: "sms" },
    ]);
    expect(expectDefer(decide(loanCase, DEFAULT_POLICY, "2026-01-08T02:00:00Z")).rule).toBe("sms_daily_cap");
  });
});

describe("recent contacts", () => {
  it("records sent messages when the step completes and forgets those older than 8 days", () => {
    const now = new Date("2026-01-14T02:00:00Z");
    const loanCase = withContacts(newCase(), [
      { at: "2026-01-05T02:00:00Z", channel: "sms" },
      { at: "2026-01-12T02:00:00Z", channel: "sms" },
    ]);
    const claimed = claimStep(loanCase, expectSend(decide(loanCase, DEFAULT_POLICY, now)), now).next;
    const sent = (channel: Channel) => ({
      type: "message_sent",
      actor: WORKFLOW_ACTOR,
      data: { step: "pre_due_1", channel, sentAt: "2026-01-14T02:00:01Z" },
    });
    const failed = { type: "message_failed", actor: WORKFLOW_ACTOR, data: { channel: "sms" } };
    const { next } = completeStep(claimed, [sent("sms"), failed, sent("email")], now);
    expect(next.recentContacts).toEqual([
      { at: "2026-01-12T02:00:00Z", channel: "sms" },
      { at: "2026-01-14T02:00:01Z", channel: "sms" },
      { at: "2026-01-14T02:00:01Z", channel: "email" },
    ]);
  });
});

describe("a message whose outcome is unknown", () => {
  it("counts as a contact from when it was claimed, so the daily SMS cap holds after a crash", () => {
    const claimedAt = new Date("2026-01-14T02:00:00Z");
    const loanCase = newCase();
    const claimed = claimStep(
      loanCase,
      expectSend(decide(loanCase, DEFAULT_POLICY, claimedAt)),
      claimedAt,
    ).next;
    const unknown = (channel: Channel) => ({
      type: "message_outcome_unknown",
      actor: WORKFLOW_ACTOR,
      data: { step: "pre_due_1", channel, reason: "interrupted" },
    });
    const settledAt = new Date("2026-01-14T05:00:00Z");
    const { next } = completeStep(claimed, [unknown("sms"), unknown("email")], settledAt);
    expect(next.recentContacts).toEqual([
      { at: "2026-01-14T02:00:00Z", channel: "sms" },
      { at: "2026-01-14T02:00:00Z", channel: "email" },
    ]);
    // Settled as done: never planned again, and another SMS the same local day waits for tomorrow.
    expect(next.stepsDone?.dueDate).toBe(next.dueDate);
    expect(next.stepsDone?.steps).toContain("pre_due_1");
    const sameDay = { ...next, cursorAt: "2026-01-14T01:00:00Z" };
    const policy = policyWith(
      {},
      {
        ...DEFAULT_POLICY,
        steps: [
          ...DEFAULT_POLICY.steps,
          { ...DEFAULT_POLICY.steps[1], id: "extra_sms", offsetDays: -1, sendAt: "16:00" } as PolicyStep,
        ],
      },
    );
    const decision = decide(sameDay, policy, "2026-01-14T08:00:00Z");
    expect(expectDefer(decision).rule).toBe("sms_daily_cap");
  });
});

describe("contact rules validation", () => {
  const rules = (contactRules: unknown) =>
    validatePolicy({ ...DEFAULT_POLICY, contactRules: contactRules as ContactRules }).map((i) => i.path);

  it("accepts the defaults and refuses bad caps, dates and weekdays", () => {
    expect(rules(rulesOf({}))).toEqual([]);
    expect(
      rules({
        caps: { smsPerDay: 0, contactsPer7Days: 1.5 },
        quietDates: ["2026-02-30", "2026-5-1", "2026-05-01"],
        quietWeekdays: [0, 8, 3],
        fallback: true,
        capsPer: "debtor" as ContactRules["capsPer"],
      }),
    ).toEqual([
      "contactRules.caps.smsPerDay",
      "contactRules.caps.contactsPer7Days",
      "contactRules.quietDates[0]",
      "contactRules.quietDates[1]",
      "contactRules.quietWeekdays[0]",
      "contactRules.quietWeekdays[1]",
      "contactRules.capsPer",
    ]);
    expect(rules({ ...rulesOf({}), quietWeekdays: [1, 2, 3, 4, 5, 6, 7] })).toEqual([
      "contactRules.quietWeekdays",
    ]);
  });

  it("fills defaults for a policy stored without contact rules", () => {
    const legacy: Policy = { ...DEFAULT_POLICY, contactRules: undefined };
    expect(rulesOf(legacy)).toEqual({
      caps: { smsPerDay: 1, contactsPer7Days: 7 },
      quietDates: [],
      quietWeekdays: [],
      fallback: true,
      capsPer: "loan",
    });
  });
});

describe("property: a send decision keeps every contact rule", () => {
  const HOUR = 3_600_000;
  const channelSets: Channel[][] = [["sms"], ["email"], ["sms", "email"], ["email", "sms"]];
  const arbitraries = {
    zone: fc.constantFrom(...ZONES),
    now: fc.integer({ min: Date.parse("2025-01-01T00:00:00Z"), max: Date.parse("2027-12-31T00:00:00Z") }),
    smsPerDay: fc.integer({ min: 1, max: 3 }),
    contactsPer7Days: fc.integer({ min: 1, max: 8 }),
    quietWeekdays: fc.subarray([1, 2, 3, 4, 5, 6, 7], { maxLength: 6 }),
    quietDayOffsets: fc.uniqueArray(fc.integer({ min: -1, max: 4 }), { maxLength: 4 }),
    fallback: fc.boolean(),
    channels: fc.constantFrom(...channelSets),
    optedOut: fc.subarray<Channel>(["sms", "email"]),
    recent: fc.array(
      fc.record({
        ago: fc.integer({ min: 0, max: 8 * 24 * HOUR }),
        channel: fc.constantFrom<Channel>("sms", "email"),
      }),
      { maxLength: 10 },
    ),
  };

  it("never exceeds either cap, and is inside the window on a day that is not quiet", () => {
    fc.assert(
      fc.property(fc.record(arbitraries), (input) => {
        const now = new Date(input.now);
        const local = DateTime.fromJSDate(now).setZone(input.zone);
        const contactRules: ContactRules = {
          caps: { smsPerDay: input.smsPerDay, contactsPer7Days: input.contactsPer7Days },
          quietDates: input.quietDayOffsets.map((d) => local.plus({ days: d }).toISODate() ?? ""),
          quietWeekdays: input.quietWeekdays,
          fallback: input.fallback,
          capsPer: "loan",
        };
        const policy: Policy = {
          ...DEFAULT_POLICY,
          steps: DEFAULT_POLICY.steps.map((s) => ({ ...s, channels: input.channels })),
          contactRules,
        };
        // pre_due_7 fell due yesterday at 10:00 local: a step is always due.
        const dueDate = local.plus({ days: 6 }).toISODate() ?? "";
        const recentContacts = input.recent.map((r) => ({
          at: new Date(input.now - r.ago).toISOString(),
          channel: r.channel,
        }));
        const loanCase: LoanCase = {
          ...newCase(
            { borrower: borrower({ timeZone: input.zone }), dueDate },
            new Date(input.now - 20 * 24 * HOUR).toISOString(),
            policy,
          ),
          optedOut: input.optedOut,
          recentContacts,
        };
        const decision = decide(loanCase, policy, now);
        if (decision.kind === "defer") {
          expect(Date.parse(decision.until)).toBeGreaterThan(input.now);
          return;
        }
        if (decision.kind === "skip") {
          // Only when no channel of the step (or its fallback) can reach the borrower.
          expect(decision.reason).toBe("no_reachable_channel");
          const reachable = CHANNELS.filter(
            (c) =>
              !input.optedOut.includes(c) &&
              (c === "sms" ? loanCase.borrower.phone : loanCase.borrower.email),
          );
          const usable = contactRules.fallback
            ? reachable
            : reachable.filter((c) => decision.step.channels.includes(c));
          expect(usable).toEqual([]);
          return;
        }
        const sent = expectSend(decision);
        expect(isInsideWindow(now, input.zone, policy.contactWindow)).toBe(true);
        expect(isQuietDay(now, input.zone, contactRules)).toBe(false);
        const today = local.toISODate();
        const smsToday = recentContacts.filter(
          (c) => c.channel === "sms" && DateTime.fromISO(c.at).setZone(input.zone).toISODate() === today,
        ).length;
        const inWeek = recentContacts.filter((c) => input.now - Date.parse(c.at) < CAP_WINDOW_MS).length;
        // Sending nothing adds no contact; anything sent stays within both caps.
        const sms = sent.channels.filter((c) => c === "sms").length;
        if (sms > 0) expect(smsToday + sms).toBeLessThanOrEqual(input.smsPerDay);
        if (sent.channels.length > 0)
          expect(inWeek + sent.channels.length).toBeLessThanOrEqual(input.contactsPer7Days);
        expect(sent.channels.every((c) => !input.optedOut.includes(c))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
