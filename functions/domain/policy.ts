import { CHANNELS, type Channel, LOCALES, type Locale } from "./channels.ts";
import { type Charges, NO_CHARGES } from "./charges.ts";
import type { SelfService } from "./self-service.ts";
import { BUILT_IN_TEMPLATES, type MessageTemplates } from "./templates.ts";

// Channels and locales are their own module; policies name them, and importers have always found them here.
export { CHANNELS, type Channel, LOCALES, type Locale };

export type StepStage = "pre_due" | "soft_collection";

/** The rule packs a collection team may work under: the limits its market's law sets on calls and visits. */
export const RULE_PACKS = ["cn", "us-federal", "us-ma"] as const;
export type RulePackName = (typeof RULE_PACKS)[number];

/** A rule pack for calls and visits, and limits the policy sets in place of the pack's (see CallRules). */
export interface CallRulesChoice {
  rulePack: RulePackName;
  overrides?: Record<string, number>;
}

/** One scheduled contact: at `offsetDays` from the due date, at `sendAt` in the borrower's local time. */
export interface PolicyStep {
  id: string;
  stage: StepStage;
  offsetDays: number;
  /** Local wall-clock time, HH:mm. */
  sendAt: string;
  channels: Channel[];
  template: string;
  /**
   * A step done by the tenant's collection team instead of a message: at its moment (inside the contact window,
   * after the rules) it becomes a work item to call or visit the borrower; `channels` is empty.
   */
  task?: StepTask;
}

export type StepTask = "call" | "visit";
export const STEP_TASKS: readonly StepTask[] = ["call", "visit"];

export interface Policy {
  id: string;
  version: number;
  /** Ordered by offset. */
  steps: PolicyStep[];
  handOff: HandOffRule;
  /** Contact is allowed from `start` (inclusive) to `end` (exclusive), borrower local time. */
  contactWindow: { start: string; end: string };
  charges: Charges;
  /** Frequency caps, quiet days and channel fallback; absent in policies stored before they existed. */
  contactRules?: ContactRules;
  /** The limits on the collection team's calls and visits: a rule pack, and limits of its own (absent: "cn"). */
  callRules?: CallRulesChoice;
  /**
   * The message texts its steps send, versioned with the policy; absent in policies stored before templates
   * were policy data, which send the built-in texts (see templatesOf).
   */
  templates?: MessageTemplates;
  /**
   * How late a due step may still go out, as an ISO 8601 duration ("PT12H", "P2D"): a step found later than
   * this (the runtime was down, or the rules of contact held it back) is skipped on the record instead of
   * sent out of its moment. Absent: no limit.
   */
  maxLateness?: string;
  /** The notice a loan subscribed already past due gets first (see firstNoticeOf for the default). */
  firstNotice?: FirstNotice;
  /** What a borrower may do on the self-service page; absent: DEFAULT_SELF_SERVICE. */
  selfService?: SelfService;
}

/**
 * When the case goes to legal, at `at`: `offsetDays` after the due date (on installments, the oldest unpaid one's),
 * or the day after the `afterMissedInstallments`-th unpaid installment fell due if that is earlier — never before
 * notice was given.
 */
export interface HandOffRule {
  /** Days past due (the contract's `afterDaysPastDue`). */
  offsetDays: number;
  at: string;
  /** Unpaid installments that hand the case off once the last of them is a day overdue; absent: days alone. */
  afterMissedInstallments?: number;
  /**
   * Days that must pass after a message first reached the borrower before the hand-off (default 14): no one is
   * handed to legal without notice and time to answer it.
   */
  minDaysAfterFirstContact?: number;
}

/** When a rule hands off, as people read it: "D+30", or "D+120 or 3 missed installments" (the earlier). */
export function handOffLabel(rule: Pick<HandOffRule, "offsetDays" | "afterMissedInstallments">): string {
  const missed = rule.afterMissedInstallments;
  return `D+${rule.offsetDays}${missed ? ` or ${missed} missed installments` : ""}`;
}

/** The first notice of a loan subscribed past due: the amount owed and how to pay or dispute it. */
export interface FirstNotice {
  channels: Channel[];
  template: string;
}

export const DEFAULT_MIN_DAYS_AFTER_FIRST_CONTACT = 14;
/** The step id of the first notice: reserved, no policy step may use it. */
export const FIRST_NOTICE_STEP = "first_notice";
export const DEFAULT_FIRST_NOTICE: FirstNotice = { channels: ["email", "sms"], template: "first_notice" };

export function minDaysAfterFirstContact(policy: Pick<Policy, "handOff">): number {
  return policy.handOff.minDaysAfterFirstContact ?? DEFAULT_MIN_DAYS_AFTER_FIRST_CONTACT;
}

/**
 * The first notice as a step of the policy: sent at once (inside the contact window and the caps) when a loan
 * is subscribed already past due, before any soft-collection step.
 */
export function firstNoticeOf(policy: Pick<Policy, "firstNotice">): PolicyStep {
  const notice = policy.firstNotice ?? DEFAULT_FIRST_NOTICE;
  return {
    id: FIRST_NOTICE_STEP,
    stage: "soft_collection",
    offsetDays: 0,
    sendAt: "00:00",
    channels: [...notice.channels],
    template: notice.template,
  };
}

