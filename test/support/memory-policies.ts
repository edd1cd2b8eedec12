import type { AuditEvent } from "../../functions/domain/audit-chain.ts";
import { DEFAULT_POLICY, type Policy } from "../../functions/domain/policy.ts";
import type { ApplicationProgress } from "../../functions/domain/policy-application.ts";
import type { ApplicationRef, PolicyJobStore } from "../../functions/ports/policy-jobs.ts";
import type { PolicyVersionInfo, PolicyVersionStore } from "../../functions/ports.ts";

/**
 * Policy versions in memory (the built-in default answers until a tenant stores its own), for unit tests, with the
 * jobs that apply versions in flight: created with their version, changed under the conditions DynamoDB checks.
 */
export function memoryPolicies(): PolicyVersionStore & {
  audit: { tenantId: string; event: AuditEvent }[];
  jobs: PolicyJobStore & { all: Map<string, ApplicationProgress> };
} {
  const versions = new Map<string, { policy: Policy; info: PolicyVersionInfo }[]>();
  const audit: { tenantId: string; event: AuditEvent }[] = [];
  const jobs = memoryJobs();
  const of = (tenantId: string, policyId: string) => versions.get(`${tenantId}/${policyId}`) ?? [];
  return {
    audit,
    jobs,
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
    async putVersion(tenantId, policy, info, event, job) {
      const stored = of(tenantId, policy.id);
      if (stored.some((v) => v.policy.version === policy.version)) return false;
      versions.set(`${tenantId}/${policy.id}`, [...stored, { policy, info }]);
      audit.push({ tenantId, event });
      if (job) jobs.all.set(jobKey({ tenantId, policyId: policy.id, jobId: job.id }), { ...job });
      return true;
    },
  };
}

const jobKey = (ref: ApplicationRef) => `${ref.tenantId}/${ref.policyId}/${ref.jobId}`;

function memoryJobs(): PolicyJobStore & { all: Map<string, ApplicationProgress> } {
  const all = new Map<string, ApplicationProgress>();
  /** Applies `change` to the job when `holds` is true of it, as a conditional update; false otherwise. */
  const update = (
    ref: ApplicationRef,
    holds: (job: ApplicationProgress) => boolean,
    change: (job: ApplicationProgress) => ApplicationProgress,
  ) => {
    const job = all.get(jobKey(ref));
    if (!job || !holds(job)) return false;
    all.set(jobKey(ref), change(job));
    return true;
  };
  return {
    all,
    async get(ref) {
      const job = all.get(jobKey(ref));
      return job ? { ...job } : null;
    },
    async recordPage(ref, page) {
      return update(
        ref,
        (job) => job.status === "running" && job.cursor === page.from,
        ({ sent: _sent, ...job }) => ({
          ...job,
          cursor: page.next,
          lastFrom: page.from,
          sendBy: page.sendBy,
          total: job.total + page.counts.total,
          moved: job.moved + page.counts.moved,
          failed: job.failed + page.counts.failed,
          ...(page.done ? { status: "done" as const, finishedAt: page.at } : {}),
        }),
      );
    },
    async claimSend(ref, cursor, expiredSendBy, sendBy) {
      return update(
        ref,
        (job) =>
          job.status === "running" &&
          job.cursor === cursor &&
          job.sendBy === expiredSendBy &&
          job.sent !== cursor,
        (job) => ({ ...job, sendBy }),
      );
    },
    async markSent(ref, cursor) {
      update(
        ref,
        (job) => job.cursor === cursor,
        (job) => ({ ...job, sent: cursor }),
      );
    },
    async fail(ref, at) {
      update(
        ref,
        (job) => job.status === "running",
        (job) => ({ ...job, status: "failed", finishedAt: at }),
      );
    },
  };
}
