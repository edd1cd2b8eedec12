import type { AuditEvent } from "../../functions/domain/audit-chain.ts";
import { DEFAULT_POLICY, type Policy } from "../../functions/domain/policy.ts";
import type { PolicyVersionInfo, PolicyVersionStore } from "../../functions/ports.ts";

/** Policy versions in memory (the built-in default answers until a tenant stores its own), for unit tests. */
export function memoryPolicies(): PolicyVersionStore & { audit: { tenantId: string; event: AuditEvent }[] } {
  const versions = new Map<string, { policy: Policy; info: PolicyVersionInfo }[]>();
  const audit: { tenantId: string; event: AuditEvent }[] = [];
  const of = (tenantId: string, policyId: string) => versions.get(`${tenantId}/${policyId}`) ?? [];
  return {
    audit,
    async get(tenantId, policyId, version) {
      const stored = of(tenantId, policyId);
      const found = version === undefined ? stored.at(-1) : stored.find((v) => v.policy.version === version);
      if (found) return found.policy;
      const builtIn = policyId === DEFAULT_POLICY.id && (version === undefined || version === 1);
      return builtIn ? DEFAULT_POLICY : null;
    },
    async history(tenantId, policyId) {
      return of(tenantId, policyId)
        .map((v) => v.info)
        .reverse();
    },
    async putVersion(tenantId, policy, info, event) {
      const stored = of(tenantId, policy.id);
      if (stored.some((v) => v.policy.version === policy.version)) return false;
      versions.set(`${tenantId}/${policy.id}`, [...stored, { policy, info }]);
      audit.push({ tenantId, event });
      return true;
    },
  };
}
