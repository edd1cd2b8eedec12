import type { SNSEvent } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { decodeLoanTag, encodeLoanTag } from "../../functions/adapters/senders/ses-sender.ts";
import { makeDeliveryHandler } from "../../functions/delivery/delivery-handler.ts";
import { parseSesNotification } from "../../functions/delivery/ses-events.ts";
import type { AuditEntry } from "../../functions/domain/audit-chain.ts";
import { AlreadyRecordedError } from "../../functions/domain/errors.ts";
import type { CaseChange, LoanCase } from "../../functions/domain/loan-case.ts";
import type { CaseRepository } from "../../functions/ports.ts";
import { newCase } from "./fixtures.ts";

const mail = (tags: Record<string, string[]> = { tenant: ["demo"], loan: ["L-1001"] }) => ({
  timestamp: "2026-01-08T02:00:00.000Z",
  messageId: "0100019b-ses-1",
  source: "dunning@lender.example",
  destination: ["li.wei@example.com"],
  tags: { ...tags, step: ["soft_1"], "ses:configuration-set": ["dunning"] },
});

const delivery = {
  eventType: "Delivery",
  mail: mail(),
  delivery: {
    timestamp: "2026-01-08T02:00:03.120Z",
    processingTimeMillis: 3120,
    recipients: ["li.wei@example.com"],
    smtpResponse: "250 2.6.0 ok",
  },
};

describe("SES event notifications", () => {
  it("reads a Delivery: message id, tenant and loan from the tags, the delivery time, no recipient", () => {
    expect(parseSesNotification(JSON.stringify(delivery))).toEqual({
      ok: true,
      report: {
        tenantId: "demo",
        loanId: "L-1001",
        providerMessageId: "0100019b-ses-1",
        channel: "email",
        status: "delivered",
        occurredAt: "2026-01-08T02:00:03.120Z",
      },
    });
  });

  it("reads a Bounce with its bounce type", () => {
    const bounce = {
      eventType: "Bounce",
      mail: mail(),
      bounce: {
        bounceType: "Permanent",
        bounceSubType: "General",
        bouncedRecipients: [{ emailAddress: "li.wei@example.com", diagnosticCode: "550 no such user" }],
        timestamp: "2026-01-08T02:00:05.000Z",
        feedbackId: "f-1",
      },
    };
    const parsed = parseSesNotification(JSON.stringify(bounce));
    expect(parsed).toMatchObject({
      ok: true,
      report: {
        status: "bounced",
        occurredAt: "2026-01-08T02:00:05.000Z",
        detail: { bounceType: "Permanent", bounceSubType: "General" },
      },
    });
    expect(JSON.stringify(parsed)).not.toContain("li.wei");
  });

  it("reads a Complaint and a Reject (identity notifications' notificationType too)", () => {
    const complaint = {
      notificationType: "Complaint",
      mail: mail(),
      complaint: {
        complainedRecipients: [{ emailAddress: "li.wei@example.com" }],
        complaintFeedbackType: "abuse",
        timestamp: "2026-01-09T00:00:00.000Z",
      },
    };
    expect(parseSesNotification(JSON.stringify(complaint))).toMatchObject({
      ok: true,
      report: { status: "complained", detail: { complaintFeedbackType: "abuse" } },
    });
    const reject = { eventType: "Reject", mail: mail(), reject: { reason: "Bad content" } };
    expect(parseSesNotification(JSON.stringify(reject))).toMatchObject({
      ok: true,
      report: {
        status: "rejected",
        occurredAt: "2026-01-08T02:00:00.000Z",
        detail: { reason: "Bad content" },
      },
    });
  });

  it("decodes loan ids with . : and _ from the tag the sender wrote", () => {
    for (const loanId of ["L-1001", "a.b:c_d", "x__y", "9"]) {
      expect(decodeLoanTag(encodeLoanTag(loanId))).toBe(loanId);
      expect(encodeLoanTag(loanId)).toMatch(/^[A-Za-z0-9_-]+$/);
    }
    expect(encodeLoanTag(`A${"_".repeat(127)}`).length).toBeLessThanOrEqual(256);
    const tagged = { ...delivery, mail: mail({ tenant: ["demo"], loan: [encodeLoanTag("L.7:x_1")] }) };
    expect(parseSesNotification(JSON.stringify(tagged))).toMatchObject({ report: { loanId: "L.7:x_1" } });
  });

  it("skips what is not a delivery result or cannot be read, without throwing", () => {
    const skipped = (message: unknown) =>
      parseSesNotification(typeof message === "string" ? message : JSON.stringify(message));
    expect(skipped("not json")).toEqual({ ok: false, reason: "not_json" });
    expect(skipped({ eventType: "Delivery" })).toEqual({ ok: false, reason: "not_an_ses_notification" });
    expect(skipped(null)).toEqual({ ok: false, reason: "not_an_ses_notification" });
    expect(skipped({ ...delivery, eventType: "Open" })).toEqual({ ok: false, reason: "ignored_event_type" });
    expect(skipped({ ...delivery, mail: mail({}) })).toEqual({ ok: false, reason: "missing_tags" });
    expect(skipped({ ...delivery, mail: mail({ tenant: ["demo"], loan: ["bad_x"] }) })).toEqual({
      ok: false,
      reason: "missing_tags",
    });
    expect(skipped({ ...delivery, delivery: { timestamp: "yesterday" } })).toEqual({
      ok: false,
      reason: "bad_timestamp",
    });
  });
});

