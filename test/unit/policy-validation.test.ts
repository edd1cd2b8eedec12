import { describe, expect, it } from "vitest";
import { NO_CHARGES } from "../../functions/domain/charges.ts";
import { DEFAULT_CONTACT_RULES, DEFAULT_POLICY, type PolicyStep } from "../../functions/domain/policy.ts";
import { policyChanges } from "../../functions/domain/policy-changes.ts";
import { type PolicyRules, validatePolicy } from "../../functions/domain/policy-validation.ts";
import { BUILT_IN_TEMPLATES, type MessageTemplates } from "../../functions/domain/templates.ts";

const rules = (change: Partial<PolicyRules> = {}): PolicyRules => ({
  steps: DEFAULT_POLICY.steps.map((s) => ({ ...s, channels: [...s.channels] })),
  handOff: { ...DEFAULT_POLICY.handOff },
  contactWindow: { ...DEFAULT_POLICY.contactWindow },
  charges: { ...NO_CHARGES },
  ...change,
});

/** The default's steps with steps[i] changed. */
const withStep = (i: number, change: Partial<Record<keyof PolicyStep, unknown>>): PolicyRules => {
  const r = rules();
  r.steps[i] = { ...r.steps[i], ...change } as PolicyStep;
  return r;
};

const paths = (r: PolicyRules) => validatePolicy(r).map((i) => i.path);

describe("policy validation", () => {
  it("accepts the default policy", () => {
    expect(validatePolicy(rules())).toEqual([]);
  });

  it("refuses a 22:00 send time with the default 08:00-21:00 window, clearly", () => {
    expect(validatePolicy(withStep(5, { sendAt: "22:00" }))).toEqual([
      { path: "steps[5].sendAt", message: "22:00 is outside the contact window 08:00–21:00" },
    ]);
  });

  it("refuses a send time at the window's end (exclusive) or not HH:mm", () => {
    expect(paths(withStep(5, { sendAt: "21:00" }))).toEqual(["steps[5].sendAt"]);
    expect(validatePolicy(withStep(5, { sendAt: "9:00" }))).toEqual([
      { path: "steps[5].sendAt", message: "must be a time as HH:mm" },
    ]);
    expect(paths(withStep(5, { sendAt: "24:00" }))).toEqual(["steps[5].sendAt"]);
  });

  it("checks send times against the policy's own window", () => {
    const r = rules({ contactWindow: { start: "09:00", end: "18:00" } });
    expect(validatePolicy(r)).toEqual([]);
    r.steps[2] = { ...(r.steps[2] as PolicyStep), sendAt: "08:30" };
    expect(validatePolicy(r)[0]?.message).toMatch(/outside the contact window 09:00–18:00/);
  });

  it("refuses an empty policy", () => {
    expect(paths(rules({ steps: [] }))).toEqual(["steps"]);
  });

  it("refuses duplicate step ids", () => {
    expect(validatePolicy(withStep(5, { id: "soft_1" }))).toEqual([
      { path: "steps[5].id", message: 'duplicate step id "soft_1" (also steps[4])' },
    ]);
  });

  it("refuses steps out of order or at the same day and time", () => {
    expect(paths(withStep(5, { offsetDays: 10 }))).toEqual(["steps[6].offsetDays"]);
    expect(paths(withStep(5, { offsetDays: 1 }))).toEqual(["steps[5]"]);
    expect(paths(withStep(5, { offsetDays: 1, sendAt: "09:00" }))).toEqual(["steps[5].sendAt"]);
    expect(paths(withStep(5, { offsetDays: 1, sendAt: "11:00" }))).toEqual([]);
  });

  it("refuses offsets outside -60..+365", () => {
    expect(paths(withStep(0, { offsetDays: -61 }))).toEqual(["steps[0].offsetDays"]);
    const late = rules();
    late.steps = [...late.steps, { ...(late.steps[8] as PolicyStep), id: "late", offsetDays: 366 }];
    expect(paths({ ...late, handOff: { offsetDays: 365, at: "10:00" } })).toContain("steps[9].offsetDays");
  });

  it("refuses a contact window that is empty, reversed or outside 08:00-21:00", () => {
    expect(paths(rules({ contactWindow: { start: "07:00", end: "21:00" } }))).toEqual([
      "contactWindow.start",
    ]);
    expect(paths(rules({ contactWindow: { start: "08:00", end: "21:30" } }))).toEqual(["contactWindow.end"]);
    expect(validatePolicy(rules({ contactWindow: { start: "12:00", end: "12:00" } }))[0]).toEqual({
      path: "contactWindow",
      message: "start (12:00) must be before end (12:00)",
    });
    expect(paths(rules({ contactWindow: { start: "8am", end: "21:00" } }))).toEqual(["contactWindow.start"]);
  });

  it("refuses unknown templates and channels, and empty channels", () => {
    expect(validatePolicy(withStep(1, { template: "nope" }))[0]?.path).toBe("steps[1].template");
    expect(validatePolicy(withStep(1, { template: "nope" }))[0]?.message).toMatch(/unknown template "nope"/);
    expect(paths(withStep(1, { channels: [] }))).toEqual(["steps[1].channels"]);
    expect(paths(withStep(1, { channels: ["sms", "fax"] }))).toEqual(["steps[1].channels[1]"]);
  });

  it("refuses other stages, a pre_due step after the due date and a soft step on or before it", () => {
    expect(paths(withStep(1, { stage: "legal" }))).toEqual(["steps[1].stage"]);
    expect(paths(withStep(4, { stage: "pre_due" }))).toEqual(["steps[4].offsetDays"]);
    expect(paths(withStep(3, { stage: "soft_collection" }))).toEqual(["steps[3].offsetDays"]);
  });

  it("refuses a hand-off not after the last soft-collection step", () => {
    expect(validatePolicy(rules({ handOff: { offsetDays: 21, at: "10:00" } }))).toEqual([
      {
        path: "handOff.offsetDays",
        message: "the hand-off must come after the last soft-collection step (D+21)",
      },
    ]);
    expect(paths(rules({ handOff: { offsetDays: 30, at: "25:00" } }))).toEqual(["handOff.at"]);
  });

  it("refuses negative or non-decimal charges and a cap outside 0-100", () => {
    expect(paths(rules({ charges: { ...NO_CHARGES, lateFee: "-5" } }))).toEqual(["charges.lateFee"]);
    expect(paths(rules({ charges: { ...NO_CHARGES, dailyPenaltyRate: "1e-3" } }))).toEqual([
      "charges.dailyPenaltyRate",
    ]);
    expect(paths(rules({ charges: { ...NO_CHARGES, capPercentOfPrincipal: "100.01" } }))).toEqual([
      "charges.capPercentOfPrincipal",
    ]);
    expect(paths(rules({ charges: { ...NO_CHARGES, capPercentOfPrincipal: "100" } }))).toEqual([]);
    expect(paths(rules({ charges: { ...NO_CHARGES, lateFeeAfterDays: -1 } }))).toEqual([
      "charges.lateFeeAfterDays",
    ]);
  });
});

