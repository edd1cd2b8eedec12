import { CUSTOMER_TYPES, type CustomerType } from "../functions/domain/strategies/strategy.ts";
import { mixSeed, seededRandom } from "./portfolio.ts";

/**
 * How borrowers pay, for a what-if run: each loan is paid in full on one day relative to its due date,
 * or never; on a schedule, each installment is drawn on its own the same way. A small JSON document:
 *
 *   { "paymentTime": "18:00", "payOnDay": { "-3": 0.1, "0": 0.4, "5": 0.2, "40": 0.05 } }
 *
 * `payOnDay` maps a day offset from the due date (negative: before it) to the share of loans paid in full
 * that day at `paymentTime` borrower-local time; whatever the shares leave over never pays.
 *
 * `customerTypes`, optional, weighs those shares by why the borrower is late and by the policy the loan runs:
 *
 *   "customerTypes": { "malicious": { "pay": 0.5, "byPolicy": { "fast-legal": 1.6, "gentle": 0.7 } } }
 *
 * A loan of a malicious borrower pays with 0.5 times the shares, and 0.5 × 1.6 times them on fast-legal (see
 * paymentFactor). A loan without a customer type, or of a type not listed, takes the shares as they are.
 */
export interface PaymentModel {
  paymentTime: string;
  payOnDay: Record<string, number>;
  customerTypes?: Partial<Record<CustomerType, CustomerTypePayments>>;
}

/** Multipliers of a customer type's payment shares: always, and by the policy the loan runs (by policy id). */
export interface CustomerTypePayments {
  pay?: number;
  byPolicy?: Record<string, number>;
}

/** About 60% pay by the due date, a third during soft collection, a few after hand-off, 5% never. */
export const DEFAULT_PAYMENT_MODEL: PaymentModel = {
  paymentTime: "18:00",
  payOnDay: {
    "-6": 0.04,
    "-3": 0.08,
    "-2": 0.08,
    "-1": 0.15,
    "0": 0.25,
    "1": 0.06,
    "2": 0.05,
    "3": 0.04,
    "4": 0.03,
    "7": 0.03,
    "8": 0.03,
    "10": 0.02,
    "15": 0.02,
    "16": 0.02,
    "21": 0.02,
    "25": 0.01,
    "40": 0.02,
  },
};

/** Every reason a document is not a payment model (empty when it is one). */
export function paymentModelIssues(value: unknown): string[] {
  if (typeof value !== "object" || value === null) return ["a payment model is a JSON object"];
  const model = value as Partial<PaymentModel>;
  const issues: string[] = [];
  if (typeof model.paymentTime !== "string" || !/^([01]\d|2[0-3]):[0-5]\d$/.test(model.paymentTime)) {
    issues.push('paymentTime: expected HH:mm, e.g. "18:00"');
  }
  if (typeof model.payOnDay !== "object" || model.payOnDay === null) {
    issues.push('payOnDay: expected an object such as { "0": 0.5 }');
    return issues;
  }
  let total = 0;
  for (const [day, share] of Object.entries(model.payOnDay)) {
    if (!/^-?\d{1,3}$/.test(day)) issues.push(`payOnDay.${day}: a day offset is a whole number of days`);
    if (typeof share !== "number" || !(share >= 0 && share <= 1)) {
      issues.push(`payOnDay.${day}: a share is a number from 0 to 1`);
    } else total += share;
  }
  if (total > 1 + 1e-9) issues.push(`payOnDay: the shares add up to ${total}, more than 1`);
  if (model.customerTypes !== undefined) issues.push(...customerTypeIssues(model.customerTypes));
  return issues;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const isMultiplier = (value: unknown) => typeof value === "number" && Number.isFinite(value) && value >= 0;
const MULTIPLIER = "a multiplier is a number ≥ 0";

/** Every reason `customerTypes` is not a map of customer types to their multipliers. */
function customerTypeIssues(value: unknown): string[] {
  if (!isObject(value)) return ['customerTypes: expected an object such as { "malicious": { "pay": 0.5 } }'];
  const issues: string[] = [];
  for (const [type, entry] of Object.entries(value)) {
    const at = `customerTypes.${type}`;
    if (!(CUSTOMER_TYPES as readonly string[]).includes(type))
      issues.push(`${at}: unknown customer type; known: ${CUSTOMER_TYPES.join(", ")}`);
    if (!isObject(entry)) {
      issues.push(`${at}: expected { "pay": …, "byPolicy": { … } }`);
      continue;
    }
    for (const key of Object.keys(entry).filter((k) => k !== "pay" && k !== "byPolicy"))
      issues.push(`${at}.${key}: unknown field; known: pay, byPolicy`);
    if (entry.pay !== undefined && !isMultiplier(entry.pay)) issues.push(`${at}.pay: ${MULTIPLIER}`);
    if (entry.byPolicy === undefined) continue;
    if (!isObject(entry.byPolicy)) {
      issues.push(`${at}.byPolicy: expected an object of policy ids, such as { "gentle": 0.8 }`);
      continue;
    }
    for (const [policyId, factor] of Object.entries(entry.byPolicy))
      if (!isMultiplier(factor)) issues.push(`${at}.byPolicy.${policyId}: ${MULTIPLIER}`);
  }
  return issues;
}

/**
 * How much likelier than the model's shares a loan is to pay: its customer type's `pay`, times `byPolicy` of the
 * policy it runs (each 1 when absent).
 */
export function paymentFactor(
  model: PaymentModel,
  customerType: CustomerType | undefined,
  policyId: string,
): number {
  const entry = customerType === undefined ? undefined : model.customerTypes?.[customerType];
  if (!entry) return 1;
  return (entry.pay ?? 1) * (entry.byPolicy?.[policyId] ?? 1);
}

/**
 * Draws the day loan `index` pays (its installment `installment`, for a loan with a schedule) relative to that due
 * date, each share of the model multiplied by `factor` (see paymentFactor); pure in (model, seed, index,
 * installment, factor) so a run is reproducible on any split. Multiplied shares that would add up to more than 1
 * are scaled down to add up to 1: every such loan pays. A loan draws the same number whatever its factor, so a
 * larger factor only makes it pay sooner or pay at all: two policies are compared over the same borrowers.
 */
export type PaymentDraw = (index: number, installment?: number, factor?: number) => number | null;

export function paymentDraw(model: PaymentModel, seed: number): PaymentDraw {
  const table = Object.entries(model.payOnDay)
    .map(([day, share]) => ({ day: Number(day), share }))
    .sort((a, b) => a.day - b.day);
  const cumulative: number[] = [];
  let sum = 0;
  for (const entry of table) {
    sum += entry.share;
    cumulative.push(sum);
  }
  // A stream of its own: the same loans pay on the same days whatever else the portfolio draws.
  const paymentSeed = (seed ^ 0x27d4eb2f) >>> 0;
  return (index, installment = 0, factor = 1) => {
    // Installment 0 draws what a loan with one due date would; each later one from a stream of its own.
    const loanSeed = mixSeed(paymentSeed, index);
    const r = seededRandom(installment === 0 ? loanSeed : mixSeed(loanSeed, installment))();
    const scale = factor !== 1 && factor * sum > 1 ? 1 / sum : factor;
    for (let i = 0; i < cumulative.length; i++) {
      if (r < (cumulative[i] as number) * scale) return (table[i] as { day: number }).day;
    }
    return null;
  };
}
