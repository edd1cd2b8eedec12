import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChannelRouter } from "../../functions/adapters/senders/channel-router.ts";
import { addressOf, CHANNEL_SPECS, type Channel, type ChannelSpec } from "../../functions/domain/channels.ts";
import { nextAllowedInstant } from "../../functions/domain/contact-window.ts";
import { maskPhone } from "../../functions/domain/pii.ts";
import { DEFAULT_POLICY, type Policy } from "../../functions/domain/policy.ts";
import { claimStep, decideStep } from "../../functions/domain/step-lifecycle.ts";
import { BUILT_IN_TEMPLATES, renderMessage } from "../../functions/domain/templates.ts";
import type { MessageSender, OutgoingMessage } from "../../functions/ports.ts";
import { newCase } from "./fixtures.ts";

// A channel is data: a third one is a description and a sender. Nothing in planning, the rules of contact or the
// fallback knows it — this test adds a messaging-app channel and watches them use it.
const WHATSAPP = "whatsapp" as Channel;
const spec: ChannelSpec = {
  address: "phone",
  mask: maskPhone,
  parts: { body: 1000 },
  optOutSeparator: "\n",
  optOut: { "en-US": "Reply STOP to opt out.", "zh-CN": "回复TD退订" },
  fallback: ["sms"],
};
const specs = CHANNEL_SPECS as Record<string, ChannelSpec>;
beforeAll(() => {
  specs.whatsapp = spec;
});
afterAll(() => {
  delete specs.whatsapp;
});

const policy: Policy = {
  ...DEFAULT_POLICY,
  steps: DEFAULT_POLICY.steps.map((step) =>
    step.id === "pre_due_7" ? { ...step, channels: [WHATSAPP], template: "app" } : step,
  ),
  templates: {
    ...BUILT_IN_TEMPLATES,
    app: {
      "zh-CN": { whatsapp: { body: "{{name}}您好，{{amountDue}}将于{{dueDate}}到期。" } } as never,
      "en-US": { whatsapp: { body: "Hi {{name}}, {{amountDue}} is due on {{dueDate}}." } } as never,
    },
  },
};
const AT = "2026-01-08T02:00:00Z"; // pre_due_7, 10:00 in Shanghai
const decide = (loanCase: ReturnType<typeof newCase>, at = AT) =>
  decideStep(loanCase, policy, new Date(at), (d) =>
    nextAllowedInstant(d, loanCase.borrower.timeZone, policy.contactWindow),
  );

describe("a third channel, described once", () => {
  it("is planned, checked against the caps and sent through its own sender to the address its spec names", async () => {
    const loanCase = newCase();
    const decision = decide(loanCase);
    expect(decision).toMatchObject({ kind: "send", step: { id: "pre_due_7" }, channels: [WHATSAPP] });
    if (decision.kind !== "send") throw new Error("expected a send");
    expect(claimStep(loanCase, decision, new Date(AT)).next.inFlight?.channels).toEqual([WHATSAPP]);

    const content = renderMessage(policy.templates ?? {}, "app", "en-US", WHATSAPP, {
      name: "Li Wei",
      amountDue: "CN¥1,000.00",
      dueDate: "January 15, 2026",
      daysPastDue: 0,
      paymentReference: loanCase.loanId,
      amountDueNow: "CN¥0.00",
      installment: false,
      portalLink: "",
    });
    expect(content).toEqual({
      body: "Hi Li Wei, CN¥1,000.00 is due on January 15, 2026.\nReply STOP to opt out.",
    });

    const sent: OutgoingMessage[] = [];
    const app: MessageSender = {
      send: async (message) => {
        sent.push(message);
        return { providerMessageId: "wa-1" };
      },
    };
    const unused: MessageSender = { send: () => Promise.reject(new Error("wrong sender")) };
    const router = new ChannelRouter({ sms: unused, email: unused, [WHATSAPP]: app } as Record<
      Channel,
      MessageSender
    >);
    const to = addressOf(loanCase.borrower, WHATSAPP) as string;
    expect(to).toBe(loanCase.borrower.phone);
    await router.send({
      ...content,
      tenantId: "t",
      loanId: loanCase.loanId,
      step: "pre_due_7",
      stage: "pre_due",
      channel: WHATSAPP,
      locale: "en-US",
      to,
    });
    expect(sent.map((m) => [m.channel, m.to])).toEqual([[WHATSAPP, to]]);
  });

  it("falls back to the channel its spec names when the borrower opted out of it", () => {
    const decision = decide({ ...newCase(), optedOut: [WHATSAPP] });
    expect(decision).toMatchObject({
      kind: "send",
      channels: ["sms"],
      fallbacks: [{ from: WHATSAPP, to: "sms" }],
    });
  });

  it("counts towards the cap on contacts in seven days like any other channel", () => {
    const recent = Array.from({ length: 7 }, (_, i) => ({
      at: new Date(Date.parse(AT) - (i + 1) * 3_600_000).toISOString(),
      channel: WHATSAPP,
    }));
    const decision = decide({ ...newCase(), recentContacts: recent });
    expect(decision).toMatchObject({ kind: "defer", rule: "contacts_7_day_cap" });
  });
});
