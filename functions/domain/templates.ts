import Mustache from "mustache";
import { type Channel, channelSpec, type Locale, type MessagePart } from "./channels.ts";

/** One message's texts: the parts its channel has (see ChannelSpec.parts). */
export type MessageTexts = Partial<Record<MessagePart, string>>;

/** One locale's texts of a template, by channel: an SMS body, an email subject and body. */
export type LocaleTemplates = Partial<Record<Channel, MessageTexts>>;

/**
 * A policy's message templates by template id, then locale. Parts may be missing in what ops send; the policy
 * validation refuses a policy whose steps need a part that is not there, so rendering never meets a gap.
 */
export type MessageTemplates = Record<string, Partial<Record<Locale, LocaleTemplates>>>;

/** The only placeholders a template may use: the variables the product fills at send time. */
export const TEMPLATE_VARIABLES = [
  "name",
  "amountDue",
  "dueDate",
  "daysPastDue",
  "paymentReference",
  "amountDueNow",
  "installmentNumber",
  "installmentCount",
  "portalLink",
] as const;
export type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];

/**
 * The only sections a template may open, each with the variables that have a value only inside it: a text
 * that names them outside would go out with a gap on a single-payment loan.
 */
export const TEMPLATE_SECTIONS: Readonly<Record<string, readonly TemplateVariable[]>> = {
  installment: ["installmentNumber", "installmentCount"],
  // Set only where the borrowers' page runs: a text names the link inside its own section.
  portalLink: ["portalLink"],
};

/** Variables every template may use; all are formatted for the borrower before rendering. */
export interface MessageVariables {
  name: string;
  amountDue: string;
  dueDate: string;
  daysPastDue: number;
  paymentReference: string;
  /** What is owed today (overdue installments plus charges; a single-payment loan's balance once due). */
  amountDueNow: string;
  /** True on a repayment schedule with an installment left to collect: opens `{{#installment}}…{{/installment}}`. */
  installment: boolean;
  /** The installment being collected (from 1) and how many the schedule has; set with `installment` only. */
  installmentNumber?: number;
  installmentCount?: number;
  /** The borrower's personal link to the self-service page; empty where no portal runs. */
  portalLink: string;
}

export interface MessageContent {
  subject?: string;
  body: string;
}

/**
 * The installment lines of the built-in texts, inside the `installment` section so a single-payment loan's
 * message reads as it always did. Before a due date nothing is due yet, so a reminder names the installment only.
 */
const EN_NEXT = "{{#installment}} Installment {{installmentNumber}} of {{installmentCount}}.{{/installment}}";
const EN_NOW =
  "{{#installment}} Installment {{installmentNumber}} of {{installmentCount}}: {{amountDueNow}} due.{{/installment}}";
const ZH_NEXT = "{{#installment}}第{{installmentNumber}}/{{installmentCount}}期。{{/installment}}";
const ZH_NOW =
  "{{#installment}}第{{installmentNumber}}/{{installmentCount}}期，应还{{amountDueNow}}。{{/installment}}";

/**
 * The built-in texts: the templates of the built-in default policy and of policies stored before templates
 * were part of a policy. Factual, respectful wording; the tone firms by stage but never threatens.
 */
