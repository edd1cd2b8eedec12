import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";
import { makeApiHandler } from "../../functions/api/app.ts";
import { type AuditEntry, appendToChain } from "../../functions/domain/audit-chain.ts";
import {
  CASE_STATUSES,
  type CaseChange,
  type CaseStatus,
  type LoanCase,
} from "../../functions/domain/loan-case.ts";
import { DEFAULT_POLICY } from "../../functions/domain/policy.ts";
import type { ApplicationMessage } from "../../functions/domain/policy-application.ts";
import { claimStep, completeStep, decideStep } from "../../functions/domain/step-lifecycle.ts";
import { toInstant } from "../../functions/domain/time.ts";
import { contributionsOf, dailyIncrements } from "../../functions/domain/trail-projection.ts";
import type { PortfolioReadModel } from "../../functions/ports/reports.ts";
import {
  type CaseRepository,
  type IdempotencyRecord,
  OPEN_STATUSES,
  ROLES,
  type Role,
} from "../../functions/ports.ts";
import { lambdaContext } from "./lambda-context.ts";
import { memoryHandoffs } from "./memory-handoffs.ts";
import { memoryPolicies } from "./memory-policies.ts";
import { memorySettings } from "./memory-settings.ts";
import { memorySimulations } from "./memory-simulations.ts";

