import { CHANNELS } from "./channels.ts";
import type { SendRates } from "./send-pacing.ts";

/** A tenant's own settings, as ops set them: one versioned document per tenant. */
export interface TenantSettings {
  /** Messages per second per channel; a channel left out is sent as fast as its steps fall due. */
  sendRates: SendRates;
  /** 0 until the tenant first stores settings; each change is the next version. */
  version: number;
  updatedAt: string | null;
  /** `ops:<key id>` of the last change. */
  updatedBy: string | null;
}

/** What a tenant that never stored settings has: nothing paced. */
export const DEFAULT_TENANT_SETTINGS: TenantSettings = {
  sendRates: {},
  version: 0,
  updatedAt: null,
  updatedBy: null,
};

/** What a change of settings changes, field by field (`sendRates.sms`: 50 → 20), for the audit entry. */
export function settingsChanges(
  before: Pick<TenantSettings, "sendRates">,
  after: Pick<TenantSettings, "sendRates">,
): { path: string; from: number | null; to: number | null }[] {
  const changes: { path: string; from: number | null; to: number | null }[] = [];
  for (const channel of CHANNELS) {
    const from = before.sendRates[channel] ?? null;
    const to = after.sendRates[channel] ?? null;
    if (from !== to) changes.push({ path: `sendRates.${channel}`, from, to });
  }
  return changes;
}
