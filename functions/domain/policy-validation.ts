import { DateTime, Duration } from "luxon";
import { type Charges, MAX_CAP_PERCENT } from "./charges.ts";
import { exceedsMaxAmount, MAX_AMOUNT } from "./money.ts";
import {
  CAPS_SCOPES,
  type CallRulesChoice,
  CHANNELS,
  type ContactRules,
  FIRST_NOTICE_STEP,
  firstNoticeOf,
  offsetLabel,
  type Policy,
  type PolicyRules,
  type PolicyStep,
  RULE_PACKS,
  rulesOf,
  STEP_TASKS,
  type StepTask,
} from "./policy.ts";
import { MAX_SCHEDULE_INSTALLMENTS } from "./schedule.ts";
import { checkSelfService } from "./self-service.ts";
import { checkTemplateCoverage, checkTemplateTexts } from "./template-validation.ts";
import { type MessageTemplates, templatesOf } from "./templates.ts";
import { CALL_RULE_LIMITS, callRulesIssues, RULE_PACK_DEFAULTS } from "./work/call-rules.ts";

export type { PolicyRules } from "./policy.ts";

export interface PolicyIssue {
  path: string;
  message: string;
}

/** The legal limit on contact (borrower local time): every policy's window lies inside it. */
export const LEGAL_WINDOW = { start: "08:00", end: "21:00" } as const;
export const MIN_OFFSET_DAYS = -60;
export const MAX_OFFSET_DAYS = 365;

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;
const DECIMAL = /^(0|[1-9]\d{0,14})(\.\d{1,8})?$/;
const STAGES = ["pre_due", "soft_collection"];

/**
 * Every domain rule a policy breaks, each with the path of the offending field (empty when it is valid).
 * Pure: the API refuses a policy with these as `details`.
 */
export function validatePolicy(rules: PolicyRules): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  const issue = (path: string, message: string) => issues.push({ path, message });
  const window = rules.contactWindow;
  const windowValid = checkWindow(window, issue);
  const templates = templatesOf(rules);
  const fallback = rulesOf(rules).fallback;

  if (rules.steps.length === 0) issue("steps", "a policy needs at least one step");
  const seen = new Map<string, number>();
  rules.steps.forEach((step, i) => {
    const at = `steps[${i}]`;
    const first = seen.get(step.id);
    if (first !== undefined) issue(`${at}.id`, `duplicate step id "${step.id}" (also steps[${first}])`);
    else seen.set(step.id, i);
    if (step.id === FIRST_NOTICE_STEP)
      issue(`${at}.id`, `"${FIRST_NOTICE_STEP}" is reserved for the first notice (see firstNotice)`);
    if (!STAGES.includes(step.stage)) issue(`${at}.stage`, "must be pre_due or soft_collection");
    if (
      !Number.isInteger(step.offsetDays) ||
      step.offsetDays < MIN_OFFSET_DAYS ||
      step.offsetDays > MAX_OFFSET_DAYS
    ) {
      issue(
        `${at}.offsetDays`,
        `must be a whole number of days from ${MIN_OFFSET_DAYS} to +${MAX_OFFSET_DAYS}`,
      );
    } else if (step.stage === "pre_due" && step.offsetDays > 0) {
      issue(`${at}.offsetDays`, "a pre_due step must be on or before the due date (offset ≤ 0)");
    } else if (step.stage === "soft_collection" && step.offsetDays <= 0) {
      issue(`${at}.offsetDays`, "a soft_collection step must be after the due date (offset > 0)");
    }
    checkTime(`${at}.sendAt`, step.sendAt, windowValid ? window : null, issue);
    if (step.task !== undefined) checkTaskStep(step, at, issue);
    else checkMessageStep(step, at, templates, issue);
    const previous = rules.steps[i - 1];
    if (previous) checkOrder(previous, step, i, issue);
  });

  checkHandOff(rules, issue);
  if (rules.maxLateness !== undefined) checkMaxLateness(rules.maxLateness, issue);
  checkFirstNotice(rules, templates, issue);

  checkCharges(rules.charges, issue);
  if (rules.contactRules) checkContactRules(rules.contactRules, issue);
  const messageSteps = rules.steps.filter((step) => step.task === undefined);
  checkTemplateCoverage([...messageSteps, firstNoticeOf(rules)], templates, fallback, issue);
  if (rules.callRules) checkCallRules(rules.callRules, issue);
  checkTemplateTexts(templates, issue);
  if (rules.selfService) checkSelfService(rules.selfService, issue);
  return issues;
}

/** A message step: known channels, each once, and a known template. */
function checkMessageStep(step: PolicyStep, at: string, templates: MessageTemplates, issue: Issue): void {
  if (step.channels.length === 0) issue(`${at}.channels`, "at least one channel is required");
  step.channels.forEach((channel, c) => {
    if (!CHANNELS.includes(channel))
      issue(`${at}.channels[${c}]`, `unknown channel "${channel}" (sms or email)`);
  });
  if (new Set(step.channels).size !== step.channels.length)
    issue(`${at}.channels`, "a channel is listed twice");
  if (!Object.hasOwn(templates, step.template)) {
    const known = Object.keys(templates).join(", ");
    issue(`${at}.template`, `unknown template "${step.template}"; known: ${known}`);
  }
}

