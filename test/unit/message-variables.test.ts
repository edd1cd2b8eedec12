import { describe, expect, it } from "vitest";
import type { LoanCase } from "../../functions/domain/loan-case.ts";
import { messageVariables } from "../../functions/domain/message-variables.ts";
import { money } from "../../functions/domain/money.ts";
import { BUILT_IN_TEMPLATES, renderMessage } from "../../functions/domain/templates.ts";
import { borrower, newCase } from "./fixtures.ts";

const CNY = (amount: string) => money(amount, "CNY");
const at = (instant: string) => new Date(instant);

/** Three installments of 400.00 due the 15th of Jan, Feb and Mar (Shanghai), the first `paid` paid. */
function scheduled(paid: string[], overrides: Partial<LoanCase> = {}): LoanCase {
  const dates = ["2026-01-15", "2026-02-15", "2026-03-15"];
  const installments = dates.map((dueDate, i) => ({
    dueDate,
    amount: CNY("400.00"),
    paid: CNY(paid[i] ?? "0.00"),
  }));
  const open = installments.find((i) => i.paid.amount !== "400.00");
  return {
    ...newCase({ amountDue: CNY("1200.00") }),
    installments,
    dueDate: open?.dueDate ?? "2026-03-15",
    ...overrides,
  };
}

describe("messageVariables", () => {
  it("on a single-payment loan: the balance, nothing due before the due date, no installment", () => {
    const loanCase = newCase();
    expect(messageVariables(loanCase, at("2026-01-08T02:00:00Z"))).toEqual({
      name: "Li Wei",
      amountDue: "¥1,000.00",
      dueDate: "2026年1月15日",
      daysPastDue: 0,
      paymentReference: "loan-1",
      amountDueNow: "¥0.00",
      installment: false,
      portalLink: "",
    });
    expect(messageVariables(loanCase, at("2026-01-08T02:00:00Z"), "https://pay.example/p/t")).toMatchObject({
      portalLink: "https://pay.example/p/t",
    });
    expect(messageVariables(loanCase, at("2026-01-20T02:00:00Z"))).toMatchObject({
      amountDue: "¥1,000.00",
      amountDueNow: "¥1,000.00",
      daysPastDue: 5,
    });
  });

  it("before an installment falls due: that installment, and nothing due yet", () => {
    const variables = messageVariables(scheduled(["400.00"]), at("2026-02-12T02:00:00Z"));
    expect(variables).toMatchObject({
      amountDue: "¥400.00",
      dueDate: "2026年2月15日",
      daysPastDue: 0,
      amountDueNow: "¥0.00",
      installment: true,
      installmentNumber: 2,
      installmentCount: 3,
    });
  });

  it("once installments are overdue: the oldest one asked for, every overdue one due now, charges in both", () => {
    const loanCase = scheduled(["100.00"], { fees: CNY("10.00"), interest: CNY("2.50") });
    const variables = messageVariables(loanCase, at("2026-02-20T02:00:00Z"));
    expect(variables).toMatchObject({
      amountDue: "¥312.50",
      dueDate: "2026年1月15日",
      daysPastDue: 36,
      amountDueNow: "¥712.50",
      installment: true,
      installmentNumber: 1,
      installmentCount: 3,
    });
    expect(renderMessage(BUILT_IN_TEMPLATES, "overdue_firm", "zh-CN", "sms", variables).body).toBe(
      "Li Wei，您的借款¥312.50已逾期36天（到期日2026年1月15日），请尽快还款或联系我们。第1/3期，应还¥712.50。编号loan-1。 回复TD退订",
    );
  });

  it("writes amounts and dates in the borrower's locale", () => {
    const loanCase = scheduled([], { borrower: borrower({ name: "Jane Doe", locale: "en-US" }) });
    const variables = messageVariables(loanCase, at("2026-01-15T02:00:00Z"));
    expect(variables).toMatchObject({
      amountDue: "CN¥400.00",
      amountDueNow: "CN¥400.00",
      dueDate: "January 15, 2026",
    });
    expect(renderMessage(BUILT_IN_TEMPLATES, "due_today", "en-US", "sms", variables).body).toBe(
      "Hi Jane Doe, CN¥400.00 is due today (January 15, 2026), ref loan-1. Installment 1 of 3: CN¥400.00 due. Reply STOP to opt out.",
    );
  });
});
