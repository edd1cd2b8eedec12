import * as z from "zod";
import { loanId } from "../../contracts/requests.ts";
import { renderHandoffHtml } from "../../formats/handoff-html.ts";
import { HANDOFF_STATUSES } from "../../ports/handoff.ts";
import { acknowledgeHandoff, getHandoffPackage, listHandoffs } from "../../usecases/handoffs.ts";
import type { ApiDeps } from "../deps.ts";
import { json, parseWith } from "../http.ts";
import type { Route } from "../route.ts";

const listHandoffsQuery = z.strictObject({
  status: z.enum(HANDOFF_STATUSES).default("pending"),
});

/** Legal routes (hand-off packages). Every read and write is scoped to the caller's tenant. */
export function legalRoutes(deps: ApiDeps): Route[] {
  const loanParam = (params: Record<string, string>) => parseWith(loanId, params.loanId, "loanId");
  return [
    {
      method: "GET",
      path: "/v1/handoffs",
      roles: ["legal"],
      async handle({ principal, query }) {
        const { status } = parseWith(listHandoffsQuery, query);
        return json(200, await listHandoffs(deps, principal, status));
      },
    },
    {
      method: "GET",
      path: "/v1/handoffs/{loanId}",
      roles: ["legal"],
      async handle({ principal, params }) {
        return json(200, await getHandoffPackage(deps, principal, loanParam(params)));
      },
    },
    {
      method: "GET",
      path: "/v1/handoffs/{loanId}/package.html",
      roles: ["legal"],
      async handle({ principal, params }) {
        const id = loanParam(params);
        const html = renderHandoffHtml(await getHandoffPackage(deps, principal, id));
        return {
          statusCode: 200,
          headers: {
            "content-type": "text/html; charset=utf-8",
            // A file to keep, not a page of the API's origin: saved, never rendered here with the caller's key.
            "content-disposition": `attachment; filename="handoff-${id}.html"`,
            "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
            "x-content-type-options": "nosniff",
          },
          body: html,
        };
      },
    },
    {
      method: "POST",
      path: "/v1/handoffs/{loanId}/ack",
      roles: ["legal"],
      async handle({ principal, params }) {
        return json(200, await acknowledgeHandoff(deps, principal, loanParam(params)));
      },
    },
  ];
}