const WORDED: MessageTemplates = {
  reminder: {
    "en-US": {
      sms: {
        body: `Hi {{name}}, a reminder: {{amountDue}} is due on {{dueDate}} (ref {{paymentReference}}).${EN_NEXT}`,
      },
      email: {
        subject: "Payment reminder: {{amountDue}} due {{dueDate}}",
        body: `Dear {{name}},\n\nThis is a friendly reminder that {{amountDue}} is due on {{dueDate}}.${EN_NEXT} Please use reference {{paymentReference}} when you pay.\n\nThank you.`,
      },
    },
    "zh-CN": {
      sms: {
        body: `{{name}}您好，您的借款{{amountDue}}将于{{dueDate}}到期，请按时还款（编号{{paymentReference}}）。${ZH_NEXT}`,
      },
      email: {
        subject: "还款提醒：{{amountDue}}将于{{dueDate}}到期",
        body: `尊敬的{{name}}：\n\n您的借款{{amountDue}}将于{{dueDate}}到期，还款时请注明编号{{paymentReference}}。${ZH_NEXT}\n\n感谢您的配合。`,
      },
    },
  },
  due_today: {
    "en-US": {
      sms: {
        body: `Hi {{name}}, {{amountDue}} is due today ({{dueDate}}), ref {{paymentReference}}.${EN_NOW}`,
      },
      email: {
        subject: "Payment due today: {{amountDue}}",
        body: `Dear {{name}},\n\n{{amountDue}} is due today, {{dueDate}}.${EN_NOW} Reference: {{paymentReference}}.`,
      },
    },
    "zh-CN": {
      sms: {
        body: `{{name}}您好，您的借款{{amountDue}}今日（{{dueDate}}）到期，编号{{paymentReference}}。${ZH_NOW}`,
      },
      email: {
        subject: "今日到期：{{amountDue}}",
        body: `尊敬的{{name}}：\n\n您的借款{{amountDue}}今日（{{dueDate}}）到期，编号{{paymentReference}}。${ZH_NOW}`,
      },
    },
  },
  overdue_gentle: {
    "en-US": {
      sms: {
        body: `Hi {{name}}, {{amountDue}} was due on {{dueDate}} and is {{daysPastDue}} day(s) overdue.${EN_NOW} If something is in the way, contact us to talk about options. Ref {{paymentReference}}.`,
      },
      email: {
        subject: "Your payment of {{amountDue}} is overdue",
        body: `Dear {{name}},\n\nOur records show {{amountDue}}, due on {{dueDate}}, is {{daysPastDue}} day(s) overdue.${EN_NOW} If you are facing difficulties, please contact us — we can discuss an extension or an installment plan.\n\nReference: {{paymentReference}}.`,
      },
    },
    "zh-CN": {
      sms: {
        body: `{{name}}您好，您的借款{{amountDue}}已于{{dueDate}}到期，逾期{{daysPastDue}}天。${ZH_NOW}如有困难请联系我们协商，编号{{paymentReference}}。`,
      },
      email: {
        subject: "您的借款{{amountDue}}已逾期",
        body: `尊敬的{{name}}：\n\n您的借款{{amountDue}}已于{{dueDate}}到期，目前逾期{{daysPastDue}}天。${ZH_NOW}如遇困难，请与我们联系，可协商延期或分期还款。\n\n编号：{{paymentReference}}。`,
      },
    },
  },
  overdue_firm: {
    "en-US": {
      sms: {
        body: `{{name}}, {{amountDue}} is {{daysPastDue}} days overdue (due {{dueDate}}).${EN_NOW} Please pay or contact us now. Ref {{paymentReference}}.`,
      },
      email: {
        subject: "Overdue {{daysPastDue}} days: {{amountDue}}",
        body: `Dear {{name}},\n\n{{amountDue}} has been overdue for {{daysPastDue}} days (due {{dueDate}}).${EN_NOW} Please pay now or contact us to agree a plan.\n\nReference: {{paymentReference}}.`,
      },
    },
    "zh-CN": {
      sms: {
        body: `{{name}}，您的借款{{amountDue}}已逾期{{daysPastDue}}天（到期日{{dueDate}}），请尽快还款或联系我们。${ZH_NOW}编号{{paymentReference}}。`,
      },
      email: {
        subject: "逾期{{daysPastDue}}天：{{amountDue}}",
        body: `尊敬的{{name}}：\n\n您的借款{{amountDue}}已逾期{{daysPastDue}}天（到期日{{dueDate}}）。${ZH_NOW}请尽快还款，或与我们联系商定还款计划。\n\n编号：{{paymentReference}}。`,
      },
    },
  },
  // The first message to a borrower whose loan arrives already past due: what is owed, how to pay, how to dispute.
  first_notice: {
    "en-US": {
      sms: {
        body: `Hi {{name}}, our records show {{amountDue}} owed on a loan that was due on {{dueDate}} (ref {{paymentReference}}).${EN_NOW} To pay, or if you think this is wrong, please contact us; we will review any dispute before contacting you further.`,
      },
      email: {
        subject: "About your loan: {{amountDue}} owed (ref {{paymentReference}})",
        body: `Dear {{name}},\n\nOur records show that {{amountDue}} is owed on your loan, which was due on {{dueDate}} and is {{daysPastDue}} day(s) past due.${EN_NOW}\n\nTo pay, use reference {{paymentReference}}. If you do not recognise this debt or think the amount is wrong, reply to this message to dispute it: we will look into it and pause collection while we do. If paying is difficult, contact us to discuss an extension or an installment plan.\n\nThank you.`,
      },
    },
    "zh-CN": {
      sms: {
        body: `{{name}}您好，我们的记录显示您的借款（到期日{{dueDate}}）尚欠{{amountDue}}，编号{{paymentReference}}。${ZH_NOW}如需还款或对欠款有异议，请联系我们；异议核实前我们不会继续催收。`,
      },
      email: {
        subject: "关于您的借款：尚欠{{amountDue}}（编号{{paymentReference}}）",
        body: `尊敬的{{name}}：\n\n我们的记录显示，您的借款已于{{dueDate}}到期，目前逾期{{daysPastDue}}天，尚欠{{amountDue}}。${ZH_NOW}\n\n还款时请注明编号{{paymentReference}}。如您不认可该笔欠款或对金额有异议，请回复本邮件提出异议，核实期间我们将暂停催收。如还款有困难，可与我们协商延期或分期还款。\n\n感谢您的配合。`,
      },
    },
  },
  final_notice: {
    "en-US": {
      sms: {
        body: `Final notice: {{amountDue}} is {{daysPastDue}} days overdue.${EN_NOW} Unless paid or agreed, the account will be referred for legal collection. Ref {{paymentReference}}.`,
      },
      email: {
        subject: "Final notice before referral: {{amountDue}}",
        body: `Dear {{name}},\n\nThis is a final notice: {{amountDue}}, due on {{dueDate}}, is {{daysPastDue}} days overdue.${EN_NOW} Unless it is paid or a plan is agreed, the account will be referred for legal collection.\n\nReference: {{paymentReference}}.`,
      },
    },
    "zh-CN": {
      sms: {
        body: `最后通知：您的借款{{amountDue}}已逾期{{daysPastDue}}天，如未还款或达成协议，将转交法律途径处理。编号{{paymentReference}}。${ZH_NOW}`,
      },
      email: {
        subject: "最后通知：{{amountDue}}",
        body: `尊敬的{{name}}：\n\n最后通知：您的借款{{amountDue}}（到期日{{dueDate}}）已逾期{{daysPastDue}}天。${ZH_NOW}如未还款或达成还款协议，本账户将转交法律途径处理。\n\n编号：{{paymentReference}}。`,
      },
    },
  },
};

