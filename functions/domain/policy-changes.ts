import { CHANNELS, LOCALES, offsetLabel, type PolicyRules, type PolicyStep } from "./policy.ts";
import { type MessageTemplates, templatesOf } from "./templates.ts";

export interface PolicyChange {
  path: string;
  from?: unknown;
  to?: unknown;
}

/** What changed from one version to the next: steps added, removed or moved, and other fields changed. */
export function policyChanges(before: PolicyRules, after: PolicyRules): PolicyChange[] {
  const changes: PolicyChange[] = [];
  const old = new Map(before.steps.map((s) => [s.id, s]));
  const next = new Map(after.steps.map((s) => [s.id, s]));
  for (const step of before.steps) {
    if (!next.has(step.id)) changes.push({ path: `steps.${step.id}`, from: when(step) });
  }
  for (const step of after.steps) {
    const was = old.get(step.id);
    if (!was) {
      changes.push({ path: `steps.${step.id}`, to: when(step) });
      continue;
    }
    if (when(was) !== when(step)) changes.push({ path: `steps.${step.id}`, from: when(was), to: when(step) });
    for (const field of ["stage", "channels", "template"] as const) {
      if (!sameValue(was[field], step[field])) {
        changes.push({ path: `steps.${step.id}.${field}`, from: was[field], to: step[field] });
      }
    }
  }
  for (const field of ["handOff", "contactWindow", "charges", "contactRules", "selfService"] as const) {
    if (!sameValue(before[field], after[field])) {
      changes.push({ path: field, from: before[field], to: after[field] });
    }
  }
  changes.push(...templateChanges(templatesOf(before), templatesOf(after)));
  return changes;
}

/**
 * Templates added or removed as a whole, and each changed text by locale and channel
 * (`templates.reminder.en-US.sms`), with its wording before and after for the record.
 */
function templateChanges(before: MessageTemplates, after: MessageTemplates): PolicyChange[] {
  const changes: PolicyChange[] = [];
  for (const id of Object.keys(before)) {
    if (!Object.hasOwn(after, id)) changes.push({ path: `templates.${id}`, from: before[id] });
  }
  for (const [id, next] of Object.entries(after)) {
    const was = Object.hasOwn(before, id) ? before[id] : undefined;
    if (!was) {
      changes.push({ path: `templates.${id}`, to: next });
      continue;
    }
    for (const locale of LOCALES) {
      for (const channel of CHANNELS) {
        const from = was[locale]?.[channel];
        const to = next[locale]?.[channel];
        if (sameValue(from, to)) continue;
        changes.push({
          path: `templates.${id}.${locale}.${channel}`,
          ...(from !== undefined ? { from } : {}),
          ...(to !== undefined ? { to } : {}),
        });
      }
    }
  }
  return changes;
}

/**
 * Deep equality of JSON values regardless of key order: a version read back from the database may list an
 * object's keys in another order than the request did, and that is no change.
 */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameValue(x, b[i]))
    );
  }
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  const keys = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const other = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  return (
    keys.length === other.length &&
    keys.every((k) => sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
  );
}

const when = (step: PolicyStep) => `D${offsetLabel(step.offsetDays)} ${step.sendAt}`;
