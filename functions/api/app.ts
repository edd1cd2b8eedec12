import { createHash } from "node:crypto";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy, { type MiddlewareObj } from "@middy/core";
import httpHeaderNormalizer from "@middy/http-header-normalizer";
import httpRouterHandler from "@middy/http-router";
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import type { ApiKeyStore, IdempotencyStore, Principal } from "../ports.ts";
import { logger } from "../powertools.ts";
import { type BatchItemResult, subscribeBatch } from "../usecases/ingest.ts";
import { auditTrail, getLoan, listLoans, recordEvent, subscribeLoan } from "../usecases/lender.ts";
import { agingReport } from "../usecases/reports.ts";
import { restartLoanWorkflow } from "../usecases/workflow-health.ts";
import type { ApiDeps } from "./deps.ts";
import { duplicateKey } from "./duplicate-keys.ts";
import { errorResponse, HttpError, json, parseWith } from "./http.ts";
import type { Route } from "./route.ts";

export type { ApiDeps };

import {
  batchEntry,
  eventSchema,
  listQuerySchema,
  loanBatchSchema,
  loanId,
  subscribeSchema,
} from "../contracts/requests.ts";
import { complianceRoutes } from "./routes/compliance.ts";
import { consoleRoutes } from "./routes/console.ts";
import { legalRoutes } from "./routes/legal.ts";
import { opsRoutes } from "./routes/ops.ts";
import { portalLinkRoutes } from "./routes/portal-links.ts";
import { reportRoutes } from "./routes/reports.ts";
import { settingsRoutes } from "./routes/settings.ts";
import { simulationRoutes } from "./routes/simulations.ts";
import { strategyRoutes } from "./routes/strategies.ts";
import { webhookRoutes } from "./routes/webhooks.ts";
import { workRoutes } from "./routes/work.ts";

/** Bodies above this size are refused with 413 (a batch of 500 loans stays well below it). */
export const MAX_BODY_BYTES = 1024 * 1024;

export type ApiEvent = APIGatewayProxyEvent & { principal?: Principal; jsonBody?: unknown };

function lenderRoutes(deps: ApiDeps): Route[] {
  const loanParam = (params: Record<string, string>) => parseWith(loanId, params.loanId, "loanId");
  return [
    {
      method: "POST",
      path: "/v1/loans",
      roles: ["lender"],
      async handle({ principal, body }) {
        const request = parseWith(subscribeSchema, body);
        const result = await subscribeLoan(deps, principal, request);
        return json(result.created ? 201 : 200, result.loan);
      },
    },
    {
      // 207: each loan has its own outcome; only an unusable envelope (not an object, 0 or > 500 loans) is a 400.
      method: "POST",
      path: "/v1/loans:batch",
      roles: ["lender"],
      async handle({ principal, body }) {
        const { loans } = parseWith(loanBatchSchema, body);
        const entries = loans.map((loan, index) => batchEntry(loan, `loans.${index}`));
        const results = await subscribeBatch(deps, principal, entries);
        return json(207, { results: results.map(batchItemResponse) });
      },
    },
    {
      method: "GET",
      path: "/v1/loans",
      roles: ["lender", "ops"],
      async handle({ principal, query }) {
        return json(200, await listLoans(deps, principal, parseWith(listQuerySchema, query)));
      },
    },
    {
      method: "GET",
      path: "/v1/loans/{loanId}",
      roles: ["lender", "ops"],
      async handle({ principal, params }) {
        return json(200, await getLoan(deps, principal, loanParam(params)));
      },
    },
    {
      method: "POST",
      path: "/v1/loans/{loanId}/workflow:restart",
      roles: ["ops"],
      async handle({ principal, params }) {
        return json(200, await restartLoanWorkflow(deps, principal, loanParam(params)));
      },
    },
    {
      method: "POST",
      path: "/v1/loans/{loanId}/events",
      roles: ["lender"],
      async handle({ principal, params, body }) {
        const event = parseWith(eventSchema, body);
        return json(200, await recordEvent(deps, principal, loanParam(params), event));
      },
    },
    {
      method: "GET",
      path: "/v1/loans/{loanId}/audit",
      roles: ["lender", "compliance"],
      async handle({ principal, params }) {
        return json(200, { entries: await auditTrail(deps, principal, loanParam(params)) });
      },
    },
    {
      method: "GET",
      path: "/v1/reports/aging",
      roles: ["lender", "ops"],
      async handle({ principal }) {
        return json(200, await agingReport(deps, principal));
      },
    },
  ];
}

