import { describe, expect, it } from "vitest";
import { checkTemplateTexts } from "../../functions/domain/template-validation.ts";
import { BUILT_IN_TEMPLATES, type MessageTemplates } from "../../functions/domain/templates.ts";

/** The issues of one en-US SMS body. */
function issuesOf(body: string): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  const templates: MessageTemplates = { nudge: { "en-US": { sms: { body } } } };
  checkTemplateTexts(templates, (path, message) => issues.push({ path, message }));
  return issues;
}
const messagesOf = (body: string) => issuesOf(body).map((i) => i.message);

describe("template validation of the installment variables", () => {
  it("accepts the built-in texts, installment lines included", () => {
    const issues: string[] = [];
    checkTemplateTexts(BUILT_IN_TEMPLATES, (path, message) => issues.push(`${path}: ${message}`));
    expect(issues).toEqual([]);
  });

  it("accepts {{amountDueNow}} anywhere and the installment's number and count inside its section", () => {
    expect(issuesOf("{{name}}: {{amountDueNow}} due now. Ref {{paymentReference}}.")).toEqual([]);
    expect(
      issuesOf(
        "Hi {{name}}.{{#installment}} Installment {{installmentNumber}} of {{installmentCount}}: {{amountDueNow}}.{{/installment}}",
      ),
    ).toEqual([]);
    expect(
      issuesOf("{{^installment}}Your loan{{/installment}}{{#installment}}Your installment{{/installment}}"),
    ).toEqual([]);
  });

  it("refuses the number and count outside the section: a single-payment loan has none", () => {
    expect(issuesOf("Installment {{installmentNumber}} of {{installmentCount}}")).toEqual([
      {
        path: "templates.nudge.en-US.sms.body",
        message: "{{installmentNumber}} has a value only inside {{#installment}}…{{/installment}}",
      },
      {
        path: "templates.nudge.en-US.sms.body",
        message: "{{installmentCount}} has a value only inside {{#installment}}…{{/installment}}",
      },
    ]);
    expect(messagesOf("{{^installment}}{{installmentNumber}}{{/installment}}")).toEqual([
      "{{installmentNumber}} has a value only inside {{#installment}}…{{/installment}}",
    ]);
  });

  it("refuses the section used as a variable, and every other section", () => {
    expect(messagesOf("Installment: {{installment}}")).toEqual([
      "{{installment}} is a section: use {{#installment}}…{{/installment}}",
    ]);
    expect(messagesOf("{{#installment}}{{#name}}Hi{{/name}}{{/installment}}")).toEqual([
      "sections ({{#…}}) other than {{#installment}}…{{/installment}}, {{#portalLink}}…{{/portalLink}} are not allowed; use plain {{variable}} placeholders only",
    ]);
    expect(messagesOf("{{^amountDue}}nothing{{/amountDue}}")).toEqual([
      "inverted sections ({{^…}}) other than {{^installment}}, {{^portalLink}} are not allowed; use plain {{variable}} placeholders only",
    ]);
    expect(messagesOf("{{#installment}}{{balance}}{{/installment}}")[0]).toMatch(
      /^unknown variable \{\{balance\}\}/,
    );
  });

  it("takes the portal link inside its own section only", () => {
    expect(messagesOf("{{#portalLink}}Pay online: {{portalLink}}{{/portalLink}}")).toEqual([]);
    expect(messagesOf("Pay online: {{portalLink}}")).toEqual([
      "{{portalLink}} has a value only inside {{#portalLink}}…{{/portalLink}}",
    ]);
  });

  it("reports an unclosed section as a syntax error", () => {
    expect(messagesOf("{{#installment}}Installment {{installmentNumber}}")[0]).toMatch(
      /^template syntax error: Unclosed section "installment"/,
    );
  });
});
