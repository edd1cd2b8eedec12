import { describe, expect, it } from "vitest";
import type { AuditEntry } from "../../functions/domain/audit-chain.ts";
import {
  announceEntries,
  lenderEventId,
  matchesFilter,
} from "../../functions/domain/webhooks/lender-events.ts";
import {
  type AnnouncedState,
  LENDER_EVENT_TYPES,
  type LenderEvent,
  NOTHING_ANNOUNCED,
} from "../../functions/domain/webhooks/types.ts";

const SCOPE = { tenantId: "demo", loanId: "L-1" };
const CNY = (amount: string) => ({ amount, currency: "CNY" });

type Step = [type: string, data?: Record<string, unknown>];

/** Audit entries numbered from `from`, a minute apart, as a loan's trail holds them. */
function trail(steps: Step[], from = 1): AuditEntry[] {
  return steps.map(([type, data = {}], i) => ({
    seq: from + i,
    at: new Date(Date.UTC(2026, 0, 5, 9, from + i)).toISOString(),
    type,
    actor: "system:workflow",
    data,
    prevHash: "",
    hash: "",
  }));
}

const fold = (entries: AuditEntry[], state: AnnouncedState = NOTHING_ANNOUNCED) =>
  announceEntries(SCOPE, state, entries);
const typesOf = (events: LenderEvent[]) => events.map((e) => e.type);

const subscribed = (firstNotice = false): Step => [
  "loan_subscribed",
  {
    amountDue: CNY("1000.00"),
    dueDate: "2026-01-20",
    channels: { email: true, sms: true },
    ...(firstNotice ? { firstNotice: true } : {}),
  },
];
const sent = (stage: string, to = "l***@example.com"): Step => [
  "message_sent",
  { step: `s-${stage}`, stage, channel: "email", to, providerMessageId: "p-1" },
];
const paid = (status: string, paidInFull: boolean, balance = "0.00"): Step => [
  "payment_received",
  { amount: CNY("100.00"), balance: CNY(balance), paidInFull, status },
];
const promised: Step = ["promise_to_pay", { amount: CNY("100.00"), promisedDate: "2026-01-30" }];