/** Bearer API key → tenant and role; every /v1 route needs one. */
function authenticate(keys: ApiKeyStore): MiddlewareObj<ApiEvent> {
  return {
    async before(request) {
      const header = request.event.headers?.authorization ?? "";
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      if (!match?.[1])
        throw new HttpError(401, "UNAUTHENTICATED", "an API key is required: Authorization: Bearer <key>");
      const principal = await keys.resolve(match[1]);
      if (!principal) throw new HttpError(401, "UNAUTHENTICATED", "the API key is not valid");
      request.event.principal = principal;
      logger.appendKeys({ tenantId: principal.tenantId, role: principal.role });
    },
  };
}

/** JSON bodies only, of bounded size; parsed once here. */
const jsonBody: MiddlewareObj<ApiEvent> = {
  before(request) {
    const { event } = request;
    if (event.body === null || event.body === undefined || event.body === "") return;
    const raw = event.isBase64Encoded ? Buffer.from(event.body, "base64").toString("utf8") : event.body;
    if (Buffer.byteLength(raw) > MAX_BODY_BYTES) {
      throw new HttpError(413, "PAYLOAD_TOO_LARGE", `the body exceeds ${MAX_BODY_BYTES} bytes`);
    }
    const type = event.headers?.["content-type"] ?? "";
    if (!/^application\/json\b/i.test(type)) {
      throw new HttpError(415, "UNSUPPORTED_MEDIA_TYPE", "send the body as application/json");
    }
    try {
      event.jsonBody = JSON.parse(raw);
      JSON.stringify(event.jsonBody); // nested too deep to re-serialise (RangeError): a 400 here, not a 500 later
    } catch {
      throw new HttpError(400, "INVALID_JSON", "the body is not valid JSON");
    }
    const duplicate = duplicateKey(raw);
    if (duplicate !== null) {
      throw new HttpError(400, "INVALID_JSON", `the body names "${duplicate}" twice in one object`);
    }
  },
};

/** Maps every error to the contract's shape; only unexpected ones are logged as errors. */
const contractErrors: MiddlewareObj<ApiEvent, APIGatewayProxyResult> = {
  onError(request) {
    const { response, unexpected } = errorResponse(request.error);
    if (unexpected) logger.error("request failed", { error: request.error as Error });
    request.response = response;
  },
};

/**
 * Honours Idempotency-Key on a POST (and a PUT route that declares it): the same key and body return the first response again; the same
 * key with another body is refused. Keys are scoped to the tenant.
 */
/** Answers that say "not now" rather than "this is the outcome": never kept as the key's answer. */
function isTransient(response: APIGatewayProxyResult): boolean {
  if (response.statusCode === 429 || response.statusCode >= 500) return true;
  if (response.statusCode !== 409) return false;
  try {
    const code = (JSON.parse(response.body) as { error?: { code?: string } }).error?.code;
    return code === "CONCURRENT_UPDATE" || code === "IDEMPOTENCY_IN_PROGRESS";
  } catch {
    return false;
  }
}

export async function withIdempotency(
  store: IdempotencyStore,
  event: ApiEvent,
  principal: Principal,
  run: () => Promise<APIGatewayProxyResult>,
  replayOmits: readonly string[] = [],
  /** A PUT that honours the key too (Route.idempotencyKey); every POST does. */
  putHonoursKey = false,
): Promise<APIGatewayProxyResult> {
  const key = event.headers?.["idempotency-key"];
  const honoured = event.httpMethod === "POST" || (putHonoursKey && event.httpMethod === "PUT");
  if (!honoured || !key) return run();
  if (key.length > 255)
    throw new HttpError(400, "VALIDATION_FAILED", "Idempotency-Key is at most 255 characters");
  const fingerprint = createHash("sha256")
    .update(`${event.httpMethod} ${event.path}\n${JSON.stringify(event.jsonBody ?? null)}`)
    .digest("hex");
  const taken = await store.begin(principal.tenantId, key, fingerprint);
  if (!taken.acquired) {
    if (taken.record.fingerprint !== fingerprint) {
      throw new HttpError(
        422,
        "IDEMPOTENCY_KEY_REUSED",
        "this Idempotency-Key was used with a different request",
      );
    }
    if (taken.record.state !== "completed" || !taken.record.response) {
      throw new HttpError(
        409,
        "IDEMPOTENCY_IN_PROGRESS",
        "a request with this Idempotency-Key is still running",
      );
    }
    const { statusCode, body } = taken.record.response;
    return json(statusCode, JSON.parse(body), { "idempotent-replayed": "true" });
  }
  let response: APIGatewayProxyResult;
  try {
    response = await run();
  } catch (error) {
    const mapped = errorResponse(error);
    if (mapped.unexpected) {
      await store.release(principal.tenantId, key);
      throw error;
    }
    response = mapped.response;
  }
  // A transient answer frees the key, so the same request retried later can still succeed.
  if (isTransient(response)) await store.release(principal.tenantId, key);
  else
    await store.complete(principal.tenantId, key, {
      statusCode: response.statusCode,
      body: withoutSecrets(response.body, replayOmits),
    });
  return response;
}

