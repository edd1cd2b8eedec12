import { describe, expect, it } from "vitest";
import { money } from "../../functions/domain/money.ts";
import {
  checkSelfService,
  DEFAULT_SELF_SERVICE,
  monthlySchedule,
  plansFor,
} from "../../functions/domain/self-service.ts";

describe("self-service plans", () => {
  it("splits a balance into monthly installments that add up to it exactly, the remainder last", () => {
    expect(monthlySchedule(money("1000.00", "CNY"), 3, "2026-01-31")).toEqual([
      { dueDate: "2026-02-28", amount: { amount: "333.33", currency: "CNY" } },
      { dueDate: "2026-03-31", amount: { amount: "333.33", currency: "CNY" } },
      { dueDate: "2026-04-30", amount: { amount: "333.34", currency: "CNY" } },
    ]);
    // No minor units: yen split in whole yen.
    expect(monthlySchedule(money("1000", "JPY"), 3, "2026-01-10").map((i) => i.amount.amount)).toEqual([
      "333",
      "333",
      "334",
    ]);
  });

  it("offers only the plans whose installment stays at or above the floor", () => {
    const offers = [
      { months: 3, minInstallment: "100.00" },
      { months: 12, minInstallment: "100.00" },
    ];
    expect(plansFor(money("1250.00", "CNY"), offers)).toEqual([
      { months: 3, installment: { amount: "416.66", currency: "CNY" } },
      { months: 12, installment: { amount: "104.16", currency: "CNY" } },
    ]);
    expect(plansFor(money("1000.00", "CNY"), offers).map((p) => p.months)).toEqual([3]);
  });

  it("refuses values out of range, with their paths", () => {
    const issues: string[] = [];
    checkSelfService(
      {
        ...DEFAULT_SELF_SERVICE,
        maxPromiseDays: 0,
        planOffers: [
          { months: 3, minInstallment: "100" },
          { months: 3, minInstallment: "-1" },
        ],
        planApproval: "maybe" as never,
      },
      (path) => issues.push(path),
    );
    expect(issues).toEqual([
      "selfService.maxPromiseDays",
      "selfService.planOffers[1].months",
      "selfService.planOffers[1].minInstallment",
      "selfService.planApproval",
    ]);
    const none: string[] = [];
    checkSelfService(DEFAULT_SELF_SERVICE, (path) => none.push(path));
    expect(none).toEqual([]);
  });
});