/** What the API handler answered: the status, the parsed JSON body and the headers. */
export interface MemoryApiResponse {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

/**
 * The API handler itself on in-memory ports, called as API Gateway would call it. The clock stands still at
 * 2026-01-05T00:00Z until a test moves `clock.now`. Keys: `key-<role>` is a key of tenant demo with that role,
 * `other-<role>` one of tenant other.
 */
export function inMemoryApi() {
  const clock = { now: new Date("2026-01-05T00:00:00Z") };
  const cases = new Map<string, LoanCase>();
  const trails = new Map<string, AuditEntry[]>();
  const store = (change: CaseChange, at: string): LoanCase => {
    const key = `${change.next.tenantId}/${change.next.loanId}`;
    const scope = { tenantId: change.next.tenantId, loanId: change.next.loanId };
    const { entries, head } = appendToChain(scope, change.next.audit, change.events, at);
    trails.set(key, [...(trails.get(key) ?? []), ...entries]);
    const stored = { ...change.next, audit: head, version: change.next.version + 1 };
    cases.set(key, stored);
    return stored;
  };
  const repository: CaseRepository = {
    async get(tenantId, loanId) {
      return cases.get(`${tenantId}/${loanId}`) ?? null;
    },
    async create(change, at) {
      if (cases.has(`${change.next.tenantId}/${change.next.loanId}`)) return { created: false };
      return { created: true, case: store(change, at) };
    },
    async update(_current, change, at) {
      return store(change, at);
    },
    async onceRecord() {
      return null;
    },
    async list(tenantId, query) {
      const items = [...cases.values()].filter(
        (c) => c.tenantId === tenantId && (!query.status || c.status === query.status),
      );
      return { items: items.slice(0, query.limit), nextCursor: null };
    },
    async auditTrail(tenantId, loanId) {
      return trails.get(`${tenantId}/${loanId}`) ?? [];
    },
    async *openCases(tenantId) {
      for (const c of cases.values()) {
        if (c.tenantId !== tenantId || !OPEN_STATUSES.includes(c.status)) continue;
        yield {
          loanId: c.loanId,
          status: c.status,
          dueDate: c.dueDate,
          balance: c.balance,
          timeZone: c.borrower.timeZone,
        };
      }
    },
  };
  // The portfolio report's counts straight from the maps: the trail's daily counters as the projection adds them.
  const portfolio: PortfolioReadModel = {
    async caseCounts(tenantId) {
      const ofTenant = [...cases.values()].filter((c) => c.tenantId === tenantId);
      const byStatus = Object.fromEntries(
        CASE_STATUSES.map((status) => [status, ofTenant.filter((c) => c.status === status).length]),
      ) as Record<CaseStatus, number>;
      return { byStatus, attention: ofTenant.filter((c) => c.attention).length };
    },
    async dailyCounters(tenantId, from, to) {
      const entries = [...cases.values()]
        .filter((c) => c.tenantId === tenantId)
        .flatMap((c) =>
          (trails.get(`${tenantId}/${c.loanId}`) ?? []).map((e) => ({ ...e, tenantId, loanId: c.loanId })),
        );
      return dailyIncrements(contributionsOf(entries))
        .filter(({ day }) => day >= from && day <= to)
        .map(({ day, counters }) => ({ day, counters }));
    },
  };
  const idempotency = new Map<string, IdempotencyRecord>();
  const policies = memoryPolicies();
  /** Page messages of policy applications, as queued (nothing works them here). */
  const applicationPages: { message: ApplicationMessage; delaySeconds: number }[] = [];
  const simulations = memorySimulations();
  const handler = makeApiHandler({
    cases: repository,
    simulations,
    policies,
    applications: {
      jobs: policies.jobs,
      queue: { send: async (message, delaySeconds) => void applicationPages.push({ message, delaySeconds }) },
    },
    settings: memorySettings(),
    portfolio,
    workflow: { start: async () => {}, stop: async () => {} },
    clock: { now: () => clock.now },
    handoffs: memoryHandoffs(),
    horizonDays: 0,
    keys: {
      // key-<role> is a key of tenant demo; other-<role> one of tenant other.
      async resolve(key) {
        const [tenant, role] = key.split("-") as [string, Role];
        if (!ROLES.includes(role) || (tenant !== "key" && tenant !== "other")) return null;
        return { tenantId: tenant === "key" ? "demo" : "other", role, keyId: key };
      },
      async put() {
        throw new Error("not used");
      },
    },
    idempotency: {
      async begin(tenantId, key, fingerprint) {
        const record = idempotency.get(`${tenantId}/${key}`);
        if (record) return { acquired: false, record };
        idempotency.set(`${tenantId}/${key}`, { fingerprint, state: "in_progress", lockedUntil: 0 });
        return { acquired: true };
      },
      async complete(tenantId, key, response) {
        const record = idempotency.get(`${tenantId}/${key}`);
        if (record) idempotency.set(`${tenantId}/${key}`, { ...record, state: "completed", response });
      },
      async release(tenantId, key) {
        idempotency.delete(`${tenantId}/${key}`);
      },
    },
  });

  /** What a workflow step does for a case: claims the step due at `claimedAt` and completes it at `doneAt`. */
  function runStep(loanId: string, claimedAt: string, doneAt: string) {
    const loanCase = cases.get(`demo/${loanId}`) as LoanCase;
    const at = new Date(claimedAt);
    const decision = decideStep(loanCase, DEFAULT_POLICY, at, () => at);
    if (decision.kind !== "send") throw new Error(`no step to send at ${claimedAt}: ${decision.kind}`);
    const claimed = store(claimStep(loanCase, decision, at), toInstant(at));
    store(completeStep(claimed, [], new Date(doneAt)), doneAt);
  }

  async function call(
    method: string,
    path: string,
    options: {
      key?: string;
      body?: unknown;
      query?: Record<string, string>;
      headers?: Record<string, string>;
    } = {},
  ): Promise<MemoryApiResponse> {
    const event = {
      httpMethod: method.toUpperCase(),
      path,
      resource: "/{proxy+}",
      headers: {
        ...(options.key ? { Authorization: `Bearer ${options.key}` } : {}),
        ...(options.body !== undefined ? { "Content-Type": "application/json" } : {}),
        ...options.headers,
      },
      multiValueHeaders: {},
      queryStringParameters: options.query ?? null,
      multiValueQueryStringParameters: null,
      pathParameters: null,
      stageVariables: null,
      body: options.body === undefined ? null : JSON.stringify(options.body),
      isBase64Encoded: false,
      requestContext: { requestId: "test", stage: "test" },
    } as unknown as APIGatewayProxyEvent;
    const result = (await handler(event, lambdaContext("api"))) as APIGatewayProxyResult;
    return {
      status: result.statusCode,
      body: JSON.parse(result.body) as unknown,
      headers: (result.headers ?? {}) as Record<string, string>,
    };
  }
  return Object.assign(call, { clock, runStep, applicationPages, simulations });
}
