import { describe, expect, it } from "vitest";
import { appendToChain, EMPTY_CHAIN, verifyChain } from "../../functions/domain/audit-chain.ts";
import { recordPayment } from "../../functions/domain/case-payment.ts";
import { nextAllowedInstant } from "../../functions/domain/contact-window.ts";
import { BusinessRuleError, CaseStateConflictError, DomainError } from "../../functions/domain/errors.ts";
import {
  type LoanCase,
  planFor,
  stageOf,
  subscribe,
  WORKFLOW_ACTOR,
} from "../../functions/domain/loan-case.ts";
import { money } from "../../functions/domain/money.ts";
import { DEFAULT_POLICY, findStep, type PolicyStep } from "../../functions/domain/policy.ts";
import {
  claimStep,
  completeStep,
  decideStep,
  deferStep,
  handOff,
  reachableChannels,
  releaseChannels,
  type StepDecision,
} from "../../functions/domain/step-lifecycle.ts";
import { ACTOR, borrower, newCase, subscription, TENANT, wallClock } from "./fixtures.ts";

const SUBSCRIBED_AT = new Date("2026-01-05T00:00:00Z");
const NOW = new Date("2026-01-06T03:00:00Z");
const opening = (zone: string) => (at: Date) => nextAllowedInstant(at, zone, DEFAULT_POLICY.contactWindow);
const shanghaiOpening = opening("Asia/Shanghai");

function step(id: string): PolicyStep {
  const found = findStep(DEFAULT_POLICY, id);
  if (!found) throw new Error(`no step ${id}`);
  return found;
}

function decide(loanCase: LoanCase, now: string): StepDecision {
  return decideStep(loanCase, DEFAULT_POLICY, new Date(now), opening(loanCase.borrower.timeZone));
}

function expectSend(decision: StepDecision): Extract<StepDecision, { kind: "send" }> {
  if (decision.kind !== "send") throw new Error(`expected send, got ${JSON.stringify(decision)}`);
  return decision;
}

function domainError(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error("expected a DomainError");
}

describe("subscribe", () => {
  it("creates an active case whose balance is the amount due, with its cursor at the subscription instant", () => {
    const { next, events } = subscribe(
      TENANT,
      subscription(),
      DEFAULT_POLICY,
      "sub-hash",
      ACTOR,
      SUBSCRIBED_AT,
    );
    expect(next).toMatchObject({
      tenantId: TENANT,
      loanId: "loan-1",
      status: "active",
      amountDue: { amount: "1000.00", currency: "CNY" },
      balance: { amount: "1000.00", currency: "CNY" },
      dueDate: "2026-01-15",
      policy: { id: "default", version: 1 },
      generation: 1,
      version: 0,
      cursorAt: "2026-01-05T00:00:00Z",
      lastStep: null,
      inFlight: null,
      subscriptionHash: "sub-hash",
      createdAt: "2026-01-05T00:00:00Z",
      updatedAt: "2026-01-05T00:00:00Z",
    });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: "loan_subscribed",
      actor: ACTOR,
      data: {
        amountDue: { amount: "1000.00", currency: "CNY" },
        dueDate: "2026-01-15",
        policy: { id: "default", version: 1 },
        locale: "zh-CN",
        timeZone: "Asia/Shanghai",
        channels: { email: true, sms: true },
      },
    });
  });

  it("records which channels can reach the borrower", () => {
    const { events } = subscribe(
      TENANT,
      subscription({ borrower: borrower({ email: undefined }) }),
      DEFAULT_POLICY,
      "h",
      ACTOR,
      SUBSCRIBED_AT,
    );
    expect(events[0]?.data.channels).toEqual({ email: false, sms: true });
  });

  it("writes instants with whole seconds in UTC", () => {
    const loanCase = newCase({}, "2026-01-05T08:00:00.750+08:00");
    expect(loanCase.cursorAt).toBe("2026-01-05T00:00:00Z");
  });

  it("starts the case's audit head at EMPTY_CHAIN, so its events chain from the genesis hash", () => {
    const { next, events } = subscribe(TENANT, subscription(), DEFAULT_POLICY, "h", ACTOR, SUBSCRIBED_AT);
    const { entries } = appendToChain(
      { tenantId: TENANT, loanId: "loan-1" },
      next.audit,
      events,
      next.createdAt,
    );
    expect(verifyChain({ tenantId: TENANT, loanId: "loan-1" }, entries)).toMatchObject({ valid: true });
    expect(next.audit).toEqual(EMPTY_CHAIN);
  });
});