describe("delivery function", () => {
  function memoryCases(loanCase: LoanCase) {
    const updates: CaseChange[] = [];
    const onceKeys = new Set<string>();
    const cases = {
      get: async (tenantId: string, loanId: string) =>
        tenantId === loanCase.tenantId && loanId === loanCase.loanId ? loanCase : null,
      auditTrail: async () =>
        updates
          .flatMap((u) => u.events)
          .map((e, i) => ({ ...e, seq: i + 1, at: "", prevHash: "", hash: "" })),
      // As the repository does: a change under a once-key already used is refused.
      update: async (_current: LoanCase, change: CaseChange, _at: string, once?: string | string[]) => {
        const keys = once === undefined ? [] : [once].flat();
        const used = keys.filter((key) => onceKeys.has(key));
        if (used.length > 0) throw new AlreadyRecordedError(used.join(", "), used);
        for (const key of keys) onceKeys.add(key);
        updates.push(change);
        return change.next;
      },
    } as Partial<CaseRepository> as CaseRepository;
    return { cases, updates, trail: cases.auditTrail as () => Promise<AuditEntry[]> };
  }

  const snsEvent = (...messages: string[]): SNSEvent =>
    ({
      Records: messages.map((Message, i) => ({ Sns: { MessageId: `sns-${i}`, Message } })),
    }) as unknown as SNSEvent;

  it("records each readable notification once and skips the rest", async () => {
    const loanCase = newCase({ loanId: "L-1001" });
    const { cases, updates } = memoryCases({ ...loanCase, tenantId: "demo" });
    const handler = makeDeliveryHandler({ cases, clock: { now: () => new Date("2026-01-08T03:00:00Z") } });
    const good = JSON.stringify(delivery);
    await handler(snsEvent("{", good, JSON.stringify({ ...delivery, eventType: "Send" }), good), {} as never);
    expect(updates).toHaveLength(1);
    expect(updates[0]?.events).toEqual([
      {
        type: "message_delivery",
        actor: "system:delivery",
        data: {
          providerMessageId: "0100019b-ses-1",
          channel: "email",
          status: "delivered",
          occurredAt: "2026-01-08T02:00:03.120Z",
        },
      },
    ]);
    expect(updates[0]?.next).toEqual({ ...loanCase, tenantId: "demo", updatedAt: "2026-01-08T03:00:00Z" });
  });

  it("records a loan's reports of one batch in one write, each once, a redelivered one left out", async () => {
    const loanCase = newCase({ loanId: "L-1001" });
    const { cases, updates } = memoryCases({ ...loanCase, tenantId: "demo" });
    const handler = makeDeliveryHandler({ cases, clock: { now: () => new Date("2026-01-08T03:00:00Z") } });
    const of = (messageId: string) => JSON.stringify({ ...delivery, mail: { ...mail(), messageId } });
    const ids = (update: CaseChange | undefined) => update?.events.map((e) => e.data.providerMessageId);
    await handler(snsEvent(of("ses-a"), of("ses-b"), of("ses-a")), {} as never);
    expect(updates.map(ids)).toEqual([["ses-a", "ses-b"]]);
    await handler(snsEvent(of("ses-b"), of("ses-c")), {} as never);
    expect(updates.map(ids)).toEqual([["ses-a", "ses-b"], ["ses-c"]]);
  });
});