/** Contact rules enforced at send time (see rulesOf for the defaults). */
export interface ContactRules {
  caps: { smsPerDay: number; contactsPer7Days: number };
  /** Borrower-local dates (YYYY-MM-DD) with no contact: the tenant's holidays. */
  quietDates: string[];
  /** ISO weekdays (1 = Monday … 7 = Sunday) with no contact. */
  quietWeekdays: number[];
  /** A channel that cannot reach the borrower is replaced by the other one when that is allowed. */
  fallback: boolean;
  /**
   * What the caps count: each loan's own contacts ("loan", per debt as Reg F counts them) or every contact
   * with the borrower across all their loans with the tenant ("borrower").
   */
  capsPer: CapsScope;
}

export type CapsScope = "loan" | "borrower";
export const CAPS_SCOPES: readonly CapsScope[] = ["loan", "borrower"];

export const DEFAULT_CONTACT_RULES: ContactRules = {
  caps: { smsPerDay: 1, contactsPer7Days: 7 },
  quietDates: [],
  quietWeekdays: [],
  fallback: true,
  capsPer: "loan",
};

/** Contact rules as a client may give them: any part left out takes its default. */
export interface ContactRulesInput {
  caps?: { smsPerDay?: number | undefined; contactsPer7Days?: number | undefined } | undefined;
  quietDates?: string[] | undefined;
  quietWeekdays?: number[] | undefined;
  fallback?: boolean | undefined;
  capsPer?: CapsScope | undefined;
}

/** A policy's contact rules, defaults filled in. */
export function rulesOf(policy: { contactRules?: ContactRulesInput | undefined }): ContactRules {
  const rules = policy.contactRules;
  return {
    caps: {
      smsPerDay: rules?.caps?.smsPerDay ?? DEFAULT_CONTACT_RULES.caps.smsPerDay,
      contactsPer7Days: rules?.caps?.contactsPer7Days ?? DEFAULT_CONTACT_RULES.caps.contactsPer7Days,
    },
    quietDates: rules?.quietDates ?? DEFAULT_CONTACT_RULES.quietDates,
    quietWeekdays: rules?.quietWeekdays ?? DEFAULT_CONTACT_RULES.quietWeekdays,
    fallback: rules?.fallback ?? DEFAULT_CONTACT_RULES.fallback,
    capsPer: rules?.capsPer ?? DEFAULT_CONTACT_RULES.capsPer,
  };
}

/**
 * Since when the built-in default (version 1) holds, as its policy history shows it: the first day a loan may
 * fall due (due dates run from 2000-01-01), so it precedes every case it ever governs, whatever the clock.
 */
export const DEFAULT_POLICY_SINCE = "2000-01-01T00:00:00Z";

/** The default policy from the domain description: 10:00 local, D−7 … D+21, legal at D+30. */
export const DEFAULT_POLICY: Policy = {
  id: "default",
  version: 1,
  steps: [
    {
      id: "pre_due_7",
      stage: "pre_due",
      offsetDays: -7,
      sendAt: "10:00",
      channels: ["email"],
      template: "reminder",
    },
    {
      id: "pre_due_3",
      stage: "pre_due",
      offsetDays: -3,
      sendAt: "10:00",
      channels: ["sms"],
      template: "reminder",
    },
    {
      id: "pre_due_1",
      stage: "pre_due",
      offsetDays: -1,
      sendAt: "10:00",
      channels: ["sms", "email"],
      template: "reminder",
    },
    {
      id: "due_day",
      stage: "pre_due",
      offsetDays: 0,
      sendAt: "10:00",
      channels: ["sms"],
      template: "due_today",
    },
    {
      id: "soft_1",
      stage: "soft_collection",
      offsetDays: 1,
      sendAt: "10:00",
      channels: ["sms", "email"],
      template: "overdue_gentle",
    },
    {
      id: "soft_3",
      stage: "soft_collection",
      offsetDays: 3,
      sendAt: "10:00",
      channels: ["sms"],
      template: "overdue_gentle",
    },
    {
      id: "soft_7",
      stage: "soft_collection",
      offsetDays: 7,
      sendAt: "10:00",
      channels: ["sms", "email"],
      template: "overdue_firm",
    },
    {
      id: "soft_15",
      stage: "soft_collection",
      offsetDays: 15,
      sendAt: "10:00",
      channels: ["sms", "email"],
      template: "overdue_firm",
    },
    {
      id: "final_notice_21",
      stage: "soft_collection",
      offsetDays: 21,
      sendAt: "10:00",
      channels: ["email"],
      template: "final_notice",
    },
  ],
  handOff: { offsetDays: 30, at: "10:00" },
  contactWindow: { start: "08:00", end: "21:00" },
  // The default charges nothing beyond the amount due; a lender's policy sets its lawful fee and rate.
  charges: NO_CHARGES,
  contactRules: DEFAULT_CONTACT_RULES,
  templates: BUILT_IN_TEMPLATES,
};

/**
 * What ops may change of a policy: everything but its id and version. Without templates, the built-in texts
 * apply (see templatesOf).
 */
export type PolicyRules = Pick<
  Policy,
  | "steps"
  | "handOff"
  | "contactWindow"
  | "charges"
  | "contactRules"
  | "templates"
  | "maxLateness"
  | "firstNotice"
  | "selfService"
  | "callRules"
>;

/** A day offset from the due date as it reads after "D": +3, 0, -7. */
export const offsetLabel = (n: number) => (n > 0 ? `+${n}` : n === 0 ? "0" : `${n}`);

export function findStep(policy: Policy, stepId: string): PolicyStep | undefined {
  if (stepId === FIRST_NOTICE_STEP) return firstNoticeOf(policy);
  return policy.steps.find((step) => step.id === stepId);
}