describe("recordPayment", () => {
  it("keeps a partially paid case active with the exact new balance", () => {
    const { next, events } = recordPayment(
      newCase(),
      money("333.33", "CNY"),
      "2026-01-06T01:00:00Z",
      ACTOR,
      NOW,
    );
    expect(next.status).toBe("active");
    expect(next.balance).toEqual({ amount: "666.67", currency: "CNY" });
    expect(next.amountDue).toEqual({ amount: "1000.00", currency: "CNY" });
    expect(next.updatedAt).toBe("2026-01-06T03:00:00Z");
    expect(events).toEqual([
      {
        type: "payment_received",
        actor: ACTOR,
        data: {
          amount: { amount: "333.33", currency: "CNY" },
          occurredAt: "2026-01-06T01:00:00Z",
          allocation: {
            fees: { amount: "0.00", currency: "CNY" },
            interest: { amount: "0.00", currency: "CNY" },
            principal: { amount: "333.33", currency: "CNY" },
          },
          balance: { amount: "666.67", currency: "CNY" },
          breakdown: {
            principal: { amount: "666.67", currency: "CNY" },
            fees: { amount: "0.00", currency: "CNY" },
            interest: { amount: "0.00", currency: "CNY" },
          },
          paidInFull: false,
          afterContact: false,
          status: "active",
        },
      },
    ]);
  });

  it("adds up several partial payments exactly (0.10 + 0.20 + 999.70)", () => {
    let loanCase = newCase();
    for (const amount of ["0.10", "0.20", "999.70"]) {
      loanCase = recordPayment(loanCase, money(amount, "CNY"), "2026-01-06T01:00:00Z", ACTOR, NOW).next;
    }
    expect(loanCase.balance.amount).toBe("0.00");
    expect(loanCase.status).toBe("paid");
  });

  it("marks the case paid when the payment covers the balance", () => {
    const { next, events } = recordPayment(
      newCase(),
      money("1000", "CNY"),
      "2026-01-06T01:00:00Z",
      ACTOR,
      NOW,
    );
    expect(next.status).toBe("paid");
    expect(next.balance).toEqual({ amount: "0.00", currency: "CNY" });
    expect(events[0]?.data).toMatchObject({ paidInFull: true, status: "paid" });
  });

  it("accepts a payment on a case on hold", () => {
    const held: LoanCase = { ...newCase(), status: "on_hold" };
    const { next } = recordPayment(held, money("10.00", "CNY"), "2026-01-06T01:00:00Z", ACTOR, NOW);
    expect(next).toMatchObject({ status: "on_hold", balance: { amount: "990.00" } });
  });

  it("refuses an overpayment with PAYMENT_EXCEEDS_BALANCE", () => {
    const error = domainError(() =>
      recordPayment(newCase(), money("1000.01", "CNY"), "2026-01-06T01:00:00Z", ACTOR, NOW),
    );
    expect(error).toBeInstanceOf(BusinessRuleError);
    expect(error.code).toBe("PAYMENT_EXCEEDS_BALANCE");
    expect(error.details).toEqual([{ path: "amount.amount", message: "must be at most 1000.00" }]);
  });

  it("refuses a payment in another currency with CURRENCY_MISMATCH", () => {
    const error = domainError(() =>
      recordPayment(newCase(), money("10.00", "USD"), "2026-01-06T01:00:00Z", ACTOR, NOW),
    );
    expect(error).toBeInstanceOf(BusinessRuleError);
    expect(error.code).toBe("CURRENCY_MISMATCH");
    expect(error.details[0]?.path).toBe("amount.currency");
  });

  it.each(["paid", "settled", "closed"] as const)(
    "refuses a payment on a %s case with CaseStateConflictError",
    (status) => {
      const loanCase: LoanCase = { ...newCase(), status };
      const error = domainError(() =>
        recordPayment(loanCase, money("1.00", "CNY"), "2026-01-06T01:00:00Z", ACTOR, NOW),
      );
      expect(error).toBeInstanceOf(CaseStateConflictError);
      expect(error.code).toBe("CASE_STATE_CONFLICT");
      expect(error.name).toBe("CaseStateConflictError");
    },
  );

  it("refuses a second payment once the first paid the case", () => {
    const paid = recordPayment(newCase(), money("1000.00", "CNY"), "2026-01-06T01:00:00Z", ACTOR, NOW).next;
    expect(() => recordPayment(paid, money("0.01", "CNY"), "2026-01-06T02:00:00Z", ACTOR, NOW)).toThrow(
      CaseStateConflictError,
    );
  });

  it("refuses a negative or zero payment", () => {
    for (const amount of ["-100.00", "0.00"]) {
      expect(() =>
        recordPayment(newCase(), money(amount, "CNY"), "2026-01-06T01:00:00Z", ACTOR, NOW),
      ).toThrow(expect.objectContaining({ code: "INVALID_AMOUNT" }));
    }
  });
});

