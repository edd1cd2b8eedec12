import type { Policy } from "../functions/domain/policy.ts";
import type { Strategy } from "../functions/domain/strategies/strategy.ts";
import type { PaymentModel } from "./payments.ts";

export const DAY_MS = 86_400_000;

/** A run through a strategy: each loan runs the policy its segment and arm give it at subscription. */
export interface StrategySettings {
  strategy: Strategy;
  /** The policy (one of RunSettings.policies, by id) of loans no rule matches; absent: such a loan is an error. */
  fallbackPolicyId?: string;
}

export interface RunSettings {
  /** First simulated instant: 00:00 UTC of the first day. */
  startMs: number;
  days: number;
  /** Each one over every loan, side by side; with a strategy, every policy it may give a loan. */
  policies: Policy[];
  payments: PaymentModel;
  /** Seeds the payment draws (and the synthetic portfolio). */
  seed: number;
  /** Off: every borrower goes through the domain on its own (slow; to show memoisation changes nothing). */
  memoise?: boolean;
  strategy?: StrategySettings;
}
