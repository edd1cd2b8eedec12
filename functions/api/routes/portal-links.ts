import { loanId } from "../../contracts/requests.ts";
import { actorOf } from "../../usecases/lender.ts";
import { revokePortalLinks } from "../../usecases/portal-links.ts";
import type { ApiDeps } from "../deps.ts";
import { json, parseWith } from "../http.ts";
import type { Route } from "../route.ts";

/** The borrowers' personal links, as the lender manages them. */
export function portalLinkRoutes(deps: ApiDeps): Route[] {
  return [
    {
      // Every link sent so far for the loan stops working; messages sent later carry new ones.
      method: "POST",
      path: "/v1/loans/{loanId}/portal-links:revoke",
      roles: ["lender"],
      async handle({ principal, params }) {
        const by = { tenantId: principal.tenantId, actor: actorOf(principal) };
        return json(200, await revokePortalLinks(deps, by, parseWith(loanId, params.loanId, "loanId")));
      },
    },
  ];
}