describe("stageOf", () => {
  const loanCase = newCase();

  it("is pre_due before the due date and through the whole due date in the borrower's zone", () => {
    expect(stageOf(loanCase, new Date("2026-01-10T00:00:00Z"))).toBe("pre_due");
    // 2026-01-15 23:59:59 in Shanghai.
    expect(stageOf(loanCase, new Date("2026-01-15T15:59:59Z"))).toBe("pre_due");
  });

  it("is soft_collection from local midnight after the due date", () => {
    expect(stageOf(loanCase, new Date("2026-01-15T16:00:00Z"))).toBe("soft_collection");
    expect(stageOf(loanCase, new Date("2026-03-01T00:00:00Z"))).toBe("soft_collection");
  });

  it("follows the days past due for a case on hold", () => {
    expect(stageOf({ ...loanCase, status: "on_hold" }, new Date("2026-01-20T00:00:00Z"))).toBe(
      "soft_collection",
    );
  });

  it("is legal after the hand-off and done once paid, settled or closed", () => {
    const now = new Date("2026-01-10T00:00:00Z");
    expect(stageOf({ ...loanCase, status: "legal" }, now)).toBe("legal");
    expect(stageOf({ ...loanCase, status: "paid" }, now)).toBe("done");
    expect(stageOf({ ...loanCase, status: "settled" }, now)).toBe("done");
    expect(stageOf({ ...loanCase, status: "closed" }, now)).toBe("done");
  });
});

describe("planFor", () => {
  it("plans only for active cases", () => {
    expect(planFor(newCase(), DEFAULT_POLICY, NOW)).toMatchObject({
      kind: "step",
      plannedAt: "2026-01-08T02:00:00Z",
    });
    expect(planFor({ ...newCase(), status: "on_hold" }, DEFAULT_POLICY, NOW)).toBeNull();
    expect(planFor({ ...newCase(), status: "paid" }, DEFAULT_POLICY, NOW)).toBeNull();
  });
});

