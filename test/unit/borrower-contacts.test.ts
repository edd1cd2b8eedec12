import { describe, expect, it } from "vitest";
import {
  type BorrowerContact,
  borrowerIdentity,
  borrowerRef,
  contactsForCaps,
  withReservations,
} from "../../functions/domain/borrower-contacts.ts";
import { nextAllowedInstant } from "../../functions/domain/contact-window.ts";
import { DEFAULT_POLICY } from "../../functions/domain/policy.ts";
import { decideStep } from "../../functions/domain/step-lifecycle.ts";
import { newCase } from "./fixtures.ts";

const contact = (overrides: Partial<BorrowerContact> = {}): BorrowerContact => ({
  at: "2026-01-12T02:00:00Z",
  channel: "sms",
  loanId: "loan-b",
  step: "pre_due_3",
  plannedAt: "2026-01-12T02:00:00Z",
  ...overrides,
});

describe("borrower identity", () => {
  it("is the phone when the loan has one, else the lowercased email, else none", () => {
    expect(borrowerIdentity({ phone: "+8613800138000", email: "Li.Wei@Example.com" })).toBe(
      "phone:+8613800138000",
    );
    expect(borrowerIdentity({ email: " Li.Wei@Example.COM " })).toBe("email:li.wei@example.com");
    expect(borrowerIdentity({})).toBeNull();
  });

  it("is stored as a tenant-scoped SHA-256: no PII, same borrower same key, other tenant other key", () => {
    const ref = borrowerRef("t1", { phone: "+8613800138000", email: "a@example.com" });
    expect(ref).toMatch(/^[0-9a-f]{64}$/);
    expect(borrowerRef("t1", { phone: "+8613800138000", email: "other@example.com" })).toBe(ref);
    expect(borrowerRef("t2", { phone: "+8613800138000" })).not.toBe(ref);
    expect(borrowerRef("t1", { email: "A@Example.com" })).toBe(borrowerRef("t1", { email: "a@example.com" }));
    // The documented limit: a loan with only the email of a borrower known elsewhere by phone counts apart.
    expect(borrowerRef("t1", { email: "a@example.com" })).not.toBe(ref);
    expect(borrowerRef("t1", {})).toBeNull();
  });
});

describe("contacts the caps count", () => {
  const now = new Date("2026-01-14T02:00:00Z");

  it("are the case's own plus the other loans' from the borrower record, each message once", () => {
    const own = [{ at: "2026-01-12T02:00:00Z", channel: "sms" as const }];
    const record = [
      // This loan's own reservation of the message the case already holds: not counted twice.
      contact({ loanId: "loan-a" }),
      contact({ loanId: "loan-b", at: "2026-01-13T02:00:00Z", step: "pre_due_1", channel: "email" }),
      // Past any cap's look-back.
      contact({ loanId: "loan-b", at: "2026-01-05T02:00:00Z", step: "pre_due_7", channel: "email" }),
    ];
    expect(contactsForCaps("loan-a", own, record, now)).toEqual([
      { at: "2026-01-12T02:00:00Z", channel: "sms" },
      { at: "2026-01-13T02:00:00Z", channel: "email" },
    ]);
  });

  it("let another loan's SMS today hold back this loan's SMS while its email still goes", () => {
    const loanCase = newCase();
    const at = new Date("2026-01-14T02:00:00Z"); // pre_due_1 (sms + email), 10:00 Shanghai
    const recent = contactsForCaps(
      loanCase.loanId,
      [],
      [contact({ at: "2026-01-14T01:00:00Z", step: "pre_due_1" })],
      at,
    );
    const decision = decideStep(
      loanCase,
      DEFAULT_POLICY,
      at,
      (t) => nextAllowedInstant(t, loanCase.borrower.timeZone, DEFAULT_POLICY.contactWindow),
      recent,
    );
    expect(decision).toMatchObject({
      kind: "send",
      channels: ["email"],
      suppressed: [{ channel: "sms", rule: "sms_daily_cap" }],
    });
  });
});

describe("reservations", () => {
  const now = new Date("2026-01-14T02:00:00Z");
  const step = { loanId: "loan-a", step: "pre_due_1", plannedAt: "2026-01-14T02:00:00Z" };

  it("add the channels about to be sent and forget contacts past the look-back", () => {
    const old = contact({ at: "2026-01-05T02:00:00Z" });
    const kept = contact();
    expect(withReservations([old, kept], { ...step, channels: ["sms", "email"] }, now)).toEqual([
      kept,
      { at: "2026-01-14T02:00:00Z", channel: "sms", ...step },
      { at: "2026-01-14T02:00:00Z", channel: "email", ...step },
    ]);
  });

  it("are idempotent per loan, step and channel: a retried send counts once", () => {
    const first = withReservations([], { ...step, channels: ["sms"] }, now) ?? [];
    const later = new Date("2026-01-14T02:00:05Z");
    expect(withReservations(first, { ...step, channels: ["sms"] }, later)).toBeNull();
    expect(withReservations(first, { ...step, channels: ["sms", "email"] }, later)).toEqual([
      ...first,
      { at: "2026-01-14T02:00:05Z", channel: "email", ...step },
    ]);
  });

  it("count a step planned again for a new due date as a new contact", () => {
    const first = withReservations([], { ...step, channels: ["sms"] }, now) ?? [];
    const replanned = { ...step, plannedAt: "2026-01-16T02:00:00Z", channels: ["sms" as const] };
    expect(withReservations(first, replanned, new Date("2026-01-16T02:00:00Z"))).toHaveLength(2);
  });
});