describe("policy changes", () => {
  it("names steps moved, added and removed", () => {
    const after = withStep(5, { offsetDays: 5 });
    after.steps = after.steps.filter((s) => s.id !== "final_notice_21");
    after.steps.push({ ...(DEFAULT_POLICY.steps[8] as PolicyStep), id: "final_25", offsetDays: 25 });
    expect(policyChanges(rules(), after)).toEqual([
      { path: "steps.final_notice_21", from: "D+21 10:00" },
      { path: "steps.soft_3", from: "D+3 10:00", to: "D+5 10:00" },
      { path: "steps.final_25", to: "D+25 10:00" },
    ]);
  });
});

/** The default's rules carrying a copy of the built-in templates, edited. */
const withTemplates = (
  edit: (t: MessageTemplates) => void,
  change: Partial<PolicyRules> = {},
): PolicyRules => {
  const templates = structuredClone(BUILT_IN_TEMPLATES);
  edit(templates);
  return rules({ templates, ...change });
};
/** Sets the en-US SMS body of a template (which exists in the built-ins). */
const enSms = (id: string, body: string) => (t: MessageTemplates) => {
  const texts = t[id]?.["en-US"];
  if (texts) texts.sms = { body };
};
const KNOWN =
  "known: {{name}}, {{amountDue}}, {{dueDate}}, {{daysPastDue}}, {{paymentReference}}, {{amountDueNow}}, {{installmentNumber}}, {{installmentCount}}, {{portalLink}}";
const noFallback = { contactRules: { ...DEFAULT_CONTACT_RULES, fallback: false } };