describe("reachableChannels", () => {
  it("keeps only the channels the borrower has contact data for", () => {
    const both = step("pre_due_1");
    expect(reachableChannels({ borrower: borrower(), optedOut: [] }, both)).toEqual(["sms", "email"]);
    expect(reachableChannels({ borrower: borrower({ email: undefined }), optedOut: [] }, both)).toEqual([
      "sms",
    ]);
    expect(reachableChannels({ borrower: borrower({ phone: undefined }), optedOut: [] }, both)).toEqual([
      "email",
    ]);
    expect(reachableChannels({ borrower: borrower({ phone: "", email: "" }), optedOut: [] }, both)).toEqual(
      [],
    );
    expect(reachableChannels({ borrower: borrower(), optedOut: ["sms"] }, both)).toEqual(["email"]);
  });
});

describe("decideStep", () => {
  it("waits when the next step is not yet due", () => {
    const decision = decide(newCase(), "2026-01-08T01:59:59Z");
    expect(decision.kind).toBe("wait");
    expect(decision.kind === "wait" && decision.action).toMatchObject({
      kind: "step",
      plannedAt: "2026-01-08T02:00:00Z",
    });
  });

  it("sends when the step is due and the borrower's clock is inside the window", () => {
    const decision = expectSend(decide(newCase(), "2026-01-08T02:00:00Z"));
    expect(decision.step.id).toBe("pre_due_7");
    expect(decision.plannedAt).toBe("2026-01-08T02:00:00Z");
    expect(decision.channels).toEqual(["email"]);
    expect(decision.superseded).toEqual([]);
  });

  it("sends only by SMS to a borrower without an email address", () => {
    const loanCase = newCase({ borrower: borrower({ email: undefined }) }, "2026-01-13T00:00:00Z");
    const decision = expectSend(decide(loanCase, "2026-01-14T02:00:00Z"));
    expect(decision.step.id).toBe("pre_due_1");
    expect(decision.channels).toEqual(["sms"]);
  });

  it("defers a due step outside the window until 08:00 local the next day", () => {
    // 2026-01-08T14:30Z is 22:30 in Shanghai; pre_due_7 (10:00) is due.
    const decision = decide(newCase(), "2026-01-08T14:30:00Z");
    expect(decision).toEqual({
      kind: "defer",
      step: step("pre_due_7"),
      plannedAt: "2026-01-08T02:00:00Z",
      until: "2026-01-09T00:00:00Z",
      rule: "contact_window",
    });
    expect(wallClock(decision.kind === "defer" ? decision.until : "", "Asia/Shanghai").local).toBe(
      "2026-01-09 08:00",
    );
  });

  it("defers a due step at 06:00 local until 08:00 the same day", () => {
    // 2026-01-08T22:00Z is 06:00 on 01-09 in Shanghai.
    const decision = decide(newCase(), "2026-01-08T22:00:00Z");
    expect(decision).toMatchObject({ kind: "defer", until: "2026-01-09T00:00:00Z" });
  });

  it("defers in the borrower's zone, not the server's (New York borrower at 21:30 EST)", () => {
    const loanCase = newCase(
      {
        borrower: borrower({ locale: "en-US", timeZone: "America/New_York" }),
        amountDue: money("500.00", "USD"),
      },
      "2026-01-05T00:00:00Z",
    );
    // pre_due_7 at 2026-01-08 10:00 EST = 15:00Z; now 2026-01-09T02:30Z = 01-08 21:30 EST.
    expect(decide(loanCase, "2026-01-09T02:30:00Z")).toMatchObject({
      kind: "defer",
      plannedAt: "2026-01-08T15:00:00Z",
      until: "2026-01-09T13:00:00Z",
    });
  });

  it("hands off once the last step is history and the hand-off instant has come", () => {
    const afterLast: LoanCase = {
      ...newCase(),
      cursorAt: "2026-02-05T02:00:00Z",
      lastStep: "final_notice_21",
      firstContactAt: "2026-01-08T02:00:00Z",
    };
    expect(decide(afterLast, "2026-02-14T02:00:00Z")).toEqual({
      kind: "hand_off",
      plannedAt: "2026-02-14T02:00:00Z",
    });
    expect(decide(afterLast, "2026-02-10T00:00:00Z")).toEqual({
      kind: "wait",
      action: { kind: "hand_off", plannedAt: "2026-02-14T02:00:00Z" },
    });
  });

  it("hands off outside the contact window too (it is not a contact)", () => {
    const afterLast: LoanCase = { ...newCase(), cursorAt: "2026-02-05T02:00:00Z" };
    // 2026-02-14T15:00Z = 23:00 in Shanghai.
    expect(decide(afterLast, "2026-02-14T15:00:00Z")).toMatchObject({ kind: "hand_off" });
  });

  it("throws CaseStateConflictError for a case that is not collectable", () => {
    expect(() => decide({ ...newCase(), status: "paid" }, "2026-01-08T02:00:00Z")).toThrow(
      CaseStateConflictError,
    );
  });
});

