import { describe, expect, it } from "vitest";
import {
  type AuditEntry,
  type AuditEvent,
  appendToChain,
  canonicalJson,
  EMPTY_CHAIN,
  entryHash,
  verifyChain,
} from "../../functions/domain/audit-chain.ts";
import { applyEvent, type LoanEvent } from "../../functions/domain/events.ts";
import {
  buildHandoffPackage,
  HANDOFF_PACKAGE_FORMAT,
  packageHashOf,
} from "../../functions/domain/handoff-package.ts";
import { type CaseChange, type LoanCase, WORKFLOW_ACTOR } from "../../functions/domain/loan-case.ts";
import { money } from "../../functions/domain/money.ts";
import { DEFAULT_POLICY } from "../../functions/domain/policy.ts";
import { handOff } from "../../functions/domain/step-lifecycle.ts";
import { escapeHtml, renderHandoffHtml } from "../../functions/formats/handoff-html.ts";
import { ACTOR, borrower, newCase, TENANT } from "./fixtures.ts";

const SCRIPT_NAME = '<script>alert("x")</script> & Co';

/** A case and its chained trail, as the repository would store them. */
class Trail {
  audit: AuditEntry[] = [];
  head = EMPTY_CHAIN;
  constructor(public loanCase: LoanCase) {}

  record(events: AuditEvent[], at: string, next: LoanCase = this.loanCase): void {
    const chain = appendToChain({ tenantId: TENANT, loanId: next.loanId }, this.head, events, at);
    this.audit.push(...chain.entries);
    this.head = chain.head;
    this.loanCase = { ...next, audit: chain.head, version: next.version + 1 };
  }

  apply(change: CaseChange, at: string): void {
    this.record(change.events, at, change.next);
  }

  event(event: LoanEvent, at: string): void {
    const result = applyEvent(this.loanCase, event, ACTOR, new Date(at), DEFAULT_POLICY.charges);
    if ("duplicate" in result) throw new Error("unexpected duplicate");
    this.apply(result, at);
  }
}

function messageSent(
  step: string,
  channel: "sms" | "email",
  sentAt: string,
  sentAtLocal: string,
): AuditEvent {
  return {
    type: "message_sent",
    actor: WORKFLOW_ACTOR,
    data: {
      step,
      stage: step.startsWith("pre_due") ? "pre_due" : "soft_collection",
      channel,
      to: channel === "sms" ? "+861****0000" : "l***@example.com",
      policy: { id: "default", version: 1 },
      template: { id: "reminder", version: 1, locale: "zh-CN" },
      contentSha256: "a".repeat(64),
      balance: money("1000.00", "CNY"),
      sentAt,
      sentAtLocal,
      rulesPassed: ["contact_window", "case_collectable", "claimed_at_version"],
      providerMessageId: `pm-${step}-${channel}`,
    },
  };
}

/** Subscribed, three contacts (one failed), a partial payment, a broken promise, an opt-out, then legal at D+30. */
function handedOffCase(name = SCRIPT_NAME) {
  const trail = new Trail(newCase({ borrower: borrower({ name }) }));
  trail.record(
    [
      {
        type: "loan_subscribed",
        actor: ACTOR,
        data: {
          amountDue: money("1000.00", "CNY"),
          dueDate: "2026-01-15",
          policy: { id: "default", version: 1 },
        },
      },
    ],
    "2026-01-05T00:00:00.000Z",
  );
  trail.record(
    [messageSent("pre_due_7", "email", "2026-01-08T02:00:00.000Z", "2026-01-08T10:00:00.000+08:00")],
    "2026-01-08T02:00:01.000Z",
  );
  trail.record(
    [
      messageSent("pre_due_1", "sms", "2026-01-14T02:00:00.000Z", "2026-01-14T10:00:00.000+08:00"),
      {
        type: "message_failed",
        actor: WORKFLOW_ACTOR,
        data: { step: "pre_due_1", channel: "email", reason: "MessageRejected" },
      },
    ],
    "2026-01-14T02:00:01.000Z",
  );
  trail.event({ type: "payment", amount: money("200.00", "CNY") }, "2026-01-16T03:00:00.000Z");
  trail.event(
    { type: "promise_to_pay", amount: money("300.00", "CNY"), promisedDate: "2026-01-20" },
    "2026-01-17T03:00:00.000Z",
  );
  trail.event({ type: "opt_out", channel: "email" }, "2026-01-18T03:00:00.000Z");
  trail.apply(
    handOff(trail.loanCase, "2026-02-14T02:00:00.000Z", new Date("2026-02-14T02:00:00Z")),
    "2026-02-14T02:00:00.000Z",
  );
  return trail;
}

