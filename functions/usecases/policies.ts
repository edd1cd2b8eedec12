import { BusinessRuleError, ConcurrentUpdateError, NotFoundError } from "../domain/errors.ts";
import { DEFAULT_POLICY, DEFAULT_POLICY_SINCE, type Policy } from "../domain/policy.ts";
import {
  type ApplicationProgress,
  applicationView,
  type PolicyApplication,
  startApplication,
} from "../domain/policy-application.ts";
import { policyChanges } from "../domain/policy-changes.ts";
import { type PolicyIssue, type PolicyRules, validatePolicy } from "../domain/policy-validation.ts";
import { templatesOf } from "../domain/templates.ts";
import { toInstant } from "../domain/time.ts";
import type { PolicyJobQueue, PolicyJobStore } from "../ports/policy-jobs.ts";
import type { Clock, PolicyVersionInfo, PolicyVersionStore, Principal } from "../ports.ts";
import { logger } from "../powertools.ts";

export interface PolicyDeps {
  policies: PolicyVersionStore;
  clock: Clock;
  /**
   * Policy applications (`applyTo: "in_flight"`): the job records and the queue their pages go by. Unset where
   * the deployment configures no queue: an in-flight change is then refused (422) before anything is stored.
   */
  applications?: { jobs: PolicyJobStore; queue: PolicyJobQueue };
}

export type ApplyTo = PolicyVersionInfo["applyTo"];

/** The rules break the domain's rules; `issues` name each offending field. */
export class InvalidPolicyError extends Error {
  constructor(readonly issues: PolicyIssue[]) {
    super("the policy is not valid");
    this.name = "InvalidPolicyError";
  }
}

const actorOf = (principal: Principal) => `${principal.role}:${principal.keyId}`;

/** The built-in default's version 1 as history shows it: there from the start, by the system. */
const BUILT_IN_INFO: PolicyVersionInfo = {
  version: DEFAULT_POLICY.version,
  changedAt: DEFAULT_POLICY_SINCE,
  changedBy: "system",
  comment: "built-in default policy",
  applyTo: "new_loans",
  changes: [],
};

/**
 * The active (newest) version of a policy, with the templates it sends (the built-in texts for a version
 * stored before templates were policy data), so ops can edit them and store them back.
 */
export async function getPolicy(deps: PolicyDeps, principal: Principal, policyId: string): Promise<Policy> {
  const policy = await deps.policies.get(principal.tenantId, policyId);
  if (!policy) throw new NotFoundError(`policy ${policyId} not found`);
  return { ...policy, templates: templatesOf(policy) };
}

/** Every version, newest first, with who changed what. */
export async function policyHistory(
  deps: PolicyDeps,
  principal: Principal,
  policyId: string,
): Promise<{ items: PolicyVersionInfo[] }> {
  const stored = await deps.policies.history(principal.tenantId, policyId);
  const builtIn = policyId === DEFAULT_POLICY.id && !stored.some((i) => i.version === DEFAULT_POLICY.version);
  const items = builtIn ? [...stored, BUILT_IN_INFO] : stored;
  if (items.length === 0) throw new NotFoundError(`policy ${policyId} not found`);
  return { items };
}

/**
 * Validates the rules and stores them as the next version (audited `policy_changed` in the tenant's chain);
 * throws InvalidPolicyError, storing nothing, when they break a rule. Rules without templates keep the
 * current version's, so every stored version holds the texts it sends. With `in_flight`, the version is stored
 * with a job (same transaction) that moves every open case on the policy to it in the background, and the job's
 * first page is queued: `application` is that job.
 */
export async function putPolicy(
  deps: PolicyDeps,
  principal: Principal,
  policyId: string,
  request: { rules: PolicyRules; applyTo: ApplyTo; comment?: string },
): Promise<{ policy: Policy; info: PolicyVersionInfo; application: PolicyApplication | null }> {
  const applications = request.applyTo === "in_flight" ? inFlightJobs(deps) : undefined;
  const current = await deps.policies.get(principal.tenantId, policyId);
  const rules: PolicyRules = {
    ...request.rules,
    templates: request.rules.templates ?? templatesOf(current ?? {}),
  };
  const issues = validatePolicy(rules);
  if (issues.length > 0) throw new InvalidPolicyError(issues);
  const version = (current?.version ?? 0) + 1;
  const policy: Policy = { id: policyId, version, ...rules };
  const changes = current ? policyChanges(current, rules) : [];
  const info: PolicyVersionInfo = {
    version,
    changedAt: toInstant(deps.clock.now()),
    changedBy: actorOf(principal),
    comment: request.comment ?? null,
    applyTo: request.applyTo,
    changes,
  };
  const job = applications
    ? startApplication(policyId, version, { at: info.changedAt, by: info.changedBy })
    : undefined;
  const audit = {
    type: "policy_changed",
    actor: actorOf(principal),
    data: {
      policyId,
      from: current?.version ?? null,
      to: version,
      applyTo: request.applyTo,
      comment: info.comment,
      changes,
    },
  };
  const stored = await deps.policies.putVersion(principal.tenantId, policy, info, audit, job);
  if (!stored) {
    throw new ConcurrentUpdateError(
      `policy ${policyId} changed meanwhile (version ${version} exists); re-read it`,
    );
  }
  if (applications && job) await queueFirstPage(applications, principal.tenantId, job, deps.clock);
  return { policy, info, application: job ? applicationView(job) : null };
}

function inFlightJobs(deps: PolicyDeps): NonNullable<PolicyDeps["applications"]> {
  if (deps.applications) return deps.applications;
  throw new BusinessRuleError(
    "POLICY_APPLY_NOT_CONFIGURED",
    "this deployment has no queue for policy applications: store the version with applyTo new_loans",
    [{ path: "applyTo", message: "in_flight needs the policy application queue (POLICY_APPLY_QUEUE_URL)" }],
  );
}

/** Queues the job's first page; a job whose first page could not be queued ends failed, and the caller hears why. */
async function queueFirstPage(
  applications: NonNullable<PolicyDeps["applications"]>,
  tenantId: string,
  job: ApplicationProgress,
  clock: Clock,
): Promise<void> {
  const ref = { tenantId, policyId: job.policyId, jobId: job.id };
  try {
    await applications.queue.send({ ...ref, version: job.version }, 0);
  } catch (error) {
    logger.error("policy application not queued", { ...ref, error: error as Error });
    await applications.jobs.fail(ref, toInstant(clock.now()));
    throw error;
  }
}
