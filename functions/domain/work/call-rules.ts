import { DateTime } from "luxon";
import { isInsideWindow, nextAllowedInstant } from "../contact-window.ts";
import { type Policy, RULE_PACKS, type RulePackName } from "../policy.ts";
import { isValidTimeZone, toInstant } from "../time.ts";

export { RULE_PACKS, type RulePackName };

/** The limits on calls and home visits; a limit left out does not apply. */
export interface CallRules {
  /** Connected calls (a conversation took place) per debtor per borrower-local day. */
  connectedCallsPerDebtorPerDay?: number;
  /** Call attempts, answered or not, to one phone number per borrower-local day. */
  attemptsPerNumberPerDay?: number;
  /** Call attempts, to any number, in a rolling 7 × 24 h about one debt. */
  attemptsPer7DaysPerDebt?: number;
  /** Days (rolling, 24 h each) without a call after a telephone conversation. */
  quietDaysAfterConversation?: number;
  /** Contacts that reached the borrower (conversations and visits) in a rolling 7 × 24 h. */
  contactsPer7Days?: number;
  /** Staff who must be named on a home visit. */
  visitStaff: number;
}

const US_FEDERAL: CallRules = Object.freeze({
  // Regulation F (12 CFR 1006.14(b)): presumed harassment past 7 attempts in 7 days, or within 7 days of a
  // conversation. Its periods are 7 consecutive calendar days; a rolling 7 × 24 h is never shorter, so stricter.
  attemptsPer7DaysPerDebt: 7,
  quietDaysAfterConversation: 7,
  visitStaff: 2,
});

export const RULE_PACK_DEFAULTS: Record<RulePackName, CallRules> = Object.freeze({
  // China: at most 3 connected calls per debtor and 6 attempts per number a day (2025 guideline, CBA 2026).
  cn: Object.freeze({ connectedCallsPerDebtorPerDay: 3, attemptsPerNumberPerDay: 6, visitStaff: 2 }),
  "us-federal": US_FEDERAL,
  // Massachusetts (940 CMR 7.04) adds its own cap on top of the federal rules.
  "us-ma": Object.freeze({ ...US_FEDERAL, contactsPer7Days: 2 }),
});

/** The limits a policy may set in place of its rule pack's. */
export const CALL_RULE_LIMITS: readonly string[] = [
  "connectedCallsPerDebtorPerDay",
  "attemptsPerNumberPerDay",
  "attemptsPer7DaysPerDebt",
  "quietDaysAfterConversation",
  "contactsPer7Days",
  "visitStaff",
] as const;
/** Far beyond any legal limit; keeps every date the check computes representable. */
const MAX_LIMIT = 1000;

/** What is wrong with a set of call rules: every limit is a whole number from 1 to 1000 (empty when valid). */
export function callRulesIssues(rules: CallRules): string[] {
  const issues: string[] = [];
  for (const key of CALL_RULE_LIMITS as readonly (keyof CallRules)[]) {
    const value = rules[key];
    if (value === undefined && key !== "visitStaff") continue;
    if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > MAX_LIMIT) {
      issues.push(`${key} must be a whole number from 1 to ${MAX_LIMIT}`);
    }
  }
  return issues;
}

/**
 * The rules of a pack, with a policy's overrides on top. An override left undefined keeps the pack's limit, so
 * a partial override can never drop a legal limit by accident. Throws RangeError for an unknown pack or a limit
 * that is not a whole number from 1 to 1000.
 */
export function callRulesOf(pack: RulePackName, overrides: Partial<CallRules> = {}): CallRules {
  if (!RULE_PACKS.includes(pack))
    throw new RangeError(`unknown rule pack "${pack}"; known: ${RULE_PACKS.join(", ")}`);
  const rules: CallRules = { ...RULE_PACK_DEFAULTS[pack] };
  for (const key of CALL_RULE_LIMITS as readonly (keyof CallRules)[]) {
    const value = overrides[key];
    if (value !== undefined) rules[key] = value;
  }
  const issues = callRulesIssues(rules);
  if (issues.length > 0) throw new RangeError(issues.join("; "));
  return rules;
}

/** True when a visit names at least the pack's number of distinct staff. */
export function hasVisitStaff(staff: readonly string[], rules: CallRules): boolean {
  return new Set(staff.map((name) => name.trim()).filter((name) => name !== "")).size >= rules.visitStaff;
}

export type AttemptResult =
  | "no_answer"
  | "busy"
  | "wrong_number"
  | "right_party_contact"
  | "promise"
  | "refused"
  | "dispute"
  | "callback"
  | "visited"
  | "not_home";

/** A call or visit a case's work items recorded. */
export interface ContactAttempt {
  /** ISO instant. */
  at: string;
  kind: "call" | "visit";
  /** The phone called; absent when it was not recorded. */
  number?: string;
  result: AttemptResult;
}

/** The results of a call on which a conversation with the borrower took place. */
export const CONNECTED: ReadonlySet<AttemptResult> = new Set<AttemptResult>([
  "right_party_contact",
  "promise",
  "refused",
  "dispute",
  "callback",
]);