const NOW = new Date("2026-02-14T02:00:05Z");

describe("the legal hand-off package", () => {
  it("carries the loan, the balance breakdown, the policy, the reason and the hand-off instant", () => {
    const trail = handedOffCase();
    const pkg = buildHandoffPackage({
      loanCase: trail.loanCase,
      policies: [DEFAULT_POLICY],
      audit: trail.audit,
      now: NOW,
    });
    expect(pkg).toMatchObject({
      format: HANDOFF_PACKAGE_FORMAT,
      tenantId: TENANT,
      loanId: "loan-1",
      reason: "policy",
      handedOffAt: "2026-02-14T02:00:00.000Z",
      generatedAt: "2026-02-14T02:00:05Z",
      loan: {
        amountDue: { amount: "1000.00", currency: "CNY" },
        currency: "CNY",
        dueDate: "2026-01-15",
        daysPastDue: 30,
        borrower: { name: SCRIPT_NAME, email: "li.wei@example.com", phone: "+8613800000000" },
      },
      balance: {
        total: { amount: "800.00", currency: "CNY" },
        principal: { amount: "800.00", currency: "CNY" },
        fees: { amount: "0.00", currency: "CNY" },
        interest: { amount: "0.00", currency: "CNY" },
        totalPaid: { amount: "200.00", currency: "CNY" },
      },
      policies: [DEFAULT_POLICY],
    });
    expect(pkg.reasonDetail).toMatch(/D\+30/);
  });

  it("lists every contact with UTC and borrower-local time, channel, masked recipient, versions and hash", () => {
    const trail = handedOffCase();
    const pkg = buildHandoffPackage({
      loanCase: trail.loanCase,
      policies: [DEFAULT_POLICY],
      audit: trail.audit,
      now: NOW,
    });
    const contactEntries = trail.audit.filter((e) => e.type.startsWith("message_"));
    expect(pkg.contacts.map((c) => c.seq)).toEqual(contactEntries.map((e) => e.seq));
    const sent = pkg.contacts.filter((c) => c.result === "sent");
    expect(sent).toHaveLength(2);
    expect(sent[0]).toEqual({
      seq: 2,
      at: "2026-01-08T02:00:01.000Z",
      result: "sent",
      step: "pre_due_7",
      stage: "pre_due",
      channel: "email",
      to: "l***@example.com",
      sentAt: "2026-01-08T02:00:00.000Z",
      sentAtLocal: "2026-01-08T10:00:00.000+08:00",
      template: { id: "reminder", version: 1, locale: "zh-CN" },
      policy: { id: "default", version: 1 },
      contentSha256: "a".repeat(64),
      providerMessageId: "pm-pre_due_7-email",
      rulesPassed: ["contact_window", "case_collectable", "claimed_at_version"],
      reason: null,
    });
    expect(pkg.contacts.find((c) => c.result === "failed")).toMatchObject({
      channel: "email",
      reason: "MessageRejected",
    });
  });

  it("lists every agreement and every event, and leaves out only contacts from the events", () => {
    const trail = handedOffCase();
    const pkg = buildHandoffPackage({
      loanCase: trail.loanCase,
      policies: [DEFAULT_POLICY],
      audit: trail.audit,
      now: NOW,
    });
    expect(pkg.agreements.map((a) => a.type)).toEqual(["promise_to_pay"]);
    expect(pkg.events.map((e) => e.type)).toEqual([
      "loan_subscribed",
      "payment_received",
      "promise_to_pay",
      "opted_out",
      "handed_off",
    ]);
    expect(pkg.audit).toEqual(trail.audit);
  });

  it("names the borrower's own actions on their page by the link they came through", () => {
    const trail = new Trail(newCase());
    const byBorrower = "borrower:0123456789abcdef";
    const promise = applyEvent(
      trail.loanCase,
      { type: "promise_to_pay", amount: money("300.00", "CNY"), promisedDate: "2026-01-20" },
      byBorrower,
      new Date("2026-01-17T03:00:00Z"),
      DEFAULT_POLICY.charges,
    );
    if ("duplicate" in promise) throw new Error("unexpected duplicate");
    trail.apply(promise, "2026-01-17T03:00:00.000Z");
    trail.record(
      [{ type: "plan_requested", actor: byBorrower, data: { linkId: "0123456789abcdef", months: 3 } }],
      "2026-01-17T03:05:00.000Z",
    );
    trail.apply(
      handOff(trail.loanCase, "2026-02-14T02:00:00.000Z", new Date("2026-02-14T02:00:00Z")),
      "2026-02-14T02:00:00.000Z",
    );
    const pkg = buildHandoffPackage({
      loanCase: trail.loanCase,
      policies: [DEFAULT_POLICY],
      audit: trail.audit,
      now: NOW,
    });
    const borrowers = pkg.events.filter((event) => event.actor === byBorrower).map((event) => event.type);
    expect(borrowers).toEqual(["promise_to_pay", "plan_requested"]);
    expect(pkg.agreements).toMatchObject([{ type: "promise_to_pay", actor: byBorrower }]);
    expect(renderHandoffHtml(pkg)).toContain(`<td>${byBorrower}</td>`);
  });

  it("proves the chain: every seq, hash and prevHash, a valid verdict and the head", () => {
    const trail = handedOffCase();
    const pkg = buildHandoffPackage({
      loanCase: trail.loanCase,
      policies: [DEFAULT_POLICY],
      audit: trail.audit,
      now: NOW,
    });
    expect(pkg.chain.entries).toEqual(
      trail.audit.map(({ seq, prevHash, hash }) => ({ seq, prevHash, hash })),
    );
    expect(pkg.chain.verdict).toEqual({ valid: true, head: trail.head });
    expect(pkg.chain.head).toEqual(trail.head);
    // Anyone can re-verify from the package alone.
    expect(verifyChain(pkg.chain.scope, pkg.audit)).toEqual({ valid: true, head: trail.head });
    for (const entry of pkg.audit) {
      const { hash, ...unsealed } = entry;
      expect(entryHash(pkg.chain.scope, unsealed)).toBe(hash);
    }
  });

  it("reports a tampered trail as invalid", () => {
    const trail = handedOffCase();
    const audit = trail.audit.map((e) => (e.seq === 3 ? { ...e, data: { ...e.data, channel: "email" } } : e));
    const pkg = buildHandoffPackage({
      loanCase: trail.loanCase,
      policies: [DEFAULT_POLICY],
      audit,
      now: NOW,
    });
    expect(pkg.chain.verdict).toMatchObject({ valid: false, seq: 3 });
  });

  it("hashes the canonical JSON of everything but the hash", () => {
    const trail = handedOffCase();
    const pkg = buildHandoffPackage({
      loanCase: trail.loanCase,
      policies: [DEFAULT_POLICY],
      audit: trail.audit,
      now: NOW,
    });
    const { packageHash, ...body } = pkg;
    expect(packageHash).toMatch(/^[0-9a-f]{64}$/);
    expect(packageHashOf(body)).toBe(packageHash);
    // A JSON round trip (what the publisher stores) keeps the hash.
    const { packageHash: _, ...reparsed } = JSON.parse(JSON.stringify(pkg));
    expect(packageHashOf(reparsed)).toBe(packageHash);
    expect(canonicalJson(reparsed)).toBe(canonicalJson(body));
  });

  it("names bankruptcy and cease_contact as the reason, at the entry that ended contact", () => {
    for (const type of ["bankruptcy", "cease_contact"] as const) {
      const trail = new Trail(newCase());
      trail.record([{ type: "loan_subscribed", actor: ACTOR, data: {} }], "2026-01-05T00:00:00.000Z");
      trail.event({ type }, "2026-01-20T03:00:00.000Z");
      const pkg = buildHandoffPackage({
        loanCase: trail.loanCase,
        policies: [DEFAULT_POLICY],
        audit: trail.audit,
        now: NOW,
      });
      expect(pkg.reason).toBe(type);
      expect(pkg.handedOffAt).toBe("2026-01-20T03:00:00.000Z");
      expect(pkg.loan.status).toBe("legal");
    }
  });
});