describe("template validation", () => {
  it("accepts the built-in texts carried as data", () => {
    expect(validatePolicy(withTemplates(() => {}))).toEqual([]);
  });

  it("accepts a valid custom template that a step uses", () => {
    const r = withTemplates((t) => {
      t.nudge = {
        "en-US": {
          sms: {
            body: "{{ name }}, {{amountDue}} was due {{dueDate}} ({{daysPastDue}} days). {{paymentReference}}",
          },
          email: {
            subject: "Reminder {{paymentReference}}",
            body: "Dear {{name}},\n\nPlease pay {{amountDue}}.",
          },
        },
        "zh-CN": {
          sms: { body: "{{name}}您好，请还款{{amountDue}}。" },
          email: { subject: "还款提醒", body: "{{name}}您好，请还款{{amountDue}}。" },
        },
      };
    });
    r.steps[5] = { ...(r.steps[5] as PolicyStep), template: "nudge" };
    expect(validatePolicy(r)).toEqual([]);
  });

  it("refuses an unknown or misspelled variable, naming the known ones", () => {
    expect(validatePolicy(withTemplates(enSms("reminder", "Hi {{name}}, you owe {{balance}}.")))).toEqual([
      { path: "templates.reminder.en-US.sms.body", message: `unknown variable {{balance}}; ${KNOWN}` },
    ]);
    const misspelled = withTemplates((t) => {
      const email = t.overdue_firm?.["zh-CN"]?.email;
      if (email) email.subject = "逾期：{{amountdue}}";
    });
    expect(validatePolicy(misspelled)).toEqual([
      {
        path: "templates.overdue_firm.zh-CN.email.subject",
        message: `unknown variable {{amountdue}}; ${KNOWN}`,
      },
    ]);
    expect(paths(withTemplates(enSms("reminder", "{{name.first}} {{.}}")))).toEqual([
      "templates.reminder.en-US.sms.body",
      "templates.reminder.en-US.sms.body",
    ]);
  });

  it("reports Mustache syntax errors", () => {
    expect(validatePolicy(withTemplates(enSms("due_today", "Hi {{name}}, pay {{amountDue")))).toEqual([
      { path: "templates.due_today.en-US.sms.body", message: "template syntax error: Unclosed tag at 28" },
    ]);
    expect(validatePolicy(withTemplates(enSms("due_today", "{{#name}}Hi")))[0]?.message).toMatch(
      /template syntax error: Unclosed section "name"/,
    );
    expect(validatePolicy(withTemplates(enSms("due_today", "Hi {{/name}}")))[0]?.message).toMatch(
      /template syntax error: Unopened section "name"/,
    );
  });

  it("refuses sections, partials, unescaped, comments and delimiter changes: only plain {{variable}}", () => {
    for (const text of [
      "{{#name}}Hi {{name}}{{/name}}",
      "{{^name}}Hi{{/name}}",
      "{{> footer}}",
      "{{{name}}}",
      "{{&name}}",
      "{{! note }}Hi",
      "{{=<% %>=}}<%name%>",
    ]) {
      const issues = validatePolicy(withTemplates(enSms("reminder", text)));
      expect(
        issues.map((i) => i.path),
        text,
      ).toEqual(["templates.reminder.en-US.sms.body"]);
      expect(issues[0]?.message, text).toMatch(
        /are not allowed; use plain \{\{variable\}\} placeholders only$/,
      );
    }
  });

  it("refuses a missing locale once per template, whichever steps use it", () => {
    const r = withTemplates((t) => {
      if (t.reminder) delete t.reminder["en-US"];
    });
    expect(validatePolicy(r)).toEqual([
      {
        path: "templates.reminder.en-US",
        message: "missing: steps[0] (pre_due_7) uses this template and borrowers may read en-US",
      },
    ]);
  });

  it("refuses a template a step uses by a channel it does not have", () => {
    const r = withTemplates((t) => {
      const texts = t.due_today?.["zh-CN"];
      if (texts) delete texts.sms;
    }, noFallback);
    expect(validatePolicy(r)).toEqual([
      { path: "templates.due_today.zh-CN.sms", message: "missing: steps[3] (due_day) sends it by sms" },
    ]);
  });

  it("needs the other channel too when fallback may switch to it", () => {
    const emailLess = (t: MessageTemplates) => {
      const texts = t.due_today?.["en-US"];
      if (texts) delete texts.email;
    };
    // due_day sends SMS only; with fallback on (the default) an unreachable phone switches it to email.
    expect(validatePolicy(withTemplates(emailLess))).toEqual([
      {
        path: "templates.due_today.en-US.email",
        message: "missing: steps[3] (due_day) may fall back to email (contactRules.fallback is on)",
      },
    ]);
    expect(validatePolicy(withTemplates(emailLess, noFallback))).toEqual([]);
  });

  it("refuses empty texts, texts over their limits and a multi-line subject", () => {
    expect(validatePolicy(withTemplates(enSms("reminder", "  ")))).toEqual([
      { path: "templates.reminder.en-US.sms.body", message: "must not be empty" },
    ]);
    expect(validatePolicy(withTemplates(enSms("reminder", "x".repeat(481))))).toEqual([
      { path: "templates.reminder.en-US.sms.body", message: "at most 480 characters (has 481)" },
    ]);
    expect(paths(withTemplates(enSms("reminder", "好".repeat(480))))).toEqual([]);
    const subject = (text: string) =>
      withTemplates((t) => {
        const email = t.reminder?.["en-US"]?.email;
        if (email) email.subject = text;
      });
    expect(paths(subject("y".repeat(201)))).toEqual(["templates.reminder.en-US.email.subject"]);
    expect(validatePolicy(subject("Reminder\nfor {{name}}"))).toEqual([
      { path: "templates.reminder.en-US.email.subject", message: "a subject is a single line" },
    ]);
  });

  it("checks templates no step uses yet, and refuses unsupported locales", () => {
    const r = withTemplates((t) => {
      t.spare = { "en-US": { sms: { body: "{{debt}}" } } };
      t.french = { "fr-FR": { sms: { body: "Bonjour" } } } as unknown as MessageTemplates[string];
    });
    expect(paths(r)).toEqual(["templates.spare.en-US.sms.body", "templates.french.fr-FR"]);
  });

  it("names an unknown step template on the step only", () => {
    const r = withTemplates((t) => {
      delete t.final_notice;
    });
    expect(validatePolicy(r)).toEqual([
      {
        path: "steps[8].template",
        message:
          'unknown template "final_notice"; known: reminder, due_today, overdue_gentle, overdue_firm, first_notice',
      },
    ]);
  });
});

