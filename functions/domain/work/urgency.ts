import { type Money, toDecimal } from "../money.ts";

/** What ranks a work item in an agent's queue. */
export interface WorkUrgencyInput {
  daysPastDue: number;
  balance: Money;
  brokenPromises: number;
  /** ISO instant the borrower asked to be called back at; due once it is not after now. */
  callbackDueAt?: string | null;
  /** ISO instant the work item is due. */
  dueAt: string;
}

/** The ranking keys of one item, worked out once so sorting does not parse the same decimals again and again. */
interface Key {
  callbackDue: boolean;
  days: number;
  promises: number;
  balance: ReturnType<typeof toDecimal>;
  due: number;
  index: number;
}

/** A whole count from a number that might be negative, fractional or not a number at all. */
const countOf = (value: number) => (Number.isFinite(value) && value > 0 ? Math.floor(value) : 0);

function isCallbackDue(item: WorkUrgencyInput, now: Date): boolean {
  if (item.callbackDueAt == null) return false;
  const at = Date.parse(item.callbackDueAt);
  return !Number.isNaN(at) && at <= now.getTime();
}

function keyOf(item: WorkUrgencyInput, index: number, now: Date): Key {
  const due = Date.parse(item.dueAt);
  return {
    callbackDue: isCallbackDue(item, now),
    days: countOf(item.daysPastDue),
    promises: countOf(item.brokenPromises),
    balance: toDecimal(item.balance),
    // An unreadable due time ranks as the newest: it cannot claim to have waited longest.
    due: Number.isNaN(due) ? Number.POSITIVE_INFINITY : due,
    index,
  };
}

/**
 * Negative when `a` is more urgent than `b`. Balances compare as exact decimals; across currencies they compare
 * by amount alone, with no exchange rate (500 CNY ranks above 100 USD) — a queue rarely mixes currencies, and
 * the keys before the balance decide most places.
 */
function compareKeys(a: Key, b: Key): number {
  if (a.callbackDue !== b.callbackDue) return a.callbackDue ? -1 : 1;
  if (a.days !== b.days) return b.days - a.days;
  if (a.promises !== b.promises) return b.promises - a.promises;
  const balance = b.balance.comparedTo(a.balance);
  if (balance !== 0) return balance;
  if (a.due !== b.due) return a.due < b.due ? -1 : 1;
  return a.index - b.index;
}

/**
 * The items most urgent first: a callback that is due, then more days past due, more broken promises, a larger
 * balance, an older due time; items equal on all of these keep their input order.
 */
export function byUrgency<T extends WorkUrgencyInput>(items: readonly T[], now: Date): T[] {
  const keyed = items.map((item, index) => ({ item, key: keyOf(item, index, now) }));
  return keyed.sort((a, b) => compareKeys(a.key, b.key)).map(({ item }) => item);
}

// Tiers of the score: each key outranks every value of the keys after it (bounded below), and the largest
// score stays far below Number.MAX_SAFE_INTEGER.
const CALLBACK_TIER = 1e12;
const DAYS_TIER = 1e6;
const MAX_DAYS = 99_999;
const PROMISES_TIER = 1e3;
const MAX_TIER_VALUE = 999;

/** Balance as 0..999 on a log scale: 1 → 30, 1 000 → 300, 2 000 000 000 (the largest balance) → 930. */
function balanceBucket(balance: Money): number {
  const amount = Number(balance.amount);
  if (!(amount > 0)) return 0;
  return Math.min(MAX_TIER_VALUE, Math.floor(Math.log10(1 + amount) * 100));
}

/**
 * A number for showing and filtering the queue: higher is more urgent. It follows byUrgency's keys in the same
 * precedence, coarsely (balances in log buckets, due times left out), so an item byUrgency puts first never
 * scores lower than one it puts after; close items may tie.
 */
export function urgencyScore(item: WorkUrgencyInput, now: Date): number {
  return (
    (isCallbackDue(item, now) ? CALLBACK_TIER : 0) +
    Math.min(MAX_DAYS, countOf(item.daysPastDue)) * DAYS_TIER +
    Math.min(MAX_TIER_VALUE, countOf(item.brokenPromises)) * PROMISES_TIER +
    balanceBucket(item.balance)
  );
}