/** The borrower's personal link closes every built-in text; without a portal the section renders nothing. */
const PORTAL_LINES: Record<Locale, Record<"sms" | "email", string>> = {
  "en-US": {
    sms: "{{#portalLink}} Pay or tell us your plans: {{portalLink}}{{/portalLink}}",
    email: "{{#portalLink}}\n\nPay, promise a date or ask for a plan online: {{portalLink}}{{/portalLink}}",
  },
  "zh-CN": {
    sms: "{{#portalLink}}在线还款或协商：{{portalLink}}{{/portalLink}}",
    email: "{{#portalLink}}\n\n在线还款、承诺还款日期或申请分期：{{portalLink}}{{/portalLink}}",
  },
};

export const BUILT_IN_TEMPLATES: MessageTemplates = Object.fromEntries(
  Object.entries(WORDED).map(([id, locales]) => [
    id,
    Object.fromEntries(
      Object.entries(locales).map(([locale, parts]) => [
        locale,
        Object.fromEntries(
          Object.entries(parts ?? {}).map(([channel, part]) => [
            channel,
            { ...part, body: `${part.body}${PORTAL_LINES[locale as Locale][channel as "sms" | "email"]}` },
          ]),
        ),
      ]),
    ),
  ]),
);

/** A policy's templates; policies stored before templates were policy data use the built-in texts. */
export function templatesOf(policy: { templates?: MessageTemplates | undefined }): MessageTemplates {
  if (!policy.templates) return BUILT_IN_TEMPLATES;
  // A policy that does not word its own first notice sends the built-in one.
  if (Object.hasOwn(policy.templates, "first_notice")) return policy.templates;
  return { first_notice: BUILT_IN_TEMPLATES.first_notice as MessageTemplates[string], ...policy.templates };
}

/**
 * Renders a template of a policy for one borrower. The opt-out notice is the product's, appended to every
 * message: a policy cannot remove or reword it.
 */
export function renderMessage(
  templates: MessageTemplates,
  templateId: string,
  locale: Locale,
  channel: Channel,
  variables: MessageVariables,
): MessageContent {
  const spec = channelSpec(channel);
  const texts = templates[templateId]?.[locale]?.[channel];
  if (!texts?.body || (spec.parts.subject !== undefined && texts.subject === undefined)) {
    throw new RangeError(`no template ${templateId} for ${locale} ${channel}`);
  }
  // Plain text messages: no HTML escaping of borrower names or amounts.
  const render = (text: string) => Mustache.render(text, variables, {}, { escape: (value: string) => value });
  const body = `${render(texts.body)}${spec.optOutSeparator}${spec.optOut[locale]}`;
  return spec.parts.subject !== undefined ? { subject: render(texts.subject as string), body } : { body };
}
