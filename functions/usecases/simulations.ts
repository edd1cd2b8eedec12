import { DEFAULT_PAYMENT_MODEL, type PaymentModel } from "../../simulator/payments.ts";
import { BusinessRuleError, InputOutOfRangeError, NotFoundError } from "../domain/errors.ts";
import type { Policy } from "../domain/policy.ts";
import { type PolicyRules, validatePolicy } from "../domain/policy-validation.ts";
import {
  DEFAULT_SIMULATION_DAYS,
  DEFAULT_SIMULATION_SEED,
  newSimulationId,
} from "../domain/simulation-job.ts";
import { templatesOf } from "../domain/templates.ts";
import { toInstant } from "../domain/time.ts";
import type {
  SimulationJob,
  SimulationPortfolio,
  SimulationQueue,
  SimulationStore,
} from "../ports/simulations.ts";
import type { Clock, PolicyRepository, Principal } from "../ports.ts";
import { logger } from "../powertools.ts";

/** A policy to simulate: a draft's rules (with the id it would be stored under, if any), or a stored policy. */
export type PolicyChoice =
  | { kind: "draft"; id?: string; rules: PolicyRules }
  | { kind: "stored"; policyId: string; version?: number };

/** What ops ask for (POST /v1/simulations), checked at the edge. */
export interface SimulationRequest {
  policy: PolicyChoice;
  compareWith?: PolicyChoice;
  portfolio:
    | { kind: "synthetic"; loans: number; seed?: number; dueDays?: number; installmentShare?: number }
    | { kind: "openCases" };
  /** First simulated day; default the business clock's today (UTC). */
  start?: string;
  days?: number;
  payments?: PaymentModel;
}

export interface SimulationDeps {
  policies: PolicyRepository;
  clock: Clock;
  /** Unset where the deployment configures no simulation queue: starting one is refused (422), none is found. */
  simulations?: { jobs: SimulationStore; queue: SimulationQueue };
}

/** A job as ops follow it: what it runs, how far it is, and once done its report or why it failed. */
export type SimulationView = Omit<SimulationJob, "requestedBy" | "input"> & {
  policies: { label: string; id: string; version: number }[];
  portfolio: SimulationPortfolio;
  start: string;
  days: number;
};

export function simulationView(job: SimulationJob): SimulationView {
  const { requestedBy: _by, input, ...rest } = job;
  return {
    ...rest,
    policies: input.policies.map(({ label, policy }) => ({ label, id: policy.id, version: policy.version })),
    portfolio: input.portfolio,
    start: input.start,
    days: input.days,
  };
}

function configured(deps: SimulationDeps): NonNullable<SimulationDeps["simulations"]> {
  if (deps.simulations) return deps.simulations;
  throw new BusinessRuleError(
    "SIMULATIONS_NOT_CONFIGURED",
    "this deployment has no queue for simulations: run `npm run simulate` instead",
    [{ path: "", message: "simulations need the simulation queue (SIMULATION_QUEUE_URL)" }],
  );
}

/**
 * Starts a simulation: each policy resolved now (a draft validated as PUT /v1/policies validates it, a stored one
 * fixed at its version), the job stored `running` and its message queued. The run happens in the background, in the
 * simulation function; the job answers how far it is. Nothing is stored when a policy is refused.
 */
export async function startSimulation(
  deps: SimulationDeps,
  principal: Principal,
  request: SimulationRequest,
): Promise<SimulationView> {
  const simulations = configured(deps);
  const { tenantId } = principal;
  const policies = [await resolve(deps, tenantId, request.policy, "")];
  if (request.compareWith) {
    const compared = await resolve(deps, tenantId, request.compareWith, "compareWith.");
    // Two runs of one policy (or two drafts without an id) still read apart in the report and the chart.
    if (compared.label === policies[0]?.label) compared.label += " (compare)";
    policies.push(compared);
  }
  const startedAt = toInstant(deps.clock.now());
  const { portfolio } = request;
  const seed = (portfolio.kind === "synthetic" ? portfolio.seed : undefined) ?? DEFAULT_SIMULATION_SEED;
  const job: SimulationJob = {
    id: newSimulationId(),
    status: "running",
    progress: { done: 0, total: portfolio.kind === "synthetic" ? portfolio.loans : 0 },
    startedAt,
    finishedAt: null,
    requestedBy: `${principal.role}:${principal.keyId}`,
    input: {
      policies,
      portfolio: { ...portfolio, seed },
      start: request.start ?? startedAt.slice(0, 10),
      days: request.days ?? DEFAULT_SIMULATION_DAYS,
      payments: request.payments ?? DEFAULT_PAYMENT_MODEL,
    },
  };
  await simulations.jobs.create(tenantId, job);
  const ref = { tenantId, id: job.id };
  try {
    await simulations.queue.send({ tenantId, simulationId: job.id });
  } catch (error) {
    logger.error("simulation not queued", { ...ref, error: error as Error });
    await simulations.jobs.fail(ref, "the simulation could not be queued", startedAt);
    throw error;
  }
  return simulationView(job);
}

/** A simulation of the caller's tenant; NotFoundError for any other id (another tenant's included). */
export async function getSimulation(
  deps: Pick<SimulationDeps, "simulations">,
  principal: Principal,
  id: string,
): Promise<SimulationView> {
  const job = await deps.simulations?.jobs.get({ tenantId: principal.tenantId, id });
  if (!job) throw new NotFoundError(`simulation ${id} not found`);
  return simulationView(job);
}

/**
 * The policy a choice names, with the label the report gives it. A draft without message texts keeps those of the
 * stored policy it names, as a PUT would, and is validated as a PUT is; its issues name the body's paths. The job
 * keeps no texts: the simulator sends nothing.
 */
async function resolve(
  deps: SimulationDeps,
  tenantId: string,
  choice: PolicyChoice,
  at: string,
): Promise<{ label: string; policy: Policy }> {
  if (choice.kind === "stored") {
    const policy = await deps.policies.get(tenantId, choice.policyId, choice.version);
    if (!policy) {
      const named = `policy ${choice.policyId}${choice.version ? ` version ${choice.version}` : ""}`;
      throw new BusinessRuleError("UNKNOWN_POLICY", `${named} does not exist`, [
        { path: `${at}${choice.version ? "version" : "policyId"}`, message: `${named} does not exist` },
      ]);
    }
    return { label: `${policy.id} v${policy.version}`, policy: withoutTexts(policy) };
  }
  const current = choice.id ? await deps.policies.get(tenantId, choice.id) : null;
  const rules: PolicyRules = {
    ...choice.rules,
    templates: choice.rules.templates ?? templatesOf(current ?? {}),
  };
  const issues = validatePolicy(rules);
  if (issues.length > 0) {
    throw new InputOutOfRangeError(
      "the policy is not valid",
      issues.map((issue) => ({
        path: `${at}policy${issue.path ? `.${issue.path}` : ""}`,
        message: issue.message,
      })),
    );
  }
  const id = choice.id ?? "draft";
  // The version a PUT of the draft would store.
  const policy: Policy = { id, version: (current?.version ?? 0) + 1, ...rules };
  return { label: `${id === "draft" ? "draft" : `${id} (draft)`}`, policy: withoutTexts(policy) };
}

const withoutTexts = (policy: Policy): Policy => {
  const { templates: _texts, ...rest } = policy;
  return rest;
};
