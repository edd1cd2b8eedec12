import type { AuditEvent } from "../../functions/domain/audit-chain.ts";
import { ConcurrentUpdateError } from "../../functions/domain/errors.ts";
import { DEFAULT_TENANT_SETTINGS, type TenantSettings } from "../../functions/domain/tenant-settings.ts";
import type { TenantSettingsStore } from "../../functions/ports/send-pacing.ts";

/** Tenant settings in memory, each change's audit event kept beside them, for unit tests. */
export function memorySettings(): TenantSettingsStore & { audit: { tenantId: string; event: AuditEvent }[] } {
  const stored = new Map<string, TenantSettings>();
  const audit: { tenantId: string; event: AuditEvent }[] = [];
  return {
    audit,
    async get(tenantId) {
      return stored.get(tenantId) ?? DEFAULT_TENANT_SETTINGS;
    },
    async put(tenantId, previous, next, event) {
      if ((stored.get(tenantId)?.version ?? 0) !== previous.version) {
        throw new ConcurrentUpdateError("the tenant's settings changed meanwhile");
      }
      stored.set(tenantId, { ...next, version: previous.version + 1 });
      audit.push({ tenantId, event });
    },
  };
}
