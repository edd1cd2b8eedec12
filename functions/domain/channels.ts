import { maskEmail, maskPhone } from "./pii.ts";

/** The ways a message reaches a borrower (see CHANNEL_SPECS for what each one is). */
export type Channel = "sms" | "email";

/** The languages messages are written in. */
export type Locale = "zh-CN" | "en-US";
export const LOCALES: readonly Locale[] = ["zh-CN", "en-US"];

/** The texts a message may have: a subject line, and a body. */
export type MessagePart = "subject" | "body";

/**
 * Everything the product knows of a channel, in one place: planning, the rules of contact, templates, sending
 * and the audit trail read it from here, so a new channel is one more description and one more sender.
 */
export interface ChannelSpec {
  /** The borrower's field holding this channel's address. */
  address: "phone" | "email";
  /** How an address on this channel is shown in the audit trail. */
  mask(address: string): string;
  /** The parts of a message on this channel, with the longest text each part of a template may be. */
  parts: Partial<Record<MessagePart, number>>;
  /** Whether the subject must be one line (a header). */
  singleLineSubject?: boolean;
  /** How the opt-out notice is joined to the body. */
  optOutSeparator: string;
  /** The product's opt-out notice, appended to every message on the channel: a policy cannot remove it. */
  optOut: Record<Locale, string>;
  /** Channels that stand in for this one when it cannot reach the borrower, in order of preference. */
  fallback: readonly Channel[];
  /** The cap on messages per borrower-local day, when the channel has one: its rule name and the policy's limit. */
  dailyCap?: { rule: "sms_daily_cap"; limit: "smsPerDay" };
}

/** The channels the product sends on. Adding one: a spec here and a sender (adapters/senders). */
export const CHANNEL_SPECS: Record<Channel, ChannelSpec> = {
  sms: {
    address: "phone",
    mask: maskPhone,
    parts: { body: 480 },
    optOutSeparator: " ",
    optOut: { "en-US": "Reply STOP to opt out.", "zh-CN": "回复TD退订" },
    fallback: ["email"],
    dailyCap: { rule: "sms_daily_cap", limit: "smsPerDay" },
  },
  email: {
    address: "email",
    mask: maskEmail,
    parts: { subject: 200, body: 4000 },
    singleLineSubject: true,
    optOutSeparator: "\n\n",
    optOut: {
      "en-US": "To stop these emails, reply with UNSUBSCRIBE.",
      "zh-CN": "如不希望再收到此类邮件，请回复“退订”。",
    },
    fallback: ["sms"],
  },
};

export const CHANNELS: readonly Channel[] = Object.keys(CHANNEL_SPECS) as Channel[];

export function channelSpec(channel: Channel): ChannelSpec {
  const spec = CHANNEL_SPECS[channel];
  if (!spec) throw new RangeError(`unknown channel ${channel}`);
  return spec;
}

/** The borrower's address on a channel, if they gave one. */
export function addressOf(
  borrower: Partial<Record<ChannelSpec["address"], string | undefined>>,
  channel: Channel,
): string | undefined {
  return borrower[channelSpec(channel).address] || undefined;
}
