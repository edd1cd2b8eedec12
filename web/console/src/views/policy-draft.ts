/** A policy as the editor holds it: the API's document, edited in place and sent back whole. */
export interface PolicyStep {
  id: string;
  stage: string;
  offsetDays: number;
  sendAt: string;
  channels: string[];
  template: string;
}

export type Texts = Partial<Record<"subject" | "body", string>>;
export type Templates = Record<string, Partial<Record<string, Partial<Record<string, Texts>>>>>;

export interface Policy {
  id: string;
  version: number;
  steps: PolicyStep[];
  contactWindow: { start: string; end: string };
  templates?: Templates;
  [rule: string]: unknown;
}

export type FieldErrors = Map<string, string>;

/** What each part of the editor gets: the draft, the API's errors by field, and how to change the draft. */
export interface DraftPart {
  draft: Policy;
  errors: FieldErrors;
  onChange: (draft: Policy) => void;
}

/** The API's validation details by path, as the editor's fields are named (`steps[2].offsetDays` or `steps.2.…`). */
export function fieldErrors(details: { path: string; message: string }[]): FieldErrors {
  return new Map(details.map((d) => [d.path.replace(/\[(\d+)\]/g, ".$1"), d.message]));
}

/** The body of a PUT: the rules of the draft without the stored version's own fields. */
export function putBody(draft: Policy, applyTo: "new_loans" | "in_flight") {
  const { id: _id, version: _version, createdAt: _at, createdBy: _by, changeReason: _why, ...rules } = draft;
  return { ...rules, applyTo };
}

export function withStep(draft: Policy, index: number, change: Partial<PolicyStep>): Policy {
  return { ...draft, steps: draft.steps.map((step, i) => (i === index ? { ...step, ...change } : step)) };
}

export function withText(
  draft: Policy,
  template: string,
  locale: string,
  channel: string,
  part: "subject" | "body",
  text: string,
): Policy {
  const templates = draft.templates ?? {};
  const locales = templates[template] ?? {};
  const channels = locales[locale] ?? {};
  const texts = channels[channel] ?? {};
  return {
    ...draft,
    templates: {
      ...templates,
      [template]: { ...locales, [locale]: { ...channels, [channel]: { ...texts, [part]: text } } },
    },
  };
}
