import Mustache from "mustache";
import {
  CHANNELS,
  type Channel,
  FIRST_NOTICE_STEP,
  LOCALES,
  type Locale,
  type PolicyStep,
} from "./policy.ts";
import { type MessageTemplates, TEMPLATE_VARIABLES } from "./templates.ts";

/**
 * Template sizes in characters: an SMS stays a few segments long once filled in and given its opt-out notice;
 * the total keeps a policy version (stored with its change record) well within one database item.
 */
export const TEMPLATE_LIMITS = { smsBody: 480, emailSubject: 200, emailBody: 4000, total: 30_000 } as const;

/**
 * Every text a step can send exists: its template in every supported locale, for each of its channels, and
 * for the other channel too when contact-rule fallback may switch to it. Each gap is named once.
 */
export function checkTemplateCoverage(
  steps: PolicyStep[],
  templates: MessageTemplates,
  fallback: boolean,
  issue: (path: string, message: string) => void,
): void {
  const reported = new Set<string>();
  const once = (path: string, message: string) => {
    if (reported.has(path)) return;
    reported.add(path);
    issue(path, message);
  };
  steps.forEach((step, i) => {
    const texts = Object.hasOwn(templates, step.template) ? templates[step.template] : undefined;
    if (!texts) return; // reported on the step
    const own = step.channels.filter((channel) => CHANNELS.includes(channel));
    const needed: [Channel, string][] = own.map((channel) => [channel, `sends it by ${channel}`]);
    if (fallback && own.length > 0) {
      for (const other of CHANNELS.filter((channel) => !own.includes(channel))) {
        needed.push([other, `may fall back to ${other} (contactRules.fallback is on)`]);
      }
    }
    const by = step.id === FIRST_NOTICE_STEP ? "firstNotice" : `steps[${i}] (${step.id})`;
    for (const locale of LOCALES) {
      const path = `templates.${step.template}.${locale}`;
      const localeTexts = texts[locale];
      if (!localeTexts) {
        once(path, `missing: ${by} uses this template and borrowers may read ${locale}`);
        continue;
      }
      for (const [channel, why] of needed) {
        if (!localeTexts[channel]) once(`${path}.${channel}`, `missing: ${by} ${why}`);
      }
    }
  });
}

/** Every text present is a valid template within its size limit, whether or not a step uses it yet. */
export function checkTemplateTexts(
  templates: MessageTemplates,
  issue: (path: string, message: string) => void,
): void {
  let total = 0;
  for (const [id, byLocale] of Object.entries(templates)) {
    for (const [locale, texts] of Object.entries(byLocale)) {
      const at = `templates.${id}.${locale}`;
      if (!LOCALES.includes(locale as Locale)) {
        issue(at, `unsupported locale; supported: ${LOCALES.join(", ")}`);
        continue;
      }
      if (!texts) continue;
      if (texts.sms) total += checkText(`${at}.sms.body`, texts.sms.body, TEMPLATE_LIMITS.smsBody, issue);
      if (texts.email) {
        const subject = `${at}.email.subject`;
        total += checkText(subject, texts.email.subject, TEMPLATE_LIMITS.emailSubject, issue);
        if (/[\r\n]/.test(texts.email.subject)) issue(subject, "a subject is a single line");
        total += checkText(`${at}.email.body`, texts.email.body, TEMPLATE_LIMITS.emailBody, issue);
      }
    }
  }
  if (total > TEMPLATE_LIMITS.total) {
    issue("templates", `at most ${TEMPLATE_LIMITS.total} characters of text in all (has ${total})`);
  }
}

const KNOWN_VARIABLES = TEMPLATE_VARIABLES.map((name) => `{{${name}}}`).join(", ");
const TAG_FORMS: Record<string, string> = {
  "#": "sections ({{#…}})",
  "^": "inverted sections ({{^…}})",
  ">": "partials ({{>…}})",
  "&": "unescaped variables ({{{…}}} or {{&…}})",
  "!": "comments ({{!…}})",
  "=": "delimiter changes ({{=…=}})",
};

/**
 * One text: not empty, within `max` characters, and valid Mustache using only plain {{variable}} tags of
 * the known variables, so a message can never go out with a gap or raw template syntax. Returns its length.
 */
function checkText(
  path: string,
  text: string,
  max: number,
  issue: (path: string, message: string) => void,
): number {
  const length = [...text].length;
  if (text.trim() === "") issue(path, "must not be empty");
  else if (length > max) issue(path, `at most ${max} characters (has ${length})`);
  let tokens: unknown[][];
  try {
    tokens = Mustache.parse(text) as unknown[][];
  } catch (error) {
    issue(path, `template syntax error: ${(error as Error).message}`);
    return length;
  }
  for (const [type, value] of tokens) {
    if (type === "text") continue;
    if (type === "name") {
      if (!(TEMPLATE_VARIABLES as readonly unknown[]).includes(value)) {
        issue(path, `unknown variable {{${String(value)}}}; known: ${KNOWN_VARIABLES}`);
      }
      continue;
    }
    const form = TAG_FORMS[String(type)] ?? `{{${String(type)}…}} tags`;
    issue(path, `${form} are not allowed; use plain {{variable}} placeholders only`);
  }
  return length;
}
