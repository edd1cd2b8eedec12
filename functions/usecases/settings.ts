import type { SendRates } from "../domain/send-pacing.ts";
import { settingsChanges, type TenantSettings } from "../domain/tenant-settings.ts";
import { toInstant } from "../domain/time.ts";
import type { TenantSettingsStore } from "../ports/send-pacing.ts";
import type { Clock, Principal } from "../ports.ts";
import { actorOf } from "./lender.ts";

export interface SettingsDeps {
  settings: TenantSettingsStore;
  clock: Clock;
}

/** The caller's tenant's settings (version 0, nothing paced, until ops first store some). */
export async function getSettings(deps: SettingsDeps, principal: Principal): Promise<TenantSettings> {
  return deps.settings.get(principal.tenantId);
}

/**
 * Replaces the tenant's settings with the ones given, as the next version, audited `settings_changed` in the
 * tenant's own chain. The same settings again change nothing: no new version, no entry. A concurrent change
 * answers ConcurrentUpdateError (409): read them again and decide.
 */
export async function putSettings(
  deps: SettingsDeps,
  principal: Principal,
  request: { sendRates: SendRates },
): Promise<TenantSettings> {
  const previous = await deps.settings.get(principal.tenantId);
  const sendRates: SendRates = {};
  for (const [channel, rate] of Object.entries(request.sendRates) as [keyof SendRates, number?][]) {
    if (rate !== undefined) sendRates[channel] = rate;
  }
  const changes = settingsChanges(previous, { sendRates });
  if (changes.length === 0 && previous.version > 0) return previous;
  const next: TenantSettings = {
    sendRates,
    version: previous.version + 1,
    updatedAt: toInstant(deps.clock.now()),
    updatedBy: actorOf(principal),
  };
  await deps.settings.put(principal.tenantId, previous, next, {
    type: "settings_changed",
    actor: actorOf(principal),
    data: { from: previous.version, to: next.version, changes },
  });
  return next;
}
