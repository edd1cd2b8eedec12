import type { ApiDeps } from "../app.ts";
import type { Route } from "../route.ts";

/** Legal routes (hand-off packages). */
export function legalRoutes(_deps: ApiDeps): Route[] {
  return [];
}