describe("claimStep / completeStep", () => {
  it("claims a step: inFlight set and a step_started event", () => {
    const loanCase = newCase();
    const decision = expectSend(decide(loanCase, "2026-01-08T02:00:00Z"));
    const { next, events } = claimStep(loanCase, decision, new Date("2026-01-08T02:00:05Z"));
    expect(next.inFlight).toEqual({
      step: "pre_due_7",
      plannedAt: "2026-01-08T02:00:00Z",
      channels: ["email"],
      claimedAt: "2026-01-08T02:00:05Z",
      retryable: false,
    });
    expect(next.cursorAt).toBe(loanCase.cursorAt);
    expect(events).toEqual([
      {
        type: "step_started",
        actor: WORKFLOW_ACTOR,
        data: {
          step: "pre_due_7",
          stage: "pre_due",
          plannedAt: "2026-01-08T02:00:00Z",
          channels: ["email"],
          unreachable: [],
          policy: { id: "default", version: 1 },
        },
      },
    ]);
  });

  it("records step_skipped for each superseded step before step_started, and unreachable channels", () => {
    const loanCase = newCase({ borrower: borrower({ email: undefined }) });
    // Runtime down until 2026-01-14 12:00 Shanghai: pre_due_7 and pre_due_3 are superseded by pre_due_1.
    const decision = expectSend(decide(loanCase, "2026-01-14T04:00:00Z"));
    const { events } = claimStep(loanCase, decision, new Date("2026-01-14T04:00:00Z"));
    expect(events.map((e) => [e.type, e.data.step])).toEqual([
      ["step_skipped", "pre_due_7"],
      ["step_skipped", "pre_due_3"],
      ["step_started", "pre_due_1"],
    ]);
    expect(events[0]?.data).toEqual({
      step: "pre_due_7",
      reason: "superseded_by_later_due_step",
      by: "pre_due_1",
    });
    expect(events[2]?.data).toMatchObject({ channels: ["sms"], unreachable: ["email"] });
  });

  it("completeStep moves the cursor to the step's plannedAt (not to now) and clears inFlight", () => {
    const loanCase = newCase();
    const decision = expectSend(decide(loanCase, "2026-01-14T04:00:00Z"));
    const claimed = claimStep(loanCase, decision, new Date("2026-01-14T04:00:00Z")).next;
    const sent = [{ type: "message_sent", actor: WORKFLOW_ACTOR, data: { channel: "sms" } }];
    const { next, events } = completeStep(claimed, sent, new Date("2026-01-14T04:00:10Z"));
    expect(next).toMatchObject({
      inFlight: null,
      cursorAt: "2026-01-14T02:00:00Z",
      lastStep: "pre_due_1",
      updatedAt: "2026-01-14T04:00:10Z",
    });
    expect(events).toBe(sent);
    // The superseded steps are now history; the next step is the due-day one.
    expect(planFor(next, DEFAULT_POLICY, new Date("2026-01-14T04:00:10Z"))).toMatchObject({
      kind: "step",
      step: { id: "due_day" },
      plannedAt: "2026-01-15T02:00:00Z",
      superseded: [],
    });
  });

  it("completeStep without a step in flight throws CaseStateConflictError", () => {
    expect(() => completeStep(newCase(), [], NOW)).toThrow(CaseStateConflictError);
  });

  it("releaseChannels keeps the step open with the remaining channels, marked retryable", () => {
    const loanCase = newCase({}, "2026-01-13T00:00:00Z");
    const decision = expectSend(decide(loanCase, "2026-01-14T02:00:00Z"));
    const claimed = claimStep(loanCase, decision, new Date("2026-01-14T02:00:00Z")).next;
    const { next } = releaseChannels(claimed, ["email"], [], new Date("2026-01-14T02:01:00Z"));
    expect(next.inFlight).toMatchObject({ step: "pre_due_1", channels: ["email"], retryable: true });
    expect(next.cursorAt).toBe(loanCase.cursorAt);
    expect(() => releaseChannels(newCase(), [], [], NOW)).toThrow(CaseStateConflictError);
  });

  it("a case driven by decide/claim/complete sends every step once, in order, then hands off", () => {
    let loanCase = newCase();
    const sent: string[] = [];
    let now = SUBSCRIBED_AT;
    for (let i = 0; i < 30; i++) {
      const decision = decideStep(loanCase, DEFAULT_POLICY, now, shanghaiOpening);
      if (decision.kind === "hand_off") {
        loanCase = handOff(loanCase, decision.plannedAt, now).next;
        break;
      }
      if (decision.kind === "wait") {
        now = new Date(decision.action.plannedAt);
        continue;
      }
      const send = expectSend(decision);
      sent.push(send.step.id);
      loanCase = claimStep(loanCase, send, now).next;
      loanCase = completeStep(loanCase, [], now).next;
    }
    expect(sent).toEqual(DEFAULT_POLICY.steps.map((s) => s.id));
    expect(loanCase).toMatchObject({
      status: "legal",
      lastStep: "hand_off",
      cursorAt: "2026-02-14T02:00:00Z",
    });
    expect(stageOf(loanCase, now)).toBe("legal");
  });
});

