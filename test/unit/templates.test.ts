import { describe, expect, it } from "vitest";
import { formatMoney, money } from "../../functions/domain/money.ts";
import {
  CHANNELS,
  type Channel,
  DEFAULT_POLICY,
  LOCALES,
  type Locale,
} from "../../functions/domain/policy.ts";
import { type MessageVariables, renderMessage, templateIds } from "../../functions/domain/templates.ts";

const OPT_OUT: Record<Locale, Record<Channel, string>> = {
  "en-US": { sms: "Reply STOP to opt out.", email: "To stop these emails, reply with UNSUBSCRIBE." },
  "zh-CN": { sms: "回复TD退订", email: "如不希望再收到此类邮件，请回复“退订”。" },
};

function variables(locale: Locale, overrides: Partial<MessageVariables> = {}): MessageVariables {
  return {
    name: locale === "zh-CN" ? "李伟" : "Jane Doe",
    amountDue: formatMoney(money("1234.56", locale === "zh-CN" ? "CNY" : "USD"), locale),
    dueDate: "2026-01-15",
    daysPastDue: 7,
    paymentReference: "REF-0042",
    ...overrides,
  };
}

const combinations = templateIds().flatMap((id) =>
  LOCALES.flatMap((locale) => CHANNELS.map((channel) => [id, locale, channel] as const)),
);

describe("renderMessage", () => {
  it("has a template for every template a DEFAULT_POLICY step uses", () => {
    for (const step of DEFAULT_POLICY.steps) expect(templateIds()).toContain(step.template);
  });

  it.each(combinations)(
    "%s / %s / %s renders completely, with the amount and the opt-out notice last",
    (id, locale, channel) => {
      const vars = variables(locale);
      const message = renderMessage(id, locale, channel, vars);
      const texts = [message.body, message.subject ?? ""];
      for (const text of texts) {
        expect(text).not.toContain("{{");
        expect(text).not.toContain("}}");
      }
      expect(message.body).toContain(vars.amountDue);
      expect(message.body).toContain(vars.paymentReference);
      expect(message.body.endsWith(OPT_OUT[locale][channel])).toBe(true);
      if (channel === "email") {
        expect(message.subject).toBeTruthy();
        expect(message.subject).toContain(vars.amountDue);
      } else {
        expect(message.subject).toBeUndefined();
      }
    },
  );

  it("puts a blank line before the email opt-out and a space before the SMS opt-out", () => {
    expect(renderMessage("reminder", "en-US", "email", variables("en-US")).body).toMatch(
      /\n\nTo stop these emails, reply with UNSUBSCRIBE\.$/,
    );
    expect(renderMessage("reminder", "en-US", "sms", variables("en-US")).body).toMatch(
      /\. Reply STOP to opt out\.$/,
    );
  });

  it("fills the borrower's name, due date and days past due", () => {
    const body = renderMessage("overdue_firm", "en-US", "sms", variables("en-US")).body;
    expect(body).toBe(
      "Jane Doe, $1,234.56 is 7 days overdue (due 2026-01-15). Please pay or contact us now. Ref REF-0042. Reply STOP to opt out.",
    );
  });

  it("renders 0 days past due as 0, not as an empty string", () => {
    const body = renderMessage("overdue_gentle", "zh-CN", "sms", variables("zh-CN", { daysPastDue: 0 })).body;
    expect(body).toContain("逾期0天");
  });

  it("does not HTML-escape names (plain text messages)", () => {
    for (const channel of CHANNELS) {
      const message = renderMessage(
        "reminder",
        "en-US",
        channel,
        variables("en-US", { name: "O'Brien & Co <Ltd>" }),
      );
      expect(message.body).toContain("O'Brien & Co <Ltd>");
      expect(message.body).not.toContain("&amp;");
      expect(message.body).not.toContain("&#39;");
    }
  });

  it("does not interpret template syntax inside a variable", () => {
    const body = renderMessage(
      "reminder",
      "en-US",
      "sms",
      variables("en-US", { name: "{{amountDue}}" }),
    ).body;
    expect(body).toContain("Hi {{amountDue}},");
  });

  it("throws for an unknown template", () => {
    expect(() => renderMessage("threatening_letter", "en-US", "sms", variables("en-US"))).toThrow(RangeError);
  });

  it("throws for an unknown locale", () => {
    expect(() => renderMessage("reminder", "fr-FR" as Locale, "sms", variables("en-US"))).toThrow(RangeError);
  });
});
