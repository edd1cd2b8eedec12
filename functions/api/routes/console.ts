import { loanId } from "../../contracts/requests.ts";
import { ROLES } from "../../ports.ts";
import { loanTimeline } from "../../usecases/timeline.ts";
import type { ApiDeps } from "../deps.ts";
import { json, parseWith } from "../http.ts";
import type { Route } from "../route.ts";

/** What the ops console reads beyond the lender's routes: who a key is, and a loan's timeline. */
export function consoleRoutes(deps: ApiDeps): Route[] {
  return [
    {
      // Any valid key may ask what it is: the console shows each role its own views.
      method: "GET",
      path: "/v1/me",
      roles: [...ROLES],
      async handle({ principal }) {
        const { tenantId, role, keyId, agencyId } = principal;
        return json(200, { tenantId, role, keyId, ...(agencyId !== undefined ? { agencyId } : {}) });
      },
    },
    {
      method: "GET",
      path: "/v1/loans/{loanId}/timeline",
      roles: ["lender", "ops", "compliance"],
      async handle({ principal, params }) {
        return json(200, await loanTimeline(deps, principal, parseWith(loanId, params.loanId, "loanId")));
      },
    },
  ];
}
