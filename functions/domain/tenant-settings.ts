import { CHANNELS } from "./channels.ts";
import type { SendRates } from "./send-pacing.ts";

/** A tenant's own settings, as ops set them: one versioned document per tenant. */
export interface TenantSettings {
  /** Messages per second per channel; a channel left out is sent as fast as its steps fall due. */
  sendRates: SendRates;
  /**
   * The lender's own payment page, with `{loanReference}` where it expects the loan; the borrowers' page links
   * to it filled with the loan's id. Null: no pay button.
   */
  paymentUrlTemplate: string | null;
  /** 0 until the tenant first stores settings; each change is the next version. */
  version: number;
  updatedAt: string | null;
  /** `ops:<key id>` of the last change. */
  updatedBy: string | null;
}

/** What a tenant that never stored settings has: nothing paced, no payment page. */
export const DEFAULT_TENANT_SETTINGS: TenantSettings = {
  sendRates: {},
  paymentUrlTemplate: null,
  version: 0,
  updatedAt: null,
  updatedBy: null,
};

type SettingsContent = Pick<TenantSettings, "sendRates" | "paymentUrlTemplate">;
export type SettingsChange = { path: string; from: number | string | null; to: number | string | null };

/** What a change of settings changes, field by field (`sendRates.sms`: 50 → 20), for the audit entry. */
export function settingsChanges(before: SettingsContent, after: SettingsContent): SettingsChange[] {
  const changes: SettingsChange[] = [];
  for (const channel of CHANNELS) {
    const from = before.sendRates[channel] ?? null;
    const to = after.sendRates[channel] ?? null;
    if (from !== to) changes.push({ path: `sendRates.${channel}`, from, to });
  }
  if (before.paymentUrlTemplate !== after.paymentUrlTemplate) {
    changes.push({
      path: "paymentUrlTemplate",
      from: before.paymentUrlTemplate,
      to: after.paymentUrlTemplate,
    });
  }
  return changes;
}

/** Where a payment URL template takes the loan reference. */
export const LOAN_REFERENCE_PLACEHOLDER = "{loanReference}";
export const MAX_PAYMENT_URL_TEMPLATE_LENGTH = 500;

/**
 * Why a payment URL template cannot be stored, or null when it can: an absolute https URL (plain http only to
 * 127.0.0.1 or localhost, where the deployment allows loopback: the embedded stack), at most 500 characters,
 * with `{loanReference}` at least once, after the host (a reference must not change which site the borrower
 * is sent to).
 */
export function paymentUrlTemplateProblem(
  template: string,
  rules: { allowLoopback: boolean },
): string | null {
  if (template.length > MAX_PAYMENT_URL_TEMPLATE_LENGTH) {
    return `must be at most ${MAX_PAYMENT_URL_TEMPLATE_LENGTH} characters`;
  }
  if (!template.includes(LOAN_REFERENCE_PLACEHOLDER)) return `must hold ${LOAN_REFERENCE_PLACEHOLDER}`;
  const [one, other] = [parsed(paymentUrlFor(template, "a")), parsed(paymentUrlFor(template, "b"))];
  if (!one || !other) return "must be an absolute URL";
  const loopback = one.hostname === "127.0.0.1" || one.hostname === "localhost";
  if (one.protocol !== "https:" && !(one.protocol === "http:" && loopback && rules.allowLoopback)) {
    return "must use https";
  }
  if (one.username !== "" || one.password !== "") return "must not hold a user name or password";
  if (one.origin !== other.origin) return `must hold ${LOAN_REFERENCE_PLACEHOLDER} after the host`;
  return null;
}

/** The payment page of one loan: the template with the loan's id, URL-encoded, for each placeholder. */
export function paymentUrlFor(template: string, loanId: string): string;
export function paymentUrlFor(template: string | null, loanId: string): string | null;
export function paymentUrlFor(template: string | null, loanId: string): string | null {
  return template === null
    ? null
    : template.replaceAll(LOAN_REFERENCE_PLACEHOLDER, encodeURIComponent(loanId));
}

function parsed(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}
