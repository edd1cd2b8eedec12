import { ConcurrentUpdateError, NotFoundError } from "../domain/errors.ts";
import { isCollectable, type LoanCase, passOver } from "../domain/loan-case.ts";
import { DEFAULT_POLICY, DEFAULT_POLICY_SINCE, type Policy } from "../domain/policy.ts";
import { policyChanges } from "../domain/policy-changes.ts";
import { type PolicyIssue, type PolicyRules, validatePolicy } from "../domain/policy-validation.ts";
import { templatesOf } from "../domain/templates.ts";
import { toInstant } from "../domain/time.ts";
import type {
  CaseRepository,
  Clock,
  PolicyVersionInfo,
  PolicyVersionStore,
  Principal,
  WorkflowControl,
} from "../ports.ts";
import { logger } from "../powertools.ts";

export interface PolicyDeps {
  policies: PolicyVersionStore;
  cases: CaseRepository;
  workflow: WorkflowControl;
  clock: Clock;
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
 * current version's, so every stored version holds the texts it sends. With `in_flight`, every open case on
 * the policy moves to the new version and is re-planned from its cursor.
 */
export async function putPolicy(
  deps: PolicyDeps,
  principal: Principal,
  policyId: string,
  request: { rules: PolicyRules; applyTo: ApplyTo; comment?: string },
): Promise<{ policy: Policy; info: PolicyVersionInfo; replanned: number }> {
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
  const stored = await deps.policies.putVersion(principal.tenantId, policy, info, {
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
  });
  if (!stored) {
    throw new ConcurrentUpdateError(
      `policy ${policyId} changed meanwhile (version ${version} exists); re-read it`,
    );
  }
  const replanned = request.applyTo === "in_flight" ? await applyInFlight(deps, principal, policy) : 0;
  return { policy, info, replanned };
}

/** Moves every open case of the tenant on `policy.id` (but legal ones) to `policy.version` and re-plans it. */
async function applyInFlight(deps: PolicyDeps, principal: Principal, policy: Policy): Promise<number> {
  let moved = 0;
  for await (const open of deps.cases.openCases(principal.tenantId)) {
    for (let attempt = 1; ; attempt++) {
      const current = await deps.cases.get(principal.tenantId, open.loanId);
      if (!current || current.status === "legal" || current.policy.id !== policy.id) break;
      if (current.policy.version >= policy.version) break;
      try {
        await replan(deps, principal, current, policy);
        moved++;
        break;
      } catch (error) {
        if (!(error instanceof ConcurrentUpdateError) || attempt >= 5) {
          logger.error("policy not applied to a case", { loanId: open.loanId, error: error as Error });
          break;
        }
      }
    }
  }
  return moved;
}

async function replan(deps: PolicyDeps, principal: Principal, current: LoanCase, policy: Policy) {
  const now = toInstant(deps.clock.now());
  const next: LoanCase = {
    ...current,
    policy: { id: policy.id, version: policy.version },
    generation: current.generation + 1,
    // The new execution plans at once (and records its wake).
    wakeAt: now,
    updatedAt: now,
  };
  // Steps the new timing puts behind the progress already made are on the record, never silently dropped.
  const passed = passOver(next, policy, "passed_over_by_replan", { cause: "policy_applied" });
  const stored = await deps.cases.update(
    current,
    {
      next: passed.next,
      events: [
        {
          type: "policy_applied",
          actor: actorOf(principal),
          data: { policyId: policy.id, from: current.policy.version, to: policy.version },
        },
        ...passed.events,
      ],
    },
    now,
  );
  const ref = (c: LoanCase) => ({ tenantId: c.tenantId, loanId: c.loanId, generation: c.generation });
  await deps.workflow.stop(ref(current));
  if (isCollectable(stored)) await deps.workflow.start(ref(stored));
}
