import {
  promoteBodySchema,
  strategyBodySchema,
  strategyId,
  strategyReportQuery,
  strategyVersionQuery,
} from "../../contracts/strategies.ts";
import type { StrategyRules } from "../../domain/strategies/strategy.ts";
import { getStrategy, promoteArm, putStrategy } from "../../usecases/strategies.ts";
import { strategyReport } from "../../usecases/strategy-report.ts";
import type { ApiDeps } from "../deps.ts";
import { HttpError, json, parseWith } from "../http.ts";
import type { Route } from "../route.ts";

/** Strategies (which policy each segment runs, champion against challengers) and their report. */
export function strategyRoutes(deps: ApiDeps): Route[] {
  const idParam = (params: Record<string, string>) => parseWith(strategyId, params.strategyId, "strategyId");
  const admin = () => {
    if (!deps.strategies)
      throw new HttpError(422, "STRATEGIES_NOT_CONFIGURED", "strategies are not configured here");
    return { strategies: deps.strategies, policies: deps.policies, clock: deps.clock };
  };
  return [
    {
      method: "PUT",
      path: "/v1/strategies/{strategyId}",
      roles: ["ops"],
      idempotencyKey: true,
      async handle({ principal, params, body }) {
        const request = parseWith(strategyBodySchema, body);
        // The shape is checked; what the conditions mean is validateStrategy's (400 with paths).
        const rules = request as StrategyRules & { active?: boolean; comment?: string };
        const { created, strategy } = await putStrategy(admin(), principal, idParam(params), rules);
        return json(created ? 201 : 200, strategy);
      },
    },
    {
      method: "GET",
      path: "/v1/strategies/{strategyId}",
      roles: ["ops", "lender"],
      async handle({ principal, params, query }) {
        const { version } = parseWith(strategyVersionQuery, query);
        return json(200, await getStrategy(admin(), principal, idParam(params), version));
      },
    },
    {
      method: "POST",
      path: "/v1/strategies/{strategyId}:promote",
      roles: ["ops"],
      async handle({ principal, params, body }) {
        const request = parseWith(promoteBodySchema, body);
        return json(201, await promoteArm(admin(), principal, idParam(params), request));
      },
    },
    {
      method: "GET",
      path: "/v1/reports/strategies",
      roles: ["ops", "lender"],
      async handle({ principal, query }) {
        return json(200, await strategyReport(deps, principal, parseWith(strategyReportQuery, query)));
      },
    },
  ];
}
