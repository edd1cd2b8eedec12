import { canonicalJson } from "../domain/canonical-json.ts";
import { ConcurrentUpdateError, InputOutOfRangeError, NotFoundError } from "../domain/errors.ts";
import type { Strategy, StrategyRules } from "../domain/strategies/strategy.ts";
import { promote, type StrategyIssue, validateStrategy } from "../domain/strategies/strategy-validation.ts";
import { toInstant } from "../domain/time.ts";
import type { ActiveStrategy, StrategyStore } from "../ports/strategies.ts";
import type { Clock, PolicyRepository, Principal } from "../ports.ts";

export interface StrategyAdminDeps {
  strategies: StrategyStore;
  policies: PolicyRepository;
  clock: Clock;
}

/** A strategy version as the API answers it, with whether it decides the tenant's new loans. */
export type StrategyView = Strategy & { active: boolean; comment?: string };

const actorOf = (principal: Principal) => `${principal.role}:${principal.keyId}`;

function invalid(issues: StrategyIssue[]): InputOutOfRangeError {
  return new InputOutOfRangeError("the strategy is not valid", issues);
}

/** The policy ids the rules name that exist for the tenant (any version). */
async function knownPolicies(deps: StrategyAdminDeps, tenantId: string, rules: StrategyRules) {
  const named = new Set(
    rules.rules.flatMap((rule) => [
      ...(rule.policyId !== undefined ? [rule.policyId] : []),
      ...(rule.split ?? []).map((arm) => arm.policyId),
    ]),
  );
  const found = await Promise.all(
    [...named].map(async (id) => [id, await deps.policies.get(tenantId, id)] as const),
  );
  return new Set(found.filter(([, policy]) => policy !== null).map(([id]) => id));
}

async function view(deps: StrategyAdminDeps, tenantId: string, strategy: Strategy): Promise<StrategyView> {
  const active = await deps.strategies.active(tenantId);
  return { ...strategy, active: active?.id === strategy.id };
}

/**
 * Stores the rules as the strategy's next version (validated: every policy exists, splits add to 100, no rule is
 * unreachable), audited `strategy_changed` in the tenant's chain; with `active`, makes it the tenant's strategy
 * for new loans, or stops it being that. The same rules again, with nothing to activate, store nothing.
 */
export async function putStrategy(
  deps: StrategyAdminDeps,
  principal: Principal,
  strategyId: string,
  body: StrategyRules & { active?: boolean; comment?: string },
): Promise<{ created: boolean; strategy: StrategyView }> {
  const { tenantId } = principal;
  const rules: StrategyRules = {
    rules: body.rules,
    ...(body.description !== undefined ? { description: body.description } : {}),
  };
  const issues = validateStrategy(rules, await knownPolicies(deps, tenantId, rules));
  if (issues.length > 0) throw invalid(issues);
  const [current, active] = await Promise.all([
    deps.strategies.get(tenantId, strategyId),
    deps.strategies.active(tenantId),
  ]);
  const isActive = active?.id === strategyId;
  const activation = body.active === undefined || body.active === isActive ? undefined : body.active;
  const sameRules =
    current !== null &&
    canonicalJson({ rules: current.rules, description: current.description }) ===
      canonicalJson({ rules: rules.rules, description: rules.description });
  if (current && sameRules && activation === undefined) {
    return { created: false, strategy: { ...current, active: isActive } };
  }
  const event = {
    type: "strategy_changed",
    data: {
      ...(activation !== undefined ? { active: activation } : {}),
      ...(body.comment !== undefined ? { comment: body.comment } : {}),
    },
  };
  return store(deps, principal, strategyId, current, rules, event, activation);
}

/** Makes a challenger of one segment its champion: the next version, audited `strategy_promoted`. */
export async function promoteArm(
  deps: StrategyAdminDeps,
  principal: Principal,
  strategyId: string,
  request: { segment: string; arm: string; comment?: string },
): Promise<StrategyView> {
  const current = await deps.strategies.get(principal.tenantId, strategyId);
  if (!current) throw new NotFoundError(`strategy ${strategyId} not found`);
  const promoted = promote(current, request.segment, request.arm);
  if ("path" in promoted) throw invalid([promoted]);
  const armPolicy = current.rules
    .find((rule) => rule.segment === request.segment)
    ?.split?.find((arm) => arm.arm === request.arm)?.policyId;
  const event = {
    type: "strategy_promoted",
    data: {
      segment: request.segment,
      arm: request.arm,
      policyId: armPolicy ?? null,
      ...(request.comment !== undefined ? { comment: request.comment } : {}),
    },
  };
  return (await store(deps, principal, strategyId, current, promoted, event)).strategy;
}

async function store(
  deps: StrategyAdminDeps,
  principal: Principal,
  strategyId: string,
  current: Strategy | null,
  rules: StrategyRules,
  event: { type: string; data: Record<string, unknown> },
  activation?: boolean,
): Promise<{ created: true; strategy: StrategyView }> {
  const { tenantId } = principal;
  const at = toInstant(deps.clock.now());
  const by = actorOf(principal);
  // Only the rules and description of `rules` (a promoted version arrives as the whole stored strategy).
  const strategy: Strategy = {
    id: strategyId,
    version: (current?.version ?? 0) + 1,
    rules: rules.rules,
    ...(rules.description !== undefined ? { description: rules.description } : {}),
    createdAt: at,
    createdBy: by,
  };
  const active: ActiveStrategy | null | undefined =
    activation === undefined ? undefined : activation ? { id: strategyId, since: at, by } : null;
  const audit = {
    type: event.type,
    actor: by,
    data: { strategyId, from: current?.version ?? null, to: strategy.version, ...event.data },
  };
  if (!(await deps.strategies.putVersion(tenantId, strategy, audit, active))) {
    throw new ConcurrentUpdateError(`strategy ${strategyId} changed meanwhile; read it again and retry`);
  }
  return { created: true, strategy: await view(deps, tenantId, strategy) };
}

/** A strategy's newest version, or the one asked for. */
export async function getStrategy(
  deps: StrategyAdminDeps,
  principal: Principal,
  strategyId: string,
  version?: number,
): Promise<StrategyView> {
  const strategy = await deps.strategies.get(principal.tenantId, strategyId, version);
  if (!strategy)
    throw new NotFoundError(`strategy ${strategyId}${version ? ` version ${version}` : ""} not found`);
  return view(deps, principal.tenantId, strategy);
}