/** A call or visit step: a known task, and no channels (the collection team makes the contact, not a sender). */
function checkTaskStep(step: PolicyStep, at: string, issue: Issue): void {
  if (!STEP_TASKS.includes(step.task as StepTask))
    issue(`${at}.task`, `must be one of ${STEP_TASKS.join(", ")}`);
  if (step.channels.length > 0)
    issue(`${at}.channels`, "a call or visit step sends no message: leave channels empty");
}

/** The rule pack is one the product knows, and limits set in its place are sane. */
function checkCallRules(choice: CallRulesChoice, issue: Issue): void {
  if (!RULE_PACKS.includes(choice.rulePack)) {
    issue("callRules.rulePack", `must be one of ${RULE_PACKS.join(", ")}`);
    return;
  }
  const unknown = Object.keys(choice.overrides ?? {}).filter((key) => !CALL_RULE_LIMITS.includes(key));
  for (const key of unknown)
    issue(`callRules.overrides.${key}`, `unknown limit; known: ${CALL_RULE_LIMITS.join(", ")}`);
  if (unknown.length > 0) return;
  const pack: Record<string, number | undefined> = { ...RULE_PACK_DEFAULTS[choice.rulePack] };
  const limits = { ...RULE_PACK_DEFAULTS[choice.rulePack], ...choice.overrides };
  for (const problem of callRulesIssues(limits)) issue("callRules.overrides", problem);
  // The pack is the law of the market: a policy may be stricter, never looser (visits may need more staff).
  for (const [key, value] of Object.entries(choice.overrides ?? {})) {
    const legal = pack[key];
    if (legal === undefined) continue;
    const looser = key === "visitStaff" ? value < legal : value > legal;
    if (looser)
      issue(`callRules.overrides.${key}`, `may only be stricter than ${choice.rulePack}'s ${legal}`);
  }
}

type Issue = (path: string, message: string) => void;

/**
 * The hand-off comes after the last soft-collection step, at a time of day; its notice period and missed
 * installments, when given, are whole numbers in range.
 */
function checkHandOff(rules: PolicyRules, issue: (path: string, message: string) => void): void {
  const lastSoft = rules.steps.filter((s) => s.stage === "soft_collection").at(-1);
  const lastStep = rules.steps.at(-1);
  const handOffAfter = lastSoft ?? lastStep;
  if (
    !Number.isInteger(rules.handOff.offsetDays) ||
    rules.handOff.offsetDays < 1 ||
    rules.handOff.offsetDays > MAX_OFFSET_DAYS
  ) {
    issue("handOff.offsetDays", `must be a whole number of days from 1 to ${MAX_OFFSET_DAYS}`);
  } else if (handOffAfter && rules.handOff.offsetDays <= handOffAfter.offsetDays) {
    issue(
      "handOff.offsetDays",
      `the hand-off must come after the last soft-collection step (D+${handOffAfter.offsetDays})`,
    );
  }
  checkTime("handOff.at", rules.handOff.at, null, issue);
  const minDays = rules.handOff.minDaysAfterFirstContact;
  if (minDays !== undefined && (!Number.isInteger(minDays) || minDays < 0 || minDays > MAX_OFFSET_DAYS)) {
    issue("handOff.minDaysAfterFirstContact", `must be a whole number of days from 0 to ${MAX_OFFSET_DAYS}`);
  }
  const missed = rules.handOff.afterMissedInstallments;
  if (
    missed !== undefined &&
    (!Number.isInteger(missed) || missed < 1 || missed > MAX_SCHEDULE_INSTALLMENTS)
  ) {
    issue(
      "handOff.afterMissedInstallments",
      `must be a whole number of installments from 1 to ${MAX_SCHEDULE_INSTALLMENTS}`,
    );
  }
}

/** The longest lateness a policy may allow: a year, like the furthest step. */
const MAX_LATENESS_DAYS = 365;

function checkMaxLateness(value: string, issue: (path: string, message: string) => void): void {
  const duration = Duration.fromISO(value);
  const ms = duration.isValid ? duration.toMillis() : Number.NaN;
  if (!(ms >= 60_000 && ms <= MAX_LATENESS_DAYS * 86_400_000) || /[YM].*T|^P\d+[YM]/.test(value)) {
    issue(
      "maxLateness",
      `must be an ISO 8601 duration in weeks, days, hours or minutes from PT1M to P${MAX_LATENESS_DAYS}D, such as PT12H or P2D`,
    );
  }
}

