import { portfolioQuerySchema } from "../../contracts/reports.ts";
import { portfolioReport } from "../../usecases/portfolio-report.ts";
import type { ApiDeps } from "../deps.ts";
import { json, parseWith } from "../http.ts";
import type { Route } from "../route.ts";

/** Reports over the caller's tenant (the aging report is among the lender routes). */
export function reportRoutes(deps: ApiDeps): Route[] {
  return [
    {
      method: "GET",
      path: "/v1/reports/portfolio",
      roles: ["lender", "ops"],
      async handle({ principal, query }) {
        return json(200, await portfolioReport(deps, principal, parseWith(portfolioQuerySchema, query)));
      },
    },
  ];
}