describe("the hand-off package as HTML", () => {
  it("escapes every value: a <script> in the borrower's name stays text", () => {
    const trail = handedOffCase();
    const pkg = buildHandoffPackage({
      loanCase: trail.loanCase,
      policies: [DEFAULT_POLICY],
      audit: trail.audit,
      now: NOW,
    });
    const html = renderHandoffHtml(pkg);
    expect(html).not.toContain("<script");
    expect(html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co");
    expect(escapeHtml(`<a href="x" onclick='y'>&`)).toBe(
      "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;",
    );
  });

  it("is one self-contained page in the borrower's locale, with every contact and the chain head", () => {
    const trail = handedOffCase("Li Wei");
    const pkg = buildHandoffPackage({
      loanCase: trail.loanCase,
      policies: [DEFAULT_POLICY],
      audit: trail.audit,
      now: NOW,
    });
    const html = renderHandoffHtml(pkg);
    expect(html.startsWith("<!DOCTYPE html>")).toBe(true);
    expect(html).toContain('<html lang="zh-CN">');
    expect(html).toContain("法律移交材料");
    expect(html).not.toMatch(/<(script|link|img|iframe)\b/i);
    expect(html).not.toMatch(/(src|href)=/i);
    for (const contact of pkg.contacts) expect(html).toContain(`<td>${contact.seq}</td>`);
    expect(html).toContain(pkg.chain.head.hash);
    expect(html).toContain(pkg.packageHash);
  });

  it("falls back to en-US for a locale it has no labels for", () => {
    const trail = handedOffCase("Jane Doe");
    const pkg = buildHandoffPackage({
      loanCase: { ...trail.loanCase, borrower: { ...trail.loanCase.borrower, locale: "fr-FR" as never } },
      policies: [DEFAULT_POLICY],
      audit: trail.audit,
      now: NOW,
    });
    const html = renderHandoffHtml(pkg);
    expect(html).toContain('<html lang="en-US">');
    expect(html).toContain("Legal hand-off package");
  });
});

describe("the hand-off package of a loan on a repayment schedule", () => {
  const CNY = (amount: string) => money(amount, "CNY");
  /** Four installments of 400.00 at the hand-off (2026-02-14, 10:00 in Shanghai): paid, overdue, due, upcoming. */
  const installments = [
    { dueDate: "2025-12-15", amount: CNY("400.00"), paid: CNY("400.00") },
    { dueDate: "2026-01-15", amount: CNY("400.00"), paid: CNY("150.00") },
    { dueDate: "2026-02-14", amount: CNY("400.00"), paid: CNY("0.00") },
    { dueDate: "2026-03-15", amount: CNY("400.00"), paid: CNY("0.00") },
  ];
  const packageOf = (name = "Li Wei", locale: "zh-CN" | "en-US" = "zh-CN") => {
    const trail = handedOffCase(name);
    const loanCase = { ...trail.loanCase, installments, borrower: { ...trail.loanCase.borrower, locale } };
    return buildHandoffPackage({ loanCase, policies: [DEFAULT_POLICY], audit: trail.audit, now: NOW });
  };

  it("lists every installment with its number, due date, amount, what was paid and its status", () => {
    expect(packageOf().loan.installments).toEqual([
      { number: 1, dueDate: "2025-12-15", amount: CNY("400.00"), paid: CNY("400.00"), status: "paid" },
      { number: 2, dueDate: "2026-01-15", amount: CNY("400.00"), paid: CNY("150.00"), status: "overdue" },
      { number: 3, dueDate: "2026-02-14", amount: CNY("400.00"), paid: CNY("0.00"), status: "due" },
      { number: 4, dueDate: "2026-03-15", amount: CNY("400.00"), paid: CNY("0.00"), status: "upcoming" },
    ]);
  });

  it("has no installments for a single-payment loan", () => {
    const trail = handedOffCase();
    const { loanCase, audit } = trail;
    const pkg = buildHandoffPackage({ loanCase, audit, policies: [DEFAULT_POLICY], now: NOW });
    expect(pkg.loan).not.toHaveProperty("installments");
    expect(renderHandoffHtml(pkg)).not.toContain("分期");
  });

  it("shows them as a table in the borrower's locale", () => {
    const zh = renderHandoffHtml(packageOf());
    expect(zh).toContain("<h2>分期 (4)</h2>");
    expect(zh).toContain(
      "<tr><td>2/4</td><td>2026-01-15</td><td>¥400.00</td><td>¥150.00</td><td>已逾期</td></tr>",
    );
    for (const status of ["已还清", "今日到期", "未到期"]) expect(zh).toContain(`<td>${status}</td>`);
    const en = renderHandoffHtml(packageOf("Jane Doe", "en-US"));
    expect(en).toContain("<th>Installment</th><th>Due date</th><th>Amount</th><th>Paid</th><th>Status</th>");
    expect(en).toContain("<td>Overdue</td>");
  });

  it("hashes the installments with the rest of the package", () => {
    const pkg = packageOf();
    const { packageHash, ...body } = pkg;
    expect(packageHashOf(body)).toBe(packageHash);
    const paidMore = { ...body, loan: { ...body.loan, installments: body.loan.installments?.slice(1) } };
    expect(packageHashOf(paidMore)).not.toBe(packageHash);
  });
});
