import type { Method } from "@middy/http-router";
import type { APIGatewayProxyResult } from "aws-lambda";
import type { Principal, Role } from "../ports.ts";

/** What a route sees: the authenticated caller and the parsed request. */
export interface RouteRequest {
  principal: Principal;
  body: unknown;
  params: Record<string, string>;
  query: Record<string, string>;
}

/** One route of the API: the roles it admits and its handler. Tenant scoping is the use case's job. */
export interface Route {
  method: Method;
  path: string;
  roles: Role[];
  /** Top-level fields of the answer never kept for an Idempotency-Key replay (a secret shown once). */
  replayOmits?: readonly string[];
  /** A PUT that honours Idempotency-Key as every POST does (a replay answers the first answer, changing nothing). */
  idempotencyKey?: boolean;
  handle(request: RouteRequest): Promise<APIGatewayProxyResult>;
}