describe("announcing a loan's audit trail as lender events", () => {
  it("announces a subscription, its messages and the payment in full", () => {
    const { events, state } = fold(
      trail([
        subscribed(),
        sent("pre_due"),
        ["message_delivery", { providerMessageId: "p-1", channel: "email", status: "delivered" }],
        sent("soft_collection"),
        ["message_delivery", { providerMessageId: "p-2", channel: "email", status: "bounced" }],
        paid("paid", true),
      ]),
    );
    expect(typesOf(events)).toEqual([
      "loan.subscribed",
      "message.sent",
      "message.delivered",
      "message.sent",
      "loan.stage_changed",
      "message.failed",
      "payment.received",
      "loan.paid",
      "loan.status_changed",
      "loan.stage_changed",
    ]);
    expect(events[4]?.data).toEqual({ from: "pre_due", to: "soft_collection", auditSeq: 4 });
    expect(events[7]?.data).toEqual({ amount: CNY("100.00"), balance: CNY("0.00"), auditSeq: 6 });
    expect(events[8]?.data).toEqual({ from: "active", to: "paid", auditSeq: 6 });
    expect(events[9]?.data).toEqual({ from: "soft_collection", to: "done", auditSeq: 6 });
    expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => i + 1));
    expect(events[6]?.createdAt).toBe(new Date(Date.UTC(2026, 0, 5, 9, 6)).toISOString());
    expect(state).toEqual({ auditSeq: 6, eventSeq: 10, status: "paid", stage: "done", contactEnded: false });
  });

  it("starts a loan subscribed past due in soft collection, and a later one in pre-due", () => {
    expect(fold(trail([subscribed(true)])).state.stage).toBe("soft_collection");
    expect(fold(trail([subscribed()])).state.stage).toBe("pre_due");
  });

  it("announces promises made, kept and broken with the holds they put on and lift", () => {
    const { events, state } = fold(
      trail([
        subscribed(true),
        promised,
        paid("active", false, "900.00"),
        ["promise_kept", { promised: CNY("100.00"), paid: CNY("100.00"), until: "2026-01-30" }],
        promised,
        ["promise_broken", { until: "2026-01-30", amount: CNY("100.00"), paidSince: CNY("0.00") }],
      ]),
    );
    const statusChanges = events
      .filter((e) => e.type === "loan.status_changed")
      .map((e) => [e.data.from, e.data.to, e.data.auditSeq]);
    expect(typesOf(events).filter((t) => t !== "loan.status_changed")).toEqual([
      "loan.subscribed",
      "promise.made",
      "payment.received",
      "promise.kept",
      "promise.made",
      "promise.broken",
    ]);
    expect(statusChanges).toEqual([
      ["active", "on_hold", 2],
      ["on_hold", "active", 3],
      ["active", "on_hold", 5],
      ["on_hold", "active", 6],
    ]);
    expect(state.status).toBe("active");
  });

  it("announces a hand-off to legal, its package and its acknowledgement", () => {
    const { events, state } = fold(
      trail([
        subscribed(true),
        sent("soft_collection"),
        ["handed_off", { to: "legal", balance: CNY("1000.00"), daysPastDue: 60 }],
        ["handoff_published", { packageHash: "ab", location: { key: "x" } }],
        ["handoff_acknowledged", { packageHash: "ab", acknowledgedAt: "2026-03-01T00:00:00.000Z" }],
      ]),
    );
    expect(typesOf(events).slice(2)).toEqual([
      "loan.handed_off",
      "loan.status_changed",
      "loan.stage_changed",
      "handoff.published",
      "handoff.acknowledged",
    ]);
    expect(events[3]?.data).toEqual({ from: "active", to: "legal", auditSeq: 3 });
    expect(events[4]?.data).toEqual({ from: "soft_collection", to: "legal", auditSeq: 3 });
    expect(state).toMatchObject({ status: "legal", stage: "legal" });
  });

  it("keeps a case whose contact ended on the legal route when an agreement breaks", () => {
    const broken: Step = ["settlement_broken", { until: "2026-01-30" }];
    const ended = fold(
      trail([subscribed(), ["settlement_agreed", {}], ["cease_contact_requested", {}], broken]),
    );
    expect(typesOf(ended.events).slice(1)).toEqual([
      "settlement.agreed",
      "loan.status_changed",
      "loan.contact_ended",
      "loan.status_changed",
      "loan.stage_changed",
      "settlement.broken",
    ]);
    expect(ended.events[3]?.data).toEqual({ reason: "cease_contact", auditSeq: 3 });
    expect(ended.state).toMatchObject({ status: "legal", stage: "legal", contactEnded: true });
    const resumed = fold(trail([subscribed(), ["settlement_agreed", {}], broken]));
    expect(resumed.state).toMatchObject({ status: "active", stage: "pre_due", contactEnded: false });
  });

  it("re-opens a paid case on a reversal, into legal once contact has ended", () => {
    const reversed: Step = ["payment_reversed", { amount: CNY("100.00"), status: "active" }];
    const reopened = fold(trail([subscribed(), paid("paid", true), reversed]));
    expect(typesOf(reopened.events).slice(-3)).toEqual([
      "payment.reversed",
      "loan.status_changed",
      "loan.stage_changed",
    ]);
    expect(reopened.state).toMatchObject({ status: "active", stage: "soft_collection" });
    const ended = fold(
      trail([
        subscribed(),
        ["bankruptcy_notified", {}],
        paid("paid", true),
        ["payment_reversed", { status: "legal" }],
      ]),
    );
    expect(ended.state).toMatchObject({ status: "legal", stage: "legal", contactEnded: true });
  });

  it("maps every loan audit type to its lender event", () => {
    const cases: [Step, string[]][] = [
      [["policy_applied", { policyId: "default", from: 1, to: 2 }], ["loan.policy_changed"]],
      [["step_started", { step: "s1" }], []],
      [["step_deferred", { step: "s1" }], ["step.deferred"]],
      [["step_skipped", { step: "s1" }], ["step.skipped"]],
      [["step_failed", { step: "s1" }], ["step.failed"]],
      [["channel_fallback", { from: "sms", to: "email" }], ["message.channel_fallback"]],
      [["channel_suppressed", { channel: "sms" }], ["message.channel_suppressed"]],
      [["message_failed", { channel: "sms" }], ["message.failed"]],
      [["message_delivery", { status: "complained" }], ["message.failed"]],
      [["handoff_withheld", { reason: "no_message_reached_borrower" }], ["loan.handoff_withheld"]],
      [
        ["dispute_opened", {}],
        ["dispute.opened", "loan.status_changed"],
      ],
      [["grace_extension", { from: "2026-01-20", to: "2026-02-20" }], ["loan.due_date_extended"]],
      [["installment_plan", {}], ["loan.restructured"]],
      [["cured", { installmentsCleared: 1 }], ["loan.cured"]],
      [["opted_out", { channel: "sms" }], ["borrower.opted_out"]],
      [["opted_in", { channel: "sms" }], ["borrower.opted_in"]],
      [
        ["deceased_notified", {}],
        ["loan.closed", "loan.status_changed", "loan.stage_changed"],
      ],
      [
        ["loan_withdrawn", {}],
        ["loan.closed", "loan.status_changed", "loan.stage_changed"],
      ],
      [["workflow_failed", { state: "Send", error: "Boom" }], ["workflow.failed"]],
      [["workflow_restarted", { reason: "ops" }], ["workflow.restarted"]],
      [["plan_requested", { linkId: "0123456789abcdef", months: 3 }], ["plan.requested"]],
      [["portal_locked", { linkId: "0123456789abcdef", wrongAnswers: 5 }], ["borrower.portal_locked"]],
      [["message_outcome_unknown", { channel: "sms" }], []],
      [["constructor", {}], []],
    ];
    for (const [step, expected] of cases) {
      const { events, state } = fold(trail([subscribed(), step]));
      expect([step[0], typesOf(events.slice(1))]).toEqual([step[0], expected]);
      expect(state.auditSeq).toBe(2);
    }
    const closed = fold(trail([subscribed(), ["loan_withdrawn", {}]])).events[1];
    expect(closed?.data.reason).toBe("withdrawn");
    const settled = fold(trail([subscribed(), ["settlement_agreed", {}], ["settlement_completed", {}]]));
    expect(typesOf(settled.events).slice(-4)).toEqual([
      "settlement.completed",
      "loan.settled",
      "loan.status_changed",
      "loan.stage_changed",
    ]);
  });

  it("announces a cure: the status stays, collection goes back to the pre-due reminders", () => {
    const cure: Step = [
      "cured",
      { installmentsCleared: 2, nextDueDate: "2026-03-15", daysPastDueBefore: 12 },
    ];
    const { events, state } = fold(
      trail([subscribed(), sent("soft_collection"), paid("active", false, "800.00"), cure]),
    );
    expect(typesOf(events)).toEqual([
      "loan.subscribed",
      "message.sent",
      "loan.stage_changed",
      "payment.received",
      "loan.cured",
      "loan.stage_changed",
    ]);
    expect(events[4]?.data).toEqual({
      installmentsCleared: 2,
      nextDueDate: "2026-03-15",
      daysPastDueBefore: 12,
      auditSeq: 4,
    });
    expect(events[5]?.data).toEqual({ from: "soft_collection", to: "pre_due", auditSeq: 4 });
    expect(state).toMatchObject({ status: "active", stage: "pre_due" });

    // A cure under a promise leaves the hold as the payment reported it.
    const held = fold(trail([subscribed(true), promised, paid("on_hold", false, "800.00"), cure]));
    expect(typesOf(held.events).slice(-2)).toEqual(["loan.cured", "loan.stage_changed"]);
    expect(held.state).toMatchObject({ status: "on_hold", stage: "pre_due" });
  });

  it("keeps what changed in a due date, a policy version or a channel fallback", () => {
    const { events } = fold(
      trail([
        subscribed(true),
        ["grace_extension", { from: "2026-01-20", to: "2026-02-20" }],
        ["policy_applied", { policyId: "default", from: 1, to: 2 }],
        ["channel_fallback", { step: "s1", from: "sms", to: "email" }],
      ]),
    );
    expect(events.slice(1).map((e) => [e.type, e.data.from, e.data.to])).toEqual([
      ["loan.due_date_extended", "2026-01-20", "2026-02-20"],
      ["loan.stage_changed", "soft_collection", "pre_due"],
      ["loan.policy_changed", 1, 2],
      ["message.channel_fallback", "sms", "email"],
    ]);
  });

  it("never carries borrower contact data, at any depth", () => {
    const pii = ["Li Wei", "+8613800138000", "li.wei@example.com", "Rm 1, 8 Nanjing Rd"];
    const { events } = fold(
      trail([
        subscribed(),
        sent("pre_due", "li.wei@example.com"),
        sent("soft_collection", "+8613800138000"),
        ["message_delivery", { status: "bounced", detail: { diagnostic: "550 li.wei@example.com unknown" } }],
        ["handed_off", { to: { name: "Li Wei", phone: "+8613800138000" } }],
        ["grace_extension", { from: "2026-01-20", to: { email: "li.wei@example.com" } }],
        ["opted_out", { channel: "sms", borrower: [{ name: "Li Wei", address: "Rm 1, 8 Nanjing Rd" }] }],
        ["workflow_failed", { state: "Send", error: "X", cause: "identity failed: li.wei@example.com" }],
      ]),
    );
    const json = JSON.stringify(events);
    for (const value of pii) expect(json).not.toContain(value);
    expect(events[0]?.data.channels).toEqual({ email: true, sms: true });
    expect(events.find((e) => e.type === "borrower.opted_out")?.data.borrower).toEqual([{}]);
  });

  it("numbers events without gaps across folds: a trail folded in two parts gives what it gives at once", () => {
    const entries = trail([
      subscribed(),
      sent("pre_due"),
      promised,
      paid("active", false, "900.00"),
      ["promise_kept", {}],
      sent("soft_collection"),
      ["dispute_opened", {}],
      ["dispute_resolved", {}],
      paid("paid", true),
      ["payment_reversed", { status: "active" }],
    ]);
    const whole = fold(entries);
    expect(whole.events.map((e) => e.sequence)).toEqual(whole.events.map((_, i) => i + 1));
    for (let split = 0; split <= entries.length; split++) {
      const first = fold(entries.slice(0, split));
      const second = fold(entries.slice(split), first.state);
      expect([...first.events, ...second.events]).toEqual(whole.events);
      expect(second.state).toEqual(whole.state);
    }
  });

  it("gives the same ids on every fold, one per event", () => {
    const entries = trail([subscribed(), paid("paid", true), ["payment_reversed", { status: "active" }]]);
    const ids = fold(entries).events.map((e) => e.id);
    expect(fold(entries).events.map((e) => e.id)).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^evt_[0-9a-f]{26}$/);
    expect(ids[1]).toBe(lenderEventId("demo", "L-1", 2, 0));
    const other = [
      lenderEventId("demo2", "L-1", 2, 0),
      lenderEventId("demo", "L-2", 2, 0),
      lenderEventId("demo", "L-1", 3, 0),
      lenderEventId("demo", "L-1", 2, 1),
    ];
    expect(new Set([ids[1], ...other]).size).toBe(5);
  });

  it("refuses entries that do not continue the announced trail", () => {
    expect(() => fold(trail([subscribed()], 2))).toThrow(/does not follow 0/);
    const gap = [...trail([subscribed()]), ...trail([sent("pre_due")], 3)];
    expect(() => fold(gap)).toThrow(/entry 3 .* does not follow 1/);
    const { state } = fold(trail([subscribed()]));
    expect(() => fold(trail([sent("pre_due")], 1), state)).toThrow(/does not follow 1/);
    expect(fold(trail([sent("pre_due")], 2), state).state.auditSeq).toBe(2);
  });

  it("announces only event types a lender can subscribe to", () => {
    const known = new Set<string>(LENDER_EVENT_TYPES);
    const { events } = fold(
      trail([subscribed(), sent("soft_collection"), paid("paid", true), ["payment_reversed", {}]]),
    );
    expect(events.every((e) => known.has(e.type))).toBe(true);
  });
});

describe("matching an endpoint's filter", () => {
  it("takes every type with *, otherwise only the listed ones", () => {
    expect(matchesFilter(["*"], "loan.paid")).toBe(true);
    expect(matchesFilter(["loan.paid", "message.sent"], "message.sent")).toBe(true);
    expect(matchesFilter(["loan.paid"], "loan.settled")).toBe(false);
    expect(matchesFilter(["loan.*"], "loan.paid")).toBe(false);
    expect(matchesFilter([], "loan.paid")).toBe(false);
  });
});
