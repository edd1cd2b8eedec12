import { mixSeed, seededRandom } from "./portfolio.ts";

/**
 * How borrowers pay, for a what-if run: each loan is paid in full on one day relative to its due date,
 * or never; on a schedule, each installment is drawn on its own the same way. A small JSON document:
 *
 *   { "paymentTime": "18:00", "payOnDay": { "-3": 0.1, "0": 0.4, "5": 0.2, "40": 0.05 } }
 *
 * `payOnDay` maps a day offset from the due date (negative: before it) to the share of loans paid in full
 * that day at `paymentTime` borrower-local time; whatever the shares leave over never pays.
 */
export interface PaymentModel {
  paymentTime: string;
  payOnDay: Record<string, number>;
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
  return issues;
}

/**
 * Draws the day loan `index` pays (its installment `installment`, for a loan with a schedule) relative to that due
 * date; pure in (model, seed, index, installment) so a run is reproducible on any split.
 */
export type PaymentDraw = (index: number, installment?: number) => number | null;

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
  return (index, installment = 0) => {
    // Installment 0 draws what a loan with one due date would; each later one from a stream of its own.
    const loanSeed = mixSeed(paymentSeed, index);
    const r = seededRandom(installment === 0 ? loanSeed : mixSeed(loanSeed, installment))();
    for (let i = 0; i < cumulative.length; i++) {
      if (r < (cumulative[i] as number)) return (table[i] as { day: number }).day;
    }
    return null;
  };
}
