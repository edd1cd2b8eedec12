import type { Channel, Locale } from "../domain/channels.ts";
import type { VerifyView } from "./view.ts";

/**
 * The borrower page's words, one catalog per locale. Texts are plain (never HTML): the pages escape every one,
 * including what the functions build from values of the view. The tone is a reminder's, never a threat's.
 */
export interface PortalStrings {
  /** The locale the catalog is written in: the page's `lang`. */
  lang: Locale;
  /** Channel names as they read inside a sentence. */
  channel: Record<Channel, string>;
  /** Joins a list of channel names. */
  listSeparator: string;
  notFound: { title: string; heading: string; body: string };
  locked: { title: string; heading: string; body: string };
  verify: {
    title: string;
    heading: string;
    intro: string;
    label: Record<VerifyView["factor"], string>;
    /** Under the ID field: some ID numbers end in a letter. */
    idHint: string;
    submit: string;
    wrongAnswer(attemptsLeft: number): string;
  };
  case: {
    title: string;
    heading(loanReference: string): string;
    greeting(borrowerName: string): string;
    dueHeading: string;
    amountDue: string;
    dueDate: string;
    daysPastDue(days: number): string;
    pay: string;
    payNote: string;
    nextContactHeading: string;
    nextContact(at: string, channels: string): string;
    noContact: string;
    standingHeading: string;
    standingPromise(until: string): string;
    standingDispute: string;
    promiseHeading: string;
    promiseIntro: string;
    promiseLabel: string;
    promiseSubmit: string;
    disputeHeading: string;
    disputeIntro: string;
    disputeLabel: string;
    disputeHint: string;
    disputeSubmit: string;
    planHeading: string;
    planIntro: string;
    planOption(months: number, installment: string): string;
    planSubmit(months: number): string;
    timeHeading: string;
    timeIntro(earliest: string, latest: string): string;
    timeLabel: string;
    timeSubmit: string;
    timeCurrent(time: string): string;
    optOutHeading: string;
    optOutIntro: string;
    optOutSubmit(channel: string): string;
    optedOut(channel: string): string;
  };
  done: {
    title: string;
    heading: string;
    promise(date: string): string;
    dispute: string;
    optOut(channel: string): string;
    planApplied(months: number): string;
    contactTime(time: string | null): string;
    planSent(months: number): string;
    back: string;
  };
}

const ZH_CN: PortalStrings = {
  lang: "zh-CN",
  channel: { sms: "短信", email: "邮件" },
  listSeparator: "、",
  notFound: {
    title: "链接无效",
    heading: "链接无效或已过期",
    body: "请检查链接是否完整，或直接联系您的贷款机构。",
  },
  locked: {
    title: "暂时无法验证",
    heading: "尝试次数过多",
    body: "为保护您的信息安全，此链接今天已暂停验证。请明天再试，或直接联系您的贷款机构。",
  },
  verify: {
    title: "验证身份",
    heading: "请先验证您的身份",
    intro: "为保护您的个人信息，查看贷款详情前，请先完成身份验证。",
    label: { date_of_birth: "出生日期", id_last4: "身份证号码后 4 位", phone_last4: "手机号码后 4 位" },
    idHint: "如最后一位是字母 X，请输入 X。",
    submit: "确认",
    wrongAnswer: (n) => (n > 0 ? `您输入的信息与记录不符，还可以再试 ${n} 次。` : "您输入的信息与记录不符。"),
  },
  case: {
    title: "您的贷款",
    heading: (ref) => `贷款 ${ref}`,
    greeting: (name) => `${name}，您好。`,
    dueHeading: "当前应还",
    amountDue: "应还金额",
    dueDate: "到期日",
    daysPastDue: (days) => `已逾期 ${days} 天`,
    pay: "去还款",
    payNote: "将打开贷款机构的还款页面。",
    nextContactHeading: "下一次提醒",
    nextContact: (at, channels) => `我们计划于 ${at} 通过${channels}提醒您。`,
    noContact: "目前没有安排提醒。",
    standingHeading: "您的当前情况",
    standingPromise: (until) => `您已承诺在 ${until} 前还款，在此之前我们会暂停提醒。`,
    standingDispute: "您提出的异议正在核实中，核实期间我们不会就这笔款项联系您。",
    promiseHeading: "约定还款日期",
    promiseIntro: "如果今天不方便还款，请告诉我们您能还款的日期。",
    promiseLabel: "我将在此日期前还款",
    promiseSubmit: "提交还款日期",
    disputeHeading: "对这笔款项有疑问",
    disputeIntro: "如果您认为金额有误，或这笔贷款与您无关，请告诉我们原因，我们会认真核实。",
    disputeLabel: "请说明原因",
    disputeHint: "最多 500 字。",
    disputeSubmit: "提交异议",
    planHeading: "申请分期还款",
    planIntro: "如果一次还清有困难，可以按月分期还款。",
    planOption: (months, installment) => `分 ${months} 期，每月约 ${installment}`,
    planSubmit: (months) => `申请分 ${months} 期`,
    timeHeading: "提醒时间",
    timeIntro: (earliest, latest) =>
      `您可以选择每天接收提醒的时间（${earliest} 至 ${latest} 之间）。留空则按原定时间提醒。`,
    timeLabel: "希望在此时间提醒我",
    timeSubmit: "保存提醒时间",
    timeCurrent: (time) => `当前：每天 ${time}。`,
    optOutHeading: "提醒方式",
    optOutIntro: "您可以停止某种方式的提醒。停止提醒不会改变应还金额。",
    optOutSubmit: (channel) => `停止${channel}提醒`,
    optedOut: (channel) => `您已停止接收${channel}提醒。`,
  },
  done: {
    title: "已收到",
    heading: "谢谢，我们已收到",
    promise: (date) => `我们已记录您将在 ${date} 前还款。`,
    dispute: "我们已收到您的异议。核实期间，我们不会就这笔款项联系您。",
    optOut: (channel) => `您将不再收到${channel}提醒。`,
    contactTime: (time) => (time ? `今后我们会在 ${time} 左右提醒您。` : "今后我们将按原定时间提醒您。"),
    planApplied: (months) => `您的 ${months} 期分期还款计划已生效，我们会在每期到期前提醒您。`,
    planSent: (months) => `您的 ${months} 期分期申请已提交，贷款方审核后会通知您。`,
    back: "返回贷款详情",
  },
};