describe("unchanged values in another key order", () => {
  it("sees no change when a version read back from the database lists keys in another order", () => {
    const stored = rules({
      charges: { capPercentOfPrincipal: "0", dailyPenaltyRate: "0", lateFee: "0", lateFeeAfterDays: 1 },
      contactRules: {
        fallback: true,
        quietWeekdays: [],
        quietDates: [],
        caps: { smsPerDay: 1, contactsPer7Days: 7 },
        capsPer: "loan",
      },
      templates: JSON.parse(JSON.stringify(BUILT_IN_TEMPLATES), (_, value) =>
        value && typeof value === "object" && !Array.isArray(value)
          ? Object.fromEntries(Object.entries(value).reverse())
          : value,
      ),
    });
    const request = rules({ contactRules: DEFAULT_CONTACT_RULES, templates: BUILT_IN_TEMPLATES });
    expect(request.charges).toEqual(stored.charges);
    expect(policyChanges(stored, request)).toEqual([]);
  });
});

describe("template changes", () => {
  it("names each changed text by template, locale and channel, with the wording before and after", () => {
    const after = withTemplates(enSms("reminder", "Hi {{name}}, {{amountDue}} is due {{dueDate}}."));
    expect(policyChanges(rules(), after)).toEqual([
      {
        path: "templates.reminder.en-US.sms",
        from: BUILT_IN_TEMPLATES.reminder?.["en-US"]?.sms,
        to: { body: "Hi {{name}}, {{amountDue}} is due {{dueDate}}." },
      },
    ]);
  });

  it("names templates added and removed, and sees no change from a version stored without templates", () => {
    const after = withTemplates((t) => {
      t.spare = { "en-US": { sms: { body: "Hi {{name}}" } } };
      delete t.final_notice;
    });
    expect(policyChanges(rules(), after).map((c) => c.path)).toEqual([
      "templates.final_notice",
      "templates.spare",
    ]);
    expect(
      policyChanges(
        rules(),
        withTemplates(() => {}),
      ),
    ).toEqual([]);
  });
});
