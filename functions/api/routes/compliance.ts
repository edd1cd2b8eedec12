import type { ApiDeps } from "../app.ts";
import type { Route } from "../route.ts";

/** Compliance routes (audit export). */
export function complianceRoutes(_deps: ApiDeps): Route[] {
  return [];
}
