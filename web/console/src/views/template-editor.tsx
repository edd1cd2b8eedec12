import { useState } from "preact/hooks";
import type { Locale } from "../../../../functions/domain/channels.ts";
import { smsParts } from "../../../../functions/domain/sms-parts.ts";
import { type MessageTemplates, renderMessage } from "../../../../functions/domain/templates.ts";
import { Field } from "./field.tsx";
import type { DraftPart } from "./policy-draft.ts";
import { withText } from "./policy-draft.ts";

const LOCALES: Locale[] = ["zh-CN", "en-US"];

/** What the preview fills a template with: a borrower three days late, a 43-character link like the real ones. */
const SAMPLE = {
  "zh-CN": { name: "李伟", amountDue: "¥1,250.00", dueDate: "2026年1月15日", amountDueNow: "¥1,250.00" },
  "en-US": {
    name: "Jane Doe",
    amountDue: "$1,250.00",
    dueDate: "January 15, 2026",
    amountDueNow: "$1,250.00",
  },
} as const;

function preview(templates: MessageTemplates, template: string, locale: Locale, channel: "sms" | "email") {
  try {
    return renderMessage(templates, template, locale, channel, {
      ...SAMPLE[locale],
      daysPastDue: 3,
      paymentReference: "L-1001",
      installment: false,
      portalLink: `https://pay.example/p/${"x".repeat(43)}`,
    });
  } catch (error) {
    return { error: error instanceof Error ? error.message : "cannot be rendered" };
  }
}

/** A template's texts in both languages, each with a live preview and (for SMS) the parts it is sent as. */
export function TemplateEditor({ draft, errors, onChange }: DraftPart) {
  const ids = Object.keys(draft.templates ?? {});
  const [template, setTemplate] = useState(ids[0] ?? "");
  const [channel, setChannel] = useState<"sms" | "email">("sms");
  if (!template) return null;
  const templates = (draft.templates ?? {}) as MessageTemplates;
  const edit = (locale: Locale, part: "subject" | "body", event: Event) =>
    onChange(withText(draft, template, locale, channel, part, (event.target as HTMLInputElement).value));
  return (
    <section aria-labelledby="templates-title" class="panel">
      <h2 id="templates-title">Templates</h2>
      <div class="inline">
        <label for="template-id">Template</label>
        <select
          id="template-id"
          value={template}
          onChange={(e) => setTemplate((e.target as HTMLSelectElement).value)}
        >
          {ids.map((id) => (
            <option key={id} value={id}>
              {id}
            </option>
          ))}
        </select>
        <label for="template-channel">Channel</label>
        <select
          id="template-channel"
          value={channel}
          onChange={(e) => setChannel((e.target as HTMLSelectElement).value as "sms" | "email")}
        >
          <option value="sms">sms</option>
          <option value="email">email</option>
        </select>
      </div>
      <div class="grid">
        {LOCALES.map((locale) => {
          const texts = draft.templates?.[template]?.[locale]?.[channel] ?? {};
          const path = `templates.${template}.${locale}.${channel}`;
          const shown = preview(templates, template, locale, channel);
          const parts = "body" in shown && channel === "sms" ? smsParts(shown.body) : null;
          return (
            <div key={locale}>
              <h3>{locale}</h3>
              {channel === "email" && (
                <Field id={`${path}.subject`} label={`Subject (${locale})`} errors={errors} showLabel>
                  <input value={texts.subject ?? ""} onInput={(e) => edit(locale, "subject", e)} />
                </Field>
              )}
              <Field id={`${path}.body`} label={`Text (${locale})`} errors={errors} showLabel>
                <textarea rows={5} value={texts.body ?? ""} onInput={(e) => edit(locale, "body", e)} />
              </Field>
              <p class="hint">Preview, with the opt-out notice every message carries:</p>
              {"error" in shown ? (
                <p class="error">{shown.error}</p>
              ) : (
                <figure>
                  <figcaption class="visually-hidden">Preview in {locale}</figcaption>
                  <pre class="preview">
                    {shown.subject ? `${shown.subject}\n\n` : ""}
                    {shown.body}
                  </pre>
                </figure>
              )}
              {parts && (
                <p class="hint">
                  {parts.parts} SMS part{parts.parts === 1 ? "" : "s"} ({parts.encoding}, {parts.units}{" "}
                  characters)
                </p>
              )}
            </div>
          );
        })}
      </div>
    </section>
  );
}
