import { simulationId, simulationRequestSchema, toSimulationRequest } from "../../contracts/simulations.ts";
import { getSimulation, startSimulation } from "../../usecases/simulations.ts";
import type { ApiDeps } from "../deps.ts";
import { json, parseWith } from "../http.ts";
import type { Route } from "../route.ts";

/**
 * Ops routes: what-if simulations run in the background. A start answers 202 with the job at once; the job is read
 * back, the caller's tenant's only, until it has succeeded (with its report and chart) or failed.
 */
export function simulationRoutes(deps: ApiDeps): Route[] {
  return [
    {
      method: "POST",
      path: "/v1/simulations",
      roles: ["ops"],
      async handle({ principal, body }) {
        const request = toSimulationRequest(parseWith(simulationRequestSchema, body));
        const job = await startSimulation(deps, principal, request);
        // Relative to the request's URL, so it holds behind an API Gateway stage's path as on the embedded stack.
        return json(202, job, { location: `simulations/${job.id}` });
      },
    },
    {
      method: "GET",
      path: "/v1/simulations/{simulationId}",
      roles: ["ops"],
      async handle({ principal, params }) {
        const id = parseWith(simulationId, params.simulationId, "simulationId");
        return json(200, await getSimulation(deps, principal, id));
      },
    },
  ];
}
