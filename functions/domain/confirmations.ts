import Mustache from "mustache";
import { addressOf, type Channel, channelSpec, type Locale } from "./channels.ts";
import { nextAllowedInstant } from "./contact-window.ts";
import type { Policy } from "./policy.ts";
import type { MessageContent } from "./templates.ts";

/** What a borrower did on their page that a short message confirms. */
export type ConfirmedAction = "promise" | "plan" | "plan_requested" | "contact_time" | "opt_out" | "dispute";

/**
 * A confirmation the workflow owes the borrower for an action on their page: sent on the channel the page's link
 * came by, inside the contact window, at most once. Set on the case with the action; cleared once sent, withheld
 * or found with its outcome unknown.
 */
export interface PendingConfirmation {
  action: ConfirmedAction;
  /** The link the borrower acted through, and the channels its message came by (tried in order). */
  linkId: string;
  channels: Channel[];
  requestedAt: string;
  /** What the text says, formatted for the borrower when the action was taken. */
  details: Record<string, string>;
  /** Set by the claim just before sending: whoever finds it set later cannot know whether it went out. */
  claimedAt?: string;
  /** The channel it was claimed for. */
  channel?: Channel;
  claimant?: { owner: string; leaseUntil: number };
}

/** What deciding on a confirmation reads of a case (a LoanCase; named apart so the case can hold a confirmation). */
export interface ConfirmationCase {
  status: string;
  hold?: { until?: string } | null;
  contactEnded: string | null;
  borrower: { phone?: string; email?: string; timeZone: string };
  optedOut: readonly Channel[];
  confirmation?: PendingConfirmation | null;
}

/** Why a confirmation is not sent (the `rule` of its `confirmation_withheld` entry). */
export type WithheldRule = "contact_hold" | "channel_opted_out" | "no_reachable_channel";

export type ConfirmationDecision =
  | { kind: "send"; channel: Channel; to: string }
  | { kind: "wait"; until: string }
  | { kind: "withheld"; rule: WithheldRule };

/**
 * Whether a confirmation may go out now. The rules of contact hold as for any message: nothing during a dispute,
 * after a cease-communication request or bankruptcy, or once the case is closed; never on a channel the borrower
 * opted out of; only inside the contact window. The frequency caps do not stop it (the borrower asked for what
 * it confirms), but it counts towards them like any message.
 */
export function confirmationDecision(
  loanCase: ConfirmationCase,
  policy: Pick<Policy, "contactWindow">,
  pending: Pick<PendingConfirmation, "channels">,
  now: Date,
): ConfirmationDecision {
  const contactable =
    loanCase.status === "active" || (loanCase.status === "on_hold" && loanCase.hold?.until !== undefined);
  if (!contactable || loanCase.contactEnded) return { kind: "withheld", rule: "contact_hold" };
  const reachable = pending.channels.filter((channel) => addressOf(loanCase.borrower, channel) !== undefined);
  const open = reachable.filter((channel) => !loanCase.optedOut.includes(channel));
  const channel = open[0];
  if (!channel)
    return { kind: "withheld", rule: reachable.length ? "channel_opted_out" : "no_reachable_channel" };
  const allowed = nextAllowedInstant(now, loanCase.borrower.timeZone, policy.contactWindow);
  if (allowed.getTime() > now.getTime()) return { kind: "wait", until: allowed.toISOString() };
  return { kind: "send", channel, to: addressOf(loanCase.borrower, channel) as string };
}

/** When the workflow should next try to send a pending confirmation: now, or when the contact window opens. */
export function confirmationDueAt(
  loanCase: ConfirmationCase,
  policy: Pick<Policy, "contactWindow">,
  now: Date,
): string | null {
  const pending = loanCase.confirmation;
  if (!pending || pending.claimedAt) return null;
  const from = new Date(Math.max(now.getTime(), Date.parse(pending.requestedAt)));
  return nextAllowedInstant(from, loanCase.borrower.timeZone, policy.contactWindow).toISOString();
}

type Texts = Record<Locale, { subject: string; body: string }>;

/** The product's own confirmation texts: short and factual, one per action, in both locales. */
const TEXTS: Record<ConfirmedAction, Texts> = {
  promise: {
    "en-US": {
      subject: "Your promise to pay",
      body: "Thank you. We have your promise to pay {{amount}} by {{date}}; we will not remind you before then.",
    },
    "zh-CN": {
      subject: "还款承诺已收到",
      body: "谢谢。已收到您的还款承诺：{{date}}前还款{{amount}}，此前不再提醒。",
    },
  },
  plan: {
    "en-US": {
      subject: "Your installment plan",
      body: "Your plan is in place: {{months}} monthly payments, the first of {{first}} on {{firstDate}}.",
    },
    "zh-CN": {
      subject: "分期计划已生效",
      body: "您的分期计划已生效：共{{months}}期，首期{{first}}，{{firstDate}}到期。",
    },
  },
  plan_requested: {
    "en-US": {
      subject: "Your request for a plan",
      body: "We have your request for a {{months}}-month plan. Your lender will reply.",
    },
    "zh-CN": { subject: "分期申请已收到", body: "已收到您的{{months}}期分期申请，贷款机构审核后将回复您。" },
  },
  contact_time: {
    "en-US": {
      subject: "Your contact time",
      body: "{{#time}}We will contact you at about {{time}} from now on.{{/time}}{{^time}}We will contact you at our usual times again.{{/time}}",
    },
    "zh-CN": {
      subject: "联系时间已更新",
      body: "{{#time}}今后我们将在{{time}}左右联系您。{{/time}}{{^time}}今后我们将按常规时间联系您。{{/time}}",
    },
  },
  opt_out: {
    "en-US": {
      subject: "You opted out",
      body: "You will no longer get {{channel}} from us about this loan.",
    },
    "zh-CN": { subject: "退订成功", body: "您将不再通过{{channel}}收到关于此笔贷款的消息。" },
  },
  dispute: {
    "en-US": { subject: "Your dispute", body: "We have your dispute and will look into it." },
    "zh-CN": { subject: "异议已收到", body: "已收到您的异议，我们将予以核实。" },
  },
};

/** How a channel is named in a confirmation of an opt-out. */
export const CHANNEL_NAMES: Record<Locale, Record<Channel, string>> = {
  "en-US": { sms: "text messages", email: "emails" },
  "zh-CN": { sms: "短信", email: "邮件" },
};

/** The confirmation as it goes out on `channel`, with the product's opt-out notice like every message. */
export function confirmationMessage(
  pending: Pick<PendingConfirmation, "action" | "details">,
  locale: Locale,
  channel: Channel,
): MessageContent {
  const spec = channelSpec(channel);
  const texts = TEXTS[pending.action][locale];
  const render = (text: string) =>
    Mustache.render(text, pending.details, {}, { escape: (value: string) => value });
  const body = `${render(texts.body)}${spec.optOutSeparator}${spec.optOut[locale]}`;
  return spec.parts.subject !== undefined ? { subject: render(texts.subject), body } : { body };
}
