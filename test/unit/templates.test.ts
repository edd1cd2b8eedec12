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
    amountDueNow: formatMoney(money("0.00", locale === "zh-CN" ? "CNY" : "USD"), locale),
    installment: false,
    portalLink: "",
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

  it("ends every built-in text with the borrower's link, and leaves the line out where no portal runs", () => {
    const link = "https://pay.example.com/p/abc";
    for (const locale of ["en-US", "zh-CN"] as const) {
      for (const channel of ["sms", "email"] as const) {
        const withLink = renderMessage("reminder", locale, channel, variables(locale, { portalLink: link }));
        expect(withLink.body).toContain(link);
        const without = renderMessage("reminder", locale, channel, variables(locale)).body;
        expect(without).not.toContain("/p/");
        expect(without.length).toBeLessThan(withLink.body.length - link.length);
      }
    }
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

describe("renderMessage on a repayment schedule", () => {
  /** Installment 2 of 6, with installments 2 and 3 overdue: 1,234.56 of them plus charges due now. */
  const onSchedule = (locale: Locale, overrides: Partial<MessageVariables> = {}) =>
    variables(locale, {
      amountDueNow: formatMoney(money("2469.12", locale === "zh-CN" ? "CNY" : "USD"), locale),
      installment: true,
      installmentNumber: 2,
      installmentCount: 6,
      ...overrides,
    });

  it.each(combinations)("%s / %s / %s says which installment it is about", (id, locale, channel) => {
    const message = renderMessage(id, locale, channel, onSchedule(locale));
    expect(message.body).not.toMatch(/\{\{|\}\}/);
    expect(message.body).toContain(locale === "zh-CN" ? "第2/6期" : "Installment 2 of 6");
    // Before its due date nothing is due yet: a reminder names the installment, not an amount due now.
    if (id === "reminder") expect(message.body).not.toContain(onSchedule(locale).amountDueNow);
    else expect(message.body).toContain(onSchedule(locale).amountDueNow);
  });

  it("adds one short line to an SMS, in either locale", () => {
    expect(renderMessage("reminder", "en-US", "sms", onSchedule("en-US")).body).toBe(
      "Hi Jane Doe, a reminder: $1,234.56 is due on 2026-01-15 (ref REF-0042). Installment 2 of 6. Reply STOP to opt out.",
    );
    expect(renderMessage("overdue_firm", "en-US", "sms", onSchedule("en-US")).body).toBe(
      "Jane Doe, $1,234.56 is 7 days overdue (due 2026-01-15). Installment 2 of 6: $2,469.12 due. Please pay or contact us now. Ref REF-0042. Reply STOP to opt out.",
    );
    expect(renderMessage("reminder", "zh-CN", "sms", onSchedule("zh-CN")).body).toBe(
      "李伟您好，您的借款¥1,234.56将于2026-01-15到期，请按时还款（编号REF-0042）。第2/6期。 回复TD退订",
    );
    expect(renderMessage("overdue_gentle", "zh-CN", "sms", onSchedule("zh-CN")).body).toBe(
      "李伟您好，您的借款¥1,234.56已于2026-01-15到期，逾期7天。第2/6期，应还¥2,469.12。如有困难请联系我们协商，编号REF-0042。 回复TD退订",
    );
  });

  it("puts the line in the email body, never in the subject", () => {
    const email = renderMessage("due_today", "en-US", "email", onSchedule("en-US", { daysPastDue: 0 }));
    expect(email.body).toBe(
      "Dear Jane Doe,\n\n$1,234.56 is due today, 2026-01-15. Installment 2 of 6: $2,469.12 due. Reference: REF-0042.\n\nTo stop these emails, reply with UNSUBSCRIBE.",
    );
    expect(email.subject).toBe("Payment due today: $1,234.56");
    expect(renderMessage("final_notice", "zh-CN", "email", onSchedule("zh-CN")).body).toContain(
      "已逾期7天。第2/6期，应还¥2,469.12。如未还款",
    );
  });

  it.each(combinations)("%s / %s / %s reads as before on a single-payment loan", (id, locale, channel) => {
    const withoutSection = (text: string | undefined) =>
      text?.replace(/\{\{#installment\}\}.*?\{\{\/installment\}\}/gs, "");
    const texts = BUILT_IN_TEMPLATES[id]?.[locale]?.[channel];
    const before: MessageTemplates = {
      [id]: { [locale]: { [channel]: { body: withoutSection(texts?.body), subject: texts?.subject } } },
    };
    expect(renderMessage(id, locale, channel, variables(locale))).toEqual(
      renderFrom(before, id, locale, channel, variables(locale)),
    );
  });
});