describe("deferStep / handOff", () => {
  it("deferStep records the rule and the new instant without moving the cursor", () => {
    const loanCase = newCase();
    const decision = decide(loanCase, "2026-01-08T14:30:00Z");
    if (decision.kind !== "defer") throw new Error("expected defer");
    const { next, events } = deferStep(loanCase, decision, new Date("2026-01-08T14:30:00Z"));
    expect(next.cursorAt).toBe(loanCase.cursorAt);
    expect(next.inFlight).toBeNull();
    expect(events).toEqual([
      {
        type: "step_deferred",
        actor: WORKFLOW_ACTOR,
        data: { step: "pre_due_7", rule: "contact_window", until: "2026-01-09T00:00:00Z" },
      },
    ]);
  });

  it("handOff moves the case to legal with the balance and days past due", () => {
    const loanCase = recordPayment(
      newCase(),
      money("400.00", "CNY"),
      "2026-01-20T00:00:00Z",
      ACTOR,
      NOW,
    ).next;
    const { next, events } = handOff(loanCase, "2026-02-14T02:00:00Z", new Date("2026-02-14T02:00:00Z"));
    expect(next).toMatchObject({ status: "legal", cursorAt: "2026-02-14T02:00:00Z", lastStep: "hand_off" });
    expect(events).toEqual([
      {
        type: "handed_off",
        actor: WORKFLOW_ACTOR,
        data: {
          to: "legal",
          plannedAt: "2026-02-14T02:00:00Z",
          balance: { amount: "600.00", currency: "CNY" },
          daysPastDue: 30,
        },
      },
    ]);
  });
});
