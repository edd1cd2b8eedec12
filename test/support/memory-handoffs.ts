import type { HandoffPackage } from "../../functions/domain/handoff-package.ts";
import type { HandoffRecord, Handoffs } from "../../functions/ports/handoff.ts";

/** The hand-off ports in memory, for harnesses that build StepDeps / LenderDeps / ApiDeps without I/O. */
export function memoryHandoffs(): Handoffs & { packages: Map<string, HandoffPackage> } {
  const records = new Map<string, HandoffRecord>();
  const packages = new Map<string, HandoffPackage>();
  const id = (tenantId: string, loanId: string) => `${tenantId}/${loanId}`;
  return {
    packages,
    store: {
      async put(record) {
        const existing = records.get(id(record.tenantId, record.loanId));
        if (existing) return existing;
        records.set(id(record.tenantId, record.loanId), record);
        return record;
      },
      async get(tenantId, loanId) {
        return records.get(id(tenantId, loanId)) ?? null;
      },
      async list(tenantId, status) {
        return [...records.values()].filter((r) => r.tenantId === tenantId && r.status === status);
      },
      async acknowledge(tenantId, loanId, by, at) {
        const current = records.get(id(tenantId, loanId));
        if (!current) return null;
        if (current.status === "acknowledged") return { changed: false, record: current };
        const record = {
          ...current,
          status: "acknowledged" as const,
          acknowledgedAt: at,
          acknowledgedBy: by,
        };
        records.set(id(tenantId, loanId), record);
        return { changed: true, record };
      },
    },
    publisher: {
      async publish(pkg) {
        packages.set(id(pkg.tenantId, pkg.loanId), pkg);
        const key = `memory/${pkg.tenantId}/${pkg.loanId}`;
        return { kind: "file", container: "memory", json: `${key}.json`, html: `${key}.html` };
      },
      async read(tenantId, loanId) {
        return packages.get(id(tenantId, loanId)) ?? null;
      },
    },
  };
}
