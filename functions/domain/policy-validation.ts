import { DateTime } from "luxon";
import type { Charges } from "./charges.ts";
import { CHANNELS, type ContactRules, type Policy, type PolicyStep } from "./policy.ts";
import { templateIds } from "./templates.ts";

/** What ops may change of a policy: everything but its id and version. */
export type PolicyRules = Pick<Policy, "steps" | "handOff" | "contactWindow" | "charges" | "contactRules">;

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
  const templates = new Set(templateIds());

  if (rules.steps.length === 0) issue("steps", "a policy needs at least one step");
  const seen = new Map<string, number>();
  rules.steps.forEach((step, i) => {
    const at = `steps[${i}]`;
    const first = seen.get(step.id);
    if (first !== undefined) issue(`${at}.id`, `duplicate step id "${step.id}" (also steps[${first}])`);
    else seen.set(step.id, i);
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
    if (step.channels.length === 0) issue(`${at}.channels`, "at least one channel is required");
    step.channels.forEach((channel, c) => {
      if (!CHANNELS.includes(channel))
        issue(`${at}.channels[${c}]`, `unknown channel "${channel}" (sms or email)`);
    });
    if (new Set(step.channels).size !== step.channels.length)
      issue(`${at}.channels`, "a channel is listed twice");
    if (!templates.has(step.template)) {
      issue(`${at}.template`, `unknown template "${step.template}"; known: ${[...templates].join(", ")}`);
    }
    const previous = rules.steps[i - 1];
    if (previous) checkOrder(previous, step, i, issue);
  });

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

  checkCharges(rules.charges, issue);
  if (rules.contactRules) checkContactRules(rules.contactRules, issue);
  return issues;
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
      `steps must be ordered by offset: D${signed(step.offsetDays)} comes after D${signed(previous.offsetDays)}`,
    );
  } else if (step.offsetDays === previous.offsetDays) {
    if (step.sendAt === previous.sendAt) {
      issue(`steps[${i}]`, `overlaps steps[${i - 1}]: both at D${signed(step.offsetDays)} ${step.sendAt}`);
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
  if (DECIMAL.test(charges.capPercentOfPrincipal) && Number(charges.capPercentOfPrincipal) > 100) {
    issue("charges.capPercentOfPrincipal", "must be from 0 to 100");
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
  if ([1, 2, 3, 4, 5, 6, 7].every((day) => rules.quietWeekdays.includes(day)))
    issue("contactRules.quietWeekdays", "at least one weekday must allow contact");
}

const signed = (n: number) => (n > 0 ? `+${n}` : n === 0 ? "0" : `${n}`);

export interface PolicyChange {
  path: string;
  from?: unknown;
  to?: unknown;
}

/** What changed from one version to the next: steps added, removed or moved, and other fields changed. */
export function policyChanges(before: PolicyRules, after: PolicyRules): PolicyChange[] {
  const changes: PolicyChange[] = [];
  const old = new Map(before.steps.map((s) => [s.id, s]));
  const next = new Map(after.steps.map((s) => [s.id, s]));
  for (const step of before.steps) {
    if (!next.has(step.id)) changes.push({ path: `steps.${step.id}`, from: when(step) });
  }
  for (const step of after.steps) {
    const was = old.get(step.id);
    if (!was) {
      changes.push({ path: `steps.${step.id}`, to: when(step) });
      continue;
    }
    if (when(was) !== when(step)) changes.push({ path: `steps.${step.id}`, from: when(was), to: when(step) });
    for (const field of ["stage", "channels", "template"] as const) {
      if (JSON.stringify(was[field]) !== JSON.stringify(step[field])) {
        changes.push({ path: `steps.${step.id}.${field}`, from: was[field], to: step[field] });
      }
    }
  }
  for (const field of ["handOff", "contactWindow", "charges", "contactRules"] as const) {
    if (JSON.stringify(before[field]) !== JSON.stringify(after[field])) {
      changes.push({ path: field, from: before[field], to: after[field] });
    }
  }
  return changes;
}

const when = (step: PolicyStep) => `D${signed(step.offsetDays)} ${step.sendAt}`;
