import { outcomeSchema, placementId, placementSchema, workItemId } from "../../contracts/work.ts";
import { createPlacement, recallPlacement } from "../../usecases/placements.ts";
import { claimWork, listWork, recordOutcome } from "../../usecases/work.ts";
import type { ApiDeps } from "../deps.ts";
import { HttpError, json, parseWith } from "../http.ts";
import type { Route } from "../route.ts";

/** The collection team's work list: agents list, claim and close calls and visits of their tenant. */
export function workRoutes(deps: ApiDeps): Route[] {
  const idParam = (params: Record<string, string>) => parseWith(workItemId, params.workItemId, "id");
  const team = () => {
    if (!deps.work || !deps.placements)
      throw new HttpError(422, "WORK_NOT_CONFIGURED", "the work list is not configured here");
    return { ...deps, work: deps.work, placements: deps.placements };
  };
  const placementParam = (params: Record<string, string>) => parseWith(placementId, params.placementId, "id");
  return [
    {
      method: "GET",
      path: "/v1/work",
      roles: ["agent"],
      async handle({ principal }) {
        return json(200, await listWork(team(), principal));
      },
    },
    {
      method: "POST",
      path: "/v1/work/{workItemId}:claim",
      roles: ["agent"],
      async handle({ principal, params }) {
        return json(200, await claimWork(team(), principal, idParam(params)));
      },
    },
    {
      method: "POST",
      path: "/v1/work/{workItemId}/outcome",
      roles: ["agent"],
      async handle({ principal, params, body }) {
        const outcome = parseWith(outcomeSchema, body);
        return json(200, await recordOutcome(team(), principal, idParam(params), outcome));
      },
    },
    {
      method: "POST",
      path: "/v1/placements",
      roles: ["ops"],
      async handle({ principal, body }) {
        return json(201, await createPlacement(team(), principal, parseWith(placementSchema, body)));
      },
    },
    {
      method: "POST",
      path: "/v1/placements/{placementId}:recall",
      roles: ["ops"],
      async handle({ principal, params }) {
        return json(200, await recallPlacement(team(), principal, placementParam(params)));
      },
    },
  ];
}