export type CallRuleName =
  | "contact_window"
  | "connected_calls_per_day"
  | "attempts_per_number_per_day"
  | "attempts_per_7_days"
  | "quiet_after_conversation"
  | "contacts_per_7_days";

export type ClaimVerdict =
  | { allowed: true }
  | {
      allowed: false;
      rule: CallRuleName;
      /** ISO instant from which the claim passes every rule (inside the contact window), to the second. */
      allowedFrom: string;
      message: string;
    };

export interface ClaimInput {
  kind: "call" | "visit";
  /** The phone the agent will call; without it, the most-called number of the day is assumed. */
  number?: string;
  now: Date;
  /** The borrower's IANA zone. */
  timeZone: string;
  /** HH:MM borrower-local, start inclusive, end exclusive. */
  window: Policy["contactWindow"];
  rules: CallRules;
  /**
   * The attempts the limits count. Per-debt limits (us-federal) want the case's attempts; per-debtor limits (cn)
   * want every case of the borrower's: the caller passes the history the pack's limits are about.
   */
  history: readonly ContactAttempt[];
}

const DAY_MS = 24 * 60 * 60 * 1000;
const WEEK_MS = 7 * DAY_MS;

/** An attempt ready for counting: its instant, its borrower-local date and its number as dialled digits. */
interface Past {
  ms: number;
  day: string;
  kind: ContactAttempt["kind"];
  number: string | null;
  result: AttemptResult;
}

/** A rule broken at an instant: `until` is when that rule alone stops holding the claim back. */
interface Broken {
  rule: CallRuleName;
  until: Date;
  message: string;
}

type Check = (claim: ClaimInput, past: readonly Past[], at: Date) => Broken | null;

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;

const localDay = (ms: number, zone: string) => DateTime.fromMillis(ms, { zone }).toISODate() ?? "";
/** "+86 138-0013-8000" and "+8613800138000" are one number. */
const dialled = (number: string) => number.replace(/[\s().-]/g, "");
/** "1 call attempt to this number", "6 call attempts to this number". */
const plural = (count: number, noun: string, rest = "") => `${count} ${noun}${count === 1 ? "" : "s"}${rest}`;
const ceilToSecond = (instant: Date) => new Date(Math.ceil(instant.getTime() / 1000) * 1000);

function startOfNextLocalDay(at: Date, zone: string): Date {
  return DateTime.fromJSDate(at).setZone(zone).startOf("day").plus({ days: 1 }).startOf("day").toJSDate();
}

/** Fails closed: a history it cannot read would otherwise be undercounted. */
function pastOf(input: ClaimInput): Past[] {
  return input.history.map((attempt) => {
    const ms = Date.parse(attempt.at);
    if (Number.isNaN(ms)) throw new RangeError(`attempt time "${attempt.at}" is not an ISO instant`);
    const number = attempt.number === undefined ? null : dialled(attempt.number);
    return { ms, day: localDay(ms, input.timeZone), kind: attempt.kind, number, result: attempt.result };
  });
}

function assertInput(input: ClaimInput): void {
  if (!isValidTimeZone(input.timeZone)) throw new RangeError(`"${input.timeZone}" is not an IANA time zone`);
  if (Number.isNaN(input.now.getTime())) throw new RangeError("now is not a valid instant");
  const { start, end } = input.window;
  if (!HHMM.test(start) || !HHMM.test(end) || start >= end) {
    throw new RangeError("the contact window is HH:MM to a later HH:MM");
  }
  const issues = callRulesIssues(input.rules);
  if (issues.length > 0) throw new RangeError(issues.join("; "));
}

const isCall = (p: Past) => p.kind === "call";
const isConversation = (p: Past) => isCall(p) && CONNECTED.has(p.result);
/** A contact reached the borrower: a conversation on the phone, or a visit that found them (and maybe talked). */
const reachedBorrower = (p: Past) =>
  isConversation(p) || (p.kind === "visit" && (p.result === "visited" || CONNECTED.has(p.result)));
const inLast7Days = (p: Past, at: Date) => at.getTime() - p.ms < WEEK_MS;

function dailyLimit(
  rule: CallRuleName,
  limit: number | undefined,
  count: number,
  what: readonly [noun: string, rest?: string],
  at: Date,
  zone: string,
): Broken | null {
  if (limit === undefined || count < limit) return null;
  return {
    rule,
    until: startOfNextLocalDay(at, zone),
    message: `${plural(count, ...what)} already today (at most ${limit} under the rule pack)`,
  };
}

/** A rolling cap frees when enough of the counted attempts have left the 7 days for one more to fit. */
function rollingLimit(
  rule: CallRuleName,
  limit: number | undefined,
  counted: readonly Past[],
  what: readonly [noun: string, rest?: string],
): Broken | null {
  if (limit === undefined || counted.length < limit) return null;
  const times = counted.map((p) => p.ms).sort((a, b) => a - b);
  const leaving = times[counted.length - limit] ?? 0;
  return {
    rule,
    until: new Date(leaving + WEEK_MS),
    message: `${plural(counted.length, ...what)} in the last 7 days (at most ${limit} under the rule pack)`,
  };
}