/** The first notice's channels and template, covered like a step's (it is sent as one). */
function checkFirstNotice(
  rules: PolicyRules,
  templates: MessageTemplates,
  issue: (path: string, message: string) => void,
): void {
  if (!rules.firstNotice) return;
  const { channels, template } = rules.firstNotice;
  if (channels.length === 0) issue("firstNotice.channels", "at least one channel is required");
  channels.forEach((channel, c) => {
    if (!CHANNELS.includes(channel))
      issue(`firstNotice.channels[${c}]`, `unknown channel "${channel}" (sms or email)`);
  });
  if (new Set(channels).size !== channels.length) issue("firstNotice.channels", "a channel is listed twice");
  if (!Object.hasOwn(templates, template)) {
    issue(
      "firstNotice.template",
      `unknown template "${template}"; known: ${Object.keys(templates).join(", ")}`,
    );
  }
}

function checkWindow(
  window: Policy["contactWindow"],
  issue: (path: string, message: string) => void,
): boolean {
  let valid = true;
  for (const side of ["start", "end"] as const) {
    if (!HHMM.test(window[side])) {
      issue(`contactWindow.${side}`, "must be a time as HH:mm");
      valid = false;
    } else if (window[side] < LEGAL_WINDOW.start || window[side] > LEGAL_WINDOW.end) {
      issue(
        `contactWindow.${side}`,
        `must lie within the legal limit ${LEGAL_WINDOW.start}–${LEGAL_WINDOW.end}`,
      );
      valid = false;
    }
  }
  if (valid && window.start >= window.end) {
    issue("contactWindow", `start (${window.start}) must be before end (${window.end})`);
    valid = false;
  }
  return valid;
}

function checkTime(
  path: string,
  value: string,
  window: Policy["contactWindow"] | null,
  issue: (path: string, message: string) => void,
): void {
  if (!HHMM.test(value)) issue(path, "must be a time as HH:mm");
  else if (window && (value < window.start || value >= window.end)) {
    issue(path, `${value} is outside the contact window ${window.start}–${window.end}`);
  }
}

function checkOrder(
  previous: PolicyStep,
  step: PolicyStep,
  i: number,
  issue: (path: string, message: string) => void,
) {
  if (step.offsetDays < previous.offsetDays) {
    issue(
      `steps[${i}].offsetDays`,
      `steps must be ordered by offset: D${offsetLabel(step.offsetDays)} comes after D${offsetLabel(previous.offsetDays)}`,
    );
  } else if (step.offsetDays === previous.offsetDays) {
    if (step.sendAt === previous.sendAt) {
      issue(
        `steps[${i}]`,
        `overlaps steps[${i - 1}]: both at D${offsetLabel(step.offsetDays)} ${step.sendAt}`,
      );
    } else if (step.sendAt < previous.sendAt) {
      issue(
        `steps[${i}].sendAt`,
        `steps on the same day must be ordered by time: ${step.sendAt} comes after ${previous.sendAt}`,
      );
    }
  }
}

function checkCharges(charges: Charges, issue: (path: string, message: string) => void): void {
  for (const field of ["lateFee", "dailyPenaltyRate", "capPercentOfPrincipal"] as const) {
    if (!DECIMAL.test(charges[field]))
      issue(`charges.${field}`, 'must be a non-negative decimal string such as "50.00"');
  }
  // A fee is an amount like any other; the cap below keeps every balance within twice the principal.
  if (DECIMAL.test(charges.lateFee) && exceedsMaxAmount(charges.lateFee)) {
    issue("charges.lateFee", `must be at most ${MAX_AMOUNT}, the largest amount accepted`);
  }
  if (
    DECIMAL.test(charges.capPercentOfPrincipal) &&
    Number(charges.capPercentOfPrincipal) > MAX_CAP_PERCENT
  ) {
    issue("charges.capPercentOfPrincipal", `must be from 0 to ${MAX_CAP_PERCENT}`);
  }
  if (
    !Number.isInteger(charges.lateFeeAfterDays) ||
    charges.lateFeeAfterDays < 0 ||
    charges.lateFeeAfterDays > MAX_OFFSET_DAYS
  ) {
    issue("charges.lateFeeAfterDays", `must be a whole number of days from 0 to ${MAX_OFFSET_DAYS}`);
  }
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

function checkContactRules(rules: ContactRules, issue: (path: string, message: string) => void): void {
  for (const cap of ["smsPerDay", "contactsPer7Days"] as const) {
    const value = rules.caps[cap];
    if (!Number.isInteger(value) || value < 1)
      issue(`contactRules.caps.${cap}`, "must be a positive whole number");
  }
  rules.quietDates.forEach((date, i) => {
    if (!ISO_DATE.test(date) || !DateTime.fromISO(date).isValid)
      issue(`contactRules.quietDates[${i}]`, "must be a calendar date as YYYY-MM-DD");
  });
  rules.quietWeekdays.forEach((day, i) => {
    if (!Number.isInteger(day) || day < 1 || day > 7)
      issue(`contactRules.quietWeekdays[${i}]`, "must be a weekday from 1 (Monday) to 7 (Sunday)");
  });
  if (!CAPS_SCOPES.includes(rules.capsPer))
    issue("contactRules.capsPer", 'must be "loan" (each loan\'s contacts) or "borrower" (all their loans)');
  if ([1, 2, 3, 4, 5, 6, 7].every((day) => rules.quietWeekdays.includes(day)))
    issue("contactRules.quietWeekdays", "at least one weekday must allow contact");
}