/**
 * The answer as kept for a replay, without the fields named: a webhook secret is shown once and stored only
 * sealed, never in plain text beside an Idempotency-Key (a replay answers without it; rotate for a new one).
 */
function withoutSecrets(body: string, omit: readonly string[]): string {
  if (omit.length === 0) return body;
  try {
    const parsed = JSON.parse(body) as Record<string, unknown>;
    for (const name of omit) delete parsed[name];
    return JSON.stringify(parsed);
  } catch {
    return body;
  }
}

function routes(deps: ApiDeps): Route[] {
  return [
    ...lenderRoutes(deps),
    ...complianceRoutes(deps),
    ...legalRoutes(deps),
    ...opsRoutes(deps),
    ...reportRoutes(deps),
    ...settingsRoutes(deps),
    ...simulationRoutes(deps),
    ...strategyRoutes(deps),
    ...workRoutes(deps),
    ...portalLinkRoutes(deps),
    ...webhookRoutes(deps),
    ...consoleRoutes(deps),
  ];
}

/** One row of the route table: what is served and to whom, without the handler. */
export interface RouteTableRow {
  method: Route["method"];
  path: string;
  roles: Route["roles"];
}

/**
 * Every route the API serves (method, path, roles), read from the same routes() the handler is built from, so
 * tests that walk the table cover new routes automatically. The deps are inert: any call of them throws.
 */
export function routeTable(): RouteTableRow[] {
  const inert: ApiDeps = new Proxy(() => {}, {
    get: (_target, name) => (name === "then" ? undefined : inert),
    apply: () => {
      throw new Error("routeTable() builds routes only; it never runs them");
    },
    construct: () => {
      throw new Error("routeTable() builds routes only; it never runs them");
    },
  }) as unknown as ApiDeps;
  return routes(inert).map(({ method, path, roles }) => ({ method, path, roles: [...roles] }));
}

export function makeApiHandler(deps: ApiDeps) {
  const routed = routes(deps).map((route) => ({
    method: route.method,
    path: route.path,
    handler: async (event: ApiEvent) => {
      const principal = event.principal as Principal;
      if (!route.roles.includes(principal.role)) {
        throw new HttpError(403, "FORBIDDEN", `role ${principal.role} may not use this route`);
      }
      return withIdempotency(
        deps.idempotency,
        event,
        principal,
        () =>
          route.handle({
            principal,
            body: event.jsonBody,
            params: (event.pathParameters ?? {}) as Record<string, string>,
            query: (event.queryStringParameters ?? {}) as Record<string, string>,
          }),
        route.replayOmits,
        route.idempotencyKey === true,
      );
    },
  }));
  return middy<ApiEvent, APIGatewayProxyResult, Error, Context>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(httpHeaderNormalizer())
    .use(contractErrors)
    .use(authenticate(deps.keys))
    .use(jsonBody)
    .handler(httpRouterHandler(routed) as never);
}

/** One loan's answer in a 207: the HTTP status POST /v1/loans would have given it, and the outcome by name. */
export interface BatchItemResponse {
  loanId: string | null;
  status: number;
  outcome: BatchItemResult["status"];
  error?: BatchItemResult["error"];
}

const REJECTION_STATUS: Record<string, number> = { VALIDATION_FAILED: 400, DUPLICATE_LOAN_ID: 409 };
const OUTCOME_STATUS = { created: 201, exists: 200, conflict: 409, failed: 503 } as const;

function batchItemResponse(result: BatchItemResult): BatchItemResponse {
  const status =
    result.status === "rejected"
      ? (REJECTION_STATUS[result.error?.code ?? ""] ?? 422)
      : OUTCOME_STATUS[result.status];
  return {
    loanId: result.loanId,
    status,
    outcome: result.status,
    ...(result.error ? { error: result.error } : {}),
  };
}
