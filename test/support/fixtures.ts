import type { Borrower, SubscriptionRequest } from "../../functions/domain/loan-case.ts";
import { money } from "../../functions/domain/money.ts";
import type { Locale } from "../../functions/domain/policy.ts";

/**
 * The loan the tests and the benchmarks subscribe unless they need another: Li Wei in Shanghai, reachable by
 * email and by SMS, owing CNY 1250.00 due 2026-01-15 on the default policy. Plain data, no I/O: the workflow,
 * integration and unit tests and bench/ all build their loans from here.
 */
const LI_WEI = {
  name: "Li Wei",
  email: "li.wei@example.com",
  phone: "+8613800138000",
  locale: "zh-CN" as Locale,
  timeZone: "Asia/Shanghai",
};

/** Li Wei as a domain Borrower, with some fields replaced. */
export function exampleBorrower(overrides: Partial<Borrower> = {}): Borrower {
  return { ...LI_WEI, ...overrides };
}

/** The body of POST /v1/loans for the loan; `overrides` replace top-level fields whole. */
export function loanRequest(loanId: string, overrides: Record<string, unknown> = {}) {
  return {
    loanId,
    borrower: { ...LI_WEI },
    amountDue: { amount: "1250.00", currency: "CNY" },
    dueDate: "2026-01-15",
    policyId: "default",
    ...overrides,
  };
}

/** The loan as the domain's subscribe takes it (the policy is the caller's to pass); `overrides` as above. */
export function subscriptionRequest(
  loanId: string,
  overrides: Partial<SubscriptionRequest> = {},
): SubscriptionRequest {
  return {
    loanId,
    borrower: exampleBorrower(),
    amountDue: money("1250.00", "CNY"),
    dueDate: "2026-01-15",
    ...overrides,
  };
}
