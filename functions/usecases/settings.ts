import { InputOutOfRangeError } from "../domain/errors.ts";
import type { SendRates } from "../domain/send-pacing.ts";
import {
  paymentUrlTemplateProblem,
  settingsChanges,
  type TenantSettings,
} from "../domain/tenant-settings.ts";
import { toInstant } from "../domain/time.ts";
import type { TenantSettingsStore } from "../ports/send-pacing.ts";
import type { Clock, Principal } from "../ports.ts";
import { actorOf } from "./lender.ts";

export interface SettingsDeps {
  settings: TenantSettingsStore;
  clock: Clock;
  /** The embedded stack takes a payment page on http://127.0.0.1 or localhost; AWS never does. */
  allowLoopback?: boolean;
}

/** What a PUT may carry; a field left out keeps its stored value. */
export interface SettingsRequest {
  sendRates?: SendRates;
  paymentUrlTemplate?: string | null;
}

/** The caller's tenant's settings (version 0, nothing paced, until ops first store some). */
export async function getSettings(deps: SettingsDeps, principal: Principal): Promise<TenantSettings> {
  return deps.settings.get(principal.tenantId);
}

/**
 * Replaces the tenant's settings with the ones given (a field left out keeps its stored value; `sendRates` given
 * replaces every rate), as the next version, audited `settings_changed` in the tenant's own chain. The same
 * settings again change nothing: no new version, no entry. A concurrent change answers ConcurrentUpdateError
 * (409): read them again and decide.
 */
export async function putSettings(
  deps: SettingsDeps,
  principal: Principal,
  request: SettingsRequest,
): Promise<TenantSettings> {
  const paymentUrlTemplate = checkedTemplate(request.paymentUrlTemplate, deps.allowLoopback ?? false);
  const previous = await deps.settings.get(principal.tenantId);
  const sendRates: SendRates = request.sendRates ? {} : previous.sendRates;
  for (const [channel, rate] of Object.entries(request.sendRates ?? {}) as [keyof SendRates, number?][]) {
    if (rate !== undefined) sendRates[channel] = rate;
  }
  const content = {
    sendRates,
    paymentUrlTemplate: paymentUrlTemplate === undefined ? previous.paymentUrlTemplate : paymentUrlTemplate,
  };
  const changes = settingsChanges(previous, content);
  if (changes.length === 0 && previous.version > 0) return previous;
  const next: TenantSettings = {
    ...content,
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

/** The template as given, refused (400, naming the field) when it is no URL of a payment page. */
function checkedTemplate(template: string | null | undefined, allowLoopback: boolean) {
  const problem =
    typeof template === "string" ? paymentUrlTemplateProblem(template, { allowLoopback }) : null;
  if (problem) {
    throw new InputOutOfRangeError(`the paymentUrlTemplate cannot be used: ${problem}`, [
      { path: "paymentUrlTemplate", message: problem },
    ]);
  }
  return template;
}