const contactWindow: Check = (claim, _past, at) => {
  if (isInsideWindow(at, claim.timeZone, claim.window)) return null;
  const { start, end } = claim.window;
  return {
    rule: "contact_window",
    until: nextAllowedInstant(at, claim.timeZone, claim.window),
    message: `outside the contact window (${start} to ${end} borrower time)`,
  };
};

const connectedCallsPerDay: Check = (claim, past, at) => {
  if (claim.kind !== "call") return null;
  const today = localDay(at.getTime(), claim.timeZone);
  const count = past.filter((p) => p.day === today && isConversation(p)).length;
  const limit = claim.rules.connectedCallsPerDebtorPerDay;
  return dailyLimit("connected_calls_per_day", limit, count, ["connected call"], at, claim.timeZone);
};

/**
 * An attempt whose number was not recorded may have been to any number, so it counts for each; a claim that
 * names no number is judged against the most-called number of the day.
 */
const attemptsPerNumberPerDay: Check = (claim, past, at) => {
  if (claim.kind !== "call") return null;
  const today = localDay(at.getTime(), claim.timeZone);
  const calls = past.filter((p) => p.day === today && isCall(p));
  const unknown = calls.filter((p) => p.number === null).length;
  const byNumber = new Map<string, number>();
  for (const p of calls) if (p.number !== null) byNumber.set(p.number, (byNumber.get(p.number) ?? 0) + 1);
  const known =
    claim.number === undefined
      ? Math.max(0, ...byNumber.values())
      : (byNumber.get(dialled(claim.number)) ?? 0);
  const limit = claim.rules.attemptsPerNumberPerDay;
  return dailyLimit(
    "attempts_per_number_per_day",
    limit,
    known + unknown,
    ["call attempt", " to this number"],
    at,
    claim.timeZone,
  );
};

const attemptsPer7Days: Check = (claim, past, at) => {
  if (claim.kind !== "call") return null;
  const counted = past.filter((p) => isCall(p) && inLast7Days(p, at));
  return rollingLimit("attempts_per_7_days", claim.rules.attemptsPer7DaysPerDebt, counted, ["call attempt"]);
};

const quietAfterConversation: Check = (claim, past, at) => {
  const days = claim.rules.quietDaysAfterConversation;
  if (claim.kind !== "call" || days === undefined) return null;
  const last = past.filter(isConversation).reduce<number | null>((m, p) => Math.max(m ?? p.ms, p.ms), null);
  if (last === null) return null;
  const until = last + days * DAY_MS;
  if (at.getTime() >= until) return null;
  return {
    rule: "quiet_after_conversation",
    until: new Date(until),
    message: `a conversation with the borrower less than ${plural(days, "day")} ago (no call within ${plural(days, "day")} after a conversation under the rule pack)`,
  };
};

const contactsPer7Days: Check = (claim, past, at) => {
  const counted = past.filter((p) => reachedBorrower(p) && inLast7Days(p, at));
  return rollingLimit("contacts_per_7_days", claim.rules.contactsPer7Days, counted, [
    "contact",
    " with the borrower",
  ]);
};

/**
 * The order the rules are checked in, and so the rule a refusal names when several are broken: the contact
 * window, which bounds everything; the daily call limits (connected calls, then attempts per number); the
 * rolling call limits (attempts in 7 days, then the quiet days after a conversation); last the cap on
 * contacts, the one rule besides the window that visits are subject to too.
 */
const CHECKS: readonly Check[] = [
  contactWindow,
  connectedCallsPerDay,
  attemptsPerNumberPerDay,
  attemptsPer7Days,
  quietAfterConversation,
  contactsPer7Days,
];

function firstBroken(claim: ClaimInput, past: readonly Past[], at: Date): Broken | null {
  for (const check of CHECKS) {
    const broken = check(claim, past, at);
    if (broken) return broken;
  }
  return null;
}

/**
 * The first instant from `from` at which no rule holds the claim back. Each step moves strictly forward to
 * when the rule broken then frees, and every rule frees for good once the history is a week (or the quiet days)
 * old, so this settles; the bound only guards against a rule set the validation would refuse.
 */
function settle(claim: ClaimInput, past: readonly Past[], from: Date): Date {
  let at = ceilToSecond(from);
  for (let i = 0; i < 2 * past.length + 16; i++) {
    const broken = firstBroken(claim, past, at);
    if (!broken) return at;
    at = ceilToSecond(broken.until);
  }
  return at;
}

/**
 * Whether an agent may claim a call or a visit now. A refusal names the first rule broken (in the order of
 * CHECKS) and when the claim passes every rule, which may be later than when that one rule frees.
 * Pure; throws RangeError for an unknown zone, a malformed window, invalid rules or an unreadable history.
 */
export function checkClaim(input: ClaimInput): ClaimVerdict {
  assertInput(input);
  const past = pastOf(input);
  const broken = firstBroken(input, past, input.now);
  if (!broken) return { allowed: true };
  const allowedFrom = toInstant(settle(input, past, broken.until));
  return { allowed: false, rule: broken.rule, allowedFrom, message: broken.message };
}
