import Mustache from "mustache";
import { CHANNELS, type Channel, channelSpec, LOCALES, type Locale, type MessagePart } from "./channels.ts";
import { FIRST_NOTICE_STEP, type PolicyStep } from "./policy.ts";
import {
  type MessageTemplates,
  type MessageTexts,
  TEMPLATE_SECTIONS,
  TEMPLATE_VARIABLES,
} from "./templates.ts";

/**
 * All template text of a policy, in characters: it keeps a policy version (stored with its change record) well
 * within one database item. Each part's own limit is its channel's (ChannelSpec.parts): an SMS stays a few
 * segments long once filled in and given its opt-out notice.
 */
export const TEMPLATE_TEXT_LIMIT = 30_000;

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
    if (fallback) {
      const standIns = new Set(own.flatMap((channel) => channelSpec(channel).fallback));
      for (const other of [...standIns].filter((channel) => !own.includes(channel))) {
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
      for (const [channel, message] of Object.entries(texts ?? {})) {
        if (message) total += checkMessage(`${at}.${channel}`, channel as Channel, message, issue);
      }
    }
  }
  if (total > TEMPLATE_TEXT_LIMIT) {
    issue("templates", `at most ${TEMPLATE_TEXT_LIMIT} characters of text in all (has ${total})`);
  }
}

/** One message's parts, as its channel has them; answers their length. */
function checkMessage(at: string, channel: Channel, message: MessageTexts, issue: Issue): number {
  if (!CHANNELS.includes(channel)) {
    issue(at, `unknown channel; known: ${CHANNELS.join(", ")}`);
    return 0;
  }
  const spec = channelSpec(channel);
  let length = 0;
  for (const [part, limit] of Object.entries(spec.parts) as [MessagePart, number][]) {
    const text = message[part];
    if (text === undefined) {
      issue(`${at}.${part}`, "missing");
      continue;
    }
    length += checkText(`${at}.${part}`, text, limit, issue);
    if (part === "subject" && spec.singleLineSubject && /[\r\n]/.test(text)) {
      issue(`${at}.${part}`, "a subject is a single line");
    }
  }
  return length;
}

type Issue = (path: string, message: string) => void;

const KNOWN_VARIABLES = TEMPLATE_VARIABLES.map((name) => `{{${name}}}`).join(", ");
const SECTIONS = Object.keys(TEMPLATE_SECTIONS);
const TAG_FORMS: Record<string, string> = {
  "#": `sections ({{#…}}) other than ${SECTIONS.map((name) => `{{#${name}}}…{{/${name}}}`).join(", ")}`,
  "^": `inverted sections ({{^…}}) other than ${SECTIONS.map((name) => `{{^${name}}}`).join(", ")}`,
  ">": "partials ({{>…}})",
  "&": "unescaped variables ({{{…}}} or {{&…}})",
  "!": "comments ({{!…}})",
  "=": "delimiter changes ({{=…=}})",
};

/**
 * One text: not empty, within `max` characters, and valid Mustache using only plain {{variable}} tags of
 * the known variables and the known sections, so a message can never go out with a gap or raw template
 * syntax. Returns its length.
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
  checkTokens(path, tokens, null, issue);
  return length;
}

/** Mustache tokens, inside the section `open` (null: outside any, or in an inverted one). */
function checkTokens(path: string, tokens: unknown[][], open: string | null, issue: Issue): void {
  for (const token of tokens) {
    const [type, value] = token;
    if (type === "text") continue;
    if (type === "name") {
      checkVariable(path, String(value), open, issue);
      continue;
    }
    if ((type === "#" || type === "^") && Object.hasOwn(TEMPLATE_SECTIONS, String(value))) {
      // An inverted section renders when its value is false: the section's own variables have none there.
      checkTokens(path, token[4] as unknown[][], type === "#" ? String(value) : null, issue);
      continue;
    }
    const form = TAG_FORMS[String(type)] ?? `{{${String(type)}…}} tags`;
    issue(path, `${form} are not allowed; use plain {{variable}} placeholders only`);
  }
}

function checkVariable(path: string, name: string, open: string | null, issue: Issue): void {
  const section = Object.entries(TEMPLATE_SECTIONS).find(([, names]) => names.some((n) => n === name));
  if (section) {
    // Fine inside its section, which may be named after its one variable (portalLink).
    if (section[0] !== open) {
      issue(path, `{{${name}}} has a value only inside {{#${section[0]}}}…{{/${section[0]}}}`);
    }
  } else if (Object.hasOwn(TEMPLATE_SECTIONS, name)) {
    issue(path, `{{${name}}} is a section: use {{#${name}}}…{{/${name}}}`);
  } else if (!(TEMPLATE_VARIABLES as readonly string[]).includes(name)) {
    issue(path, `unknown variable {{${name}}}; known: ${KNOWN_VARIABLES}`);
  }
}
