import { describe, expect, it } from "vitest";
import {
  confirmationDecision,
  confirmationMessage,
  type PendingConfirmation,
} from "../../functions/domain/confirmations.ts";
import { StepInProgressError } from "../../functions/domain/errors.ts";
import type { LoanCase } from "../../functions/domain/loan-case.ts";
import { DEFAULT_POLICY } from "../../functions/domain/policy.ts";
import { settleConfirmation } from "../../functions/usecases/confirmations.ts";
import { nextAction } from "../../functions/usecases/step-wakes.ts";
import { newCase } from "./fixtures.ts";

// 10:00 and 22:00 in Shanghai, where the fixture's borrower lives; the default window is 08:00–21:00.
const MORNING = new Date("2026-01-08T02:00:00Z");
const NIGHT = new Date("2026-01-08T14:00:00Z");

const pending: PendingConfirmation = {
  action: "promise",
  linkId: "0123456789abcdef",
  channels: ["sms", "email"],
  requestedAt: "2026-01-08T02:00:00Z",
  details: { amount: "¥1,250.00", date: "2026年1月20日" },
};

const owed = (loanCase: LoanCase = newCase()): LoanCase => ({ ...loanCase, confirmation: pending });

describe("a borrower's confirmation", () => {
  it("goes on the first of the link's channels still open, inside the contact window", () => {
    const loanCase = owed();
    expect(confirmationDecision(loanCase, DEFAULT_POLICY, pending, MORNING)).toEqual({
      kind: "send",
      channel: "sms",
      to: loanCase.borrower.phone,
    });
    const noSms = { ...loanCase, optedOut: ["sms" as const] };
    expect(confirmationDecision(noSms, DEFAULT_POLICY, pending, MORNING)).toMatchObject({ channel: "email" });
  });

  it("waits for the window to open, and a promise's hold does not stop it", () => {
    const onPromise: LoanCase = {
      ...owed(),
      status: "on_hold",
      hold: { reason: "promise", until: "2026-01-20", since: "2026-01-08T14:00:00Z" },
    };
    // 08:00 Shanghai the next morning.
    expect(confirmationDecision(onPromise, DEFAULT_POLICY, pending, NIGHT)).toEqual({
      kind: "wait",
      until: "2026-01-09T00:00:00.000Z",
    });
  });

  it("is withheld during a dispute or once contact ended, and on channels opted out or missing", () => {
    const loanCase = owed();
    const disputed: LoanCase = { ...loanCase, status: "on_hold", hold: { reason: "dispute", since: "x" } };
    const ceased: LoanCase = { ...loanCase, status: "legal", contactEnded: "cease_contact" };
    const optedOut = { ...loanCase, optedOut: ["sms" as const, "email" as const] };
    const noAddress = { ...loanCase, borrower: { ...loanCase.borrower, phone: undefined, email: undefined } };
    const rule = (c: LoanCase) => confirmationDecision(c, DEFAULT_POLICY, pending, MORNING);
    expect(rule(disputed)).toEqual({ kind: "withheld", rule: "contact_hold" });
    expect(rule(ceased)).toEqual({ kind: "withheld", rule: "contact_hold" });
    expect(rule(optedOut)).toEqual({ kind: "withheld", rule: "channel_opted_out" });
    expect(rule(noAddress)).toEqual({ kind: "withheld", rule: "no_reachable_channel" });
  });

  it("comes before the plan's next step, through the send task of the case's stage", () => {
    const loanCase = owed();
    expect(nextAction({ loanCase, policy: DEFAULT_POLICY }, NIGHT)).toEqual({
      phase: "pre_due",
      at: "2026-01-09T00:00:00.000Z",
      step: "confirmation",
    });
    // Once claimed it is the claim's to settle: the plan goes on.
    const claimed = { ...loanCase, confirmation: { ...pending, claimedAt: "2026-01-08T02:00:00Z" } };
    expect(nextAction({ loanCase: claimed, policy: DEFAULT_POLICY }, NIGHT)).toMatchObject({
      step: "pre_due_7",
    });
  });

  it("says what was done in the borrower's language, with the opt-out notice of every message", () => {
    const zhSms = confirmationMessage(pending, "zh-CN", "sms");
    expect(zhSms).toEqual({
      body: "谢谢。已收到您的还款承诺：2026年1月20日前还款¥1,250.00，此前不再提醒。 回复TD退订",
    });
    const optOut = { action: "opt_out" as const, details: { channel: "text messages" } };
    const enEmail = confirmationMessage(optOut, "en-US", "email");
    expect(enEmail.subject).toBe("You opted out");
    expect(enEmail.body).toMatch(/^You will no longer get text messages from us about this loan\.\n\n/);
    const noTime = confirmationMessage({ action: "contact_time", details: { time: "" } }, "en-US", "sms");
    expect(noTime.body).toMatch(/^We will contact you at our usual times again\./);
  });
});

describe("a confirmation claimed by a run that stopped", () => {
  const deps = (instanceId: string) => ({
    cases: { update: async (_stored: LoanCase, change: { next: LoanCase }) => change.next },
    clock: { now: () => MORNING },
    runtime: { instanceId, exclusive: true, realNow: () => 0 },
  });
  const claimed: LoanCase = {
    ...owed(),
    confirmation: {
      ...pending,
      claimedAt: "2026-01-08T02:00:00Z",
      channel: "sms",
      claimant: { owner: "run-1", leaseUntil: 150_000 },
    },
  };

  it("is never sent again: its outcome is unknown, and it counts as a contact", async () => {
    const settled = await settleConfirmation(
      deps("run-2") as never,
      { loanCase: claimed, policy: DEFAULT_POLICY },
      "interrupted",
    );
    expect(settled.loanCase.confirmation).toBeNull();
    expect(settled.loanCase.recentContacts).toEqual([{ at: "2026-01-08T02:00:00Z", channel: "sms" }]);
  });

  it("is left to its sender while that sender may still be running", async () => {
    const attempt = settleConfirmation(
      deps("run-1") as never,
      { loanCase: claimed, policy: DEFAULT_POLICY },
      "x",
    );
    await expect(attempt).rejects.toBeInstanceOf(StepInProgressError);
  });
});
