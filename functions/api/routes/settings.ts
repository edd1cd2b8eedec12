import { settingsUpdateSchema } from "../../contracts/settings.ts";
import { getSettings, putSettings } from "../../usecases/settings.ts";
import type { ApiDeps } from "../deps.ts";
import { json, parseWith } from "../http.ts";
import type { Route } from "../route.ts";

/** The tenant's settings: ops change them, ops and lenders read them. Scoped to the caller's tenant. */
export function settingsRoutes(deps: ApiDeps): Route[] {
  return [
    {
      method: "GET",
      path: "/v1/settings",
      roles: ["ops", "lender"],
      async handle({ principal }) {
        return json(200, await getSettings(deps, principal));
      },
    },
    {
      method: "PUT",
      path: "/v1/settings",
      roles: ["ops"],
      idempotencyKey: true,
      async handle({ principal, body }) {
        return json(200, await putSettings(deps, principal, parseWith(settingsUpdateSchema, body)));
      },
    },
  ];
}
