import { describe, expect, it } from "vitest";
import { formatMoney, money } from "../../functions/domain/money.ts";
import {
  CHANNELS,
  type Channel,
  DEFAULT_POLICY,
  LOCALES,
  type Locale,
} from "../../functions/domain/policy.ts";
import {
  BUILT_IN_TEMPLATES,
  type MessageTemplates,
  type MessageVariables,
  renderMessage as renderFrom,
  templatesOf,
} from "../../functions/domain/templates.ts";

/** The built-in texts, as the default policy sends them. */
const renderMessage = (...args: [string, Locale, Channel, MessageVariables]) =>
  renderFrom(BUILT_IN_TEMPLATES, ...args);

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

const combinations = Object.keys(BUILT_IN_TEMPLATES).flatMap((id) =>
  LOCALES.flatMap((locale) => CHANNELS.map((channel) => [id, locale, channel] as const)),
);

describe("renderMessage", () => {
  it("has a template for every template a DEFAULT_POLICY step uses", () => {
    for (const step of DEFAULT_POLICY.steps) expect(Object.keys(BUILT_IN_TEMPLATES)).toContain(step.template);
  });

  it("the default policy carries the built-in texts, and a policy stored without templates sends them", () => {
    expect(DEFAULT_POLICY.templates).toBe(BUILT_IN_TEMPLATES);
    expect(templatesOf({ ...DEFAULT_POLICY, templates: undefined })).toBe(BUILT_IN_TEMPLATES);
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

describe("renderMessage from a policy's own templates", () => {
  const custom: MessageTemplates = {
    nudge: {
      "en-US": {
        sms: {
          body: "{{name}}: {{amountDue}} was due {{dueDate}} ({{daysPastDue}}d). Ref {{paymentReference}}.",
        },
        email: { subject: "About {{paymentReference}}", body: "Hello {{name}}, please pay {{amountDue}}." },
      },
      "zh-CN": {
        sms: { body: "{{name}}，请还款{{amountDue}}。" },
        email: { subject: "还款：{{amountDue}}", body: "{{name}}您好，请还款{{amountDue}}。" },
      },
    },
  };

  it("renders the policy's text, not the built-in one, and still appends the opt-out notice", () => {
    expect(renderFrom(custom, "nudge", "en-US", "sms", variables("en-US")).body).toBe(
      "Jane Doe: $1,234.56 was due 2026-01-15 (7d). Ref REF-0042. Reply STOP to opt out.",
    );
    expect(renderFrom(custom, "nudge", "zh-CN", "email", variables("zh-CN"))).toEqual({
      subject: "还款：¥1,234.56",
      body: `李伟您好，请还款¥1,234.56。\n\n${OPT_OUT["zh-CN"].email}`,
    });
  });

  it("knows only the policy's templates: a built-in id the policy lacks is not rendered", () => {
    expect(() => renderFrom(custom, "reminder", "en-US", "sms", variables("en-US"))).toThrow(RangeError);
  });

  it("throws for a channel the policy's template lacks", () => {
    const smsOnly: MessageTemplates = { nudge: { "en-US": { sms: { body: "Hi {{name}}" } } } };
    expect(renderFrom(smsOnly, "nudge", "en-US", "sms", variables("en-US")).body).toBe(
      "Hi Jane Doe Reply STOP to opt out.",
    );
    expect(() => renderFrom(smsOnly, "nudge", "en-US", "email", variables("en-US"))).toThrow(RangeError);
  });
});