const EN_US: PortalStrings = {
  lang: "en-US",
  channel: { sms: "SMS", email: "email" },
  listSeparator: ", ",
  notFound: {
    title: "Link not valid",
    heading: "This link is not valid or has expired",
    body: "Please check that the link is complete, or contact your lender directly.",
  },
  locked: {
    title: "Verification paused",
    heading: "Too many attempts",
    body: "To protect your information, this link is paused for today. Please try again tomorrow, or contact your lender directly.",
  },
  verify: {
    title: "Confirm it's you",
    heading: "Please confirm it's you",
    intro:
      "To protect your personal information, please confirm who you are before we show your loan details.",
    label: {
      date_of_birth: "Your date of birth",
      id_last4: "Last 4 characters of your ID number",
      phone_last4: "Last 4 digits of your phone number",
    },
    idHint: "If it ends in the letter X, type X.",
    submit: "Continue",
    wrongAnswer: (n) =>
      n > 0
        ? `That answer doesn't match our records. You have ${n} ${n === 1 ? "attempt" : "attempts"} left.`
        : "That answer doesn't match our records.",
  },
  case: {
    title: "Your loan",
    heading: (ref) => `Loan ${ref}`,
    greeting: (name) => `Hello, ${name}.`,
    dueHeading: "Due now",
    amountDue: "Amount due",
    dueDate: "Due date",
    daysPastDue: (days) => `${days} ${days === 1 ? "day" : "days"} past due`,
    pay: "Pay now",
    payNote: "Opens your lender's payment page.",
    nextContactHeading: "Next reminder",
    nextContact: (at, channels) => `We plan to remind you on ${at} by ${channels}.`,
    noContact: "No reminder is planned at the moment.",
    standingHeading: "Where things stand",
    standingPromise: (until) => `You told us you will pay by ${until}. Reminders are paused until then.`,
    standingDispute: "Your dispute is being reviewed. We will not contact you about this amount meanwhile.",
    promiseHeading: "Choose a date to pay",
    promiseIntro: "If you can't pay today, let us know the date you will pay.",
    promiseLabel: "I will pay by",
    promiseSubmit: "Send my date",
    disputeHeading: "Question this amount",
    disputeIntro:
      "If you believe the amount is wrong or this loan is not yours, tell us why and we will look into it.",
    disputeLabel: "What is wrong?",
    disputeHint: "Up to 500 characters.",
    disputeSubmit: "Send",
    planHeading: "Pay in installments",
    planIntro: "If paying it all at once is hard, you can pay monthly instead.",
    planOption: (months, installment) => `${months} monthly payments of about ${installment}`,
    planSubmit: (months) => `Ask for ${months} months`,
    timeHeading: "When we remind you",
    timeIntro: (earliest, latest) =>
      `Choose the time of day reminders come at (from ${earliest} to before ${latest}). Leave it empty for our usual times.`,
    timeLabel: "Remind me at",
    timeSubmit: "Save my time",
    timeCurrent: (time) => `Now: ${time} each day.`,
    optOutHeading: "How we remind you",
    optOutIntro: "You can stop reminders on a channel. This does not change the amount due.",
    optOutSubmit: (channel) => `Stop ${channel} reminders`,
    optedOut: (channel) => `You have stopped ${channel} reminders.`,
  },
  done: {
    title: "Received",
    heading: "Thank you",
    promise: (date) => `We have noted that you will pay by ${date}.`,
    dispute:
      "We have received your dispute. While it is reviewed, we will not contact you about this amount.",
    optOut: (channel) => `You will no longer receive ${channel} reminders.`,
    contactTime: (time) =>
      time
        ? `From now on we will remind you at about ${time}.`
        : "From now on we will remind you at our usual times.",
    planApplied: (months) =>
      `Your plan of ${months} monthly payments is in place; we will remind you before each one.`,
    planSent: (months) =>
      `Your request for ${months} monthly payments has been sent to your lender, who will reply.`,
    back: "Back to your loan",
  },
};

export const PORTAL_STRINGS: Record<Locale, PortalStrings> = { "zh-CN": ZH_CN, "en-US": EN_US };

/** The catalog for a locale; an unknown one (a stored value from elsewhere) reads as en-US. */
export function portalStrings(locale: Locale): PortalStrings {
  return PORTAL_STRINGS[locale] ?? EN_US;
}
