import type { RouteTableRow } from "../../functions/api/app.ts";
import { DEFAULT_POLICY } from "../../functions/domain/policy.ts";
import { loanRequest } from "./client.ts";

/**
 * Valid-looking requests for any row of routeTable(), for the tests that walk every route (the access matrix,
 * the fuzzer). Routes not listed here still get a request: their path parameters filled in, a `{}` body on
 * writes, and `bodyKnown: false` so a test knows a 400 may come before the tenant is looked at.
 */
export interface RouteRequestPlan {
  method: string;
  path: string;
  body?: unknown;
  bodyKnown: boolean;
}

export interface RouteIds {
  /** The loan to address through `{loanId}`. */
  loanId: string;
  /** A loan id never used before (for subscriptions). */
  fresh: string;
}

const routeKey = (row: Pick<RouteTableRow, "method" | "path">) => `${row.method} ${row.path}`;

/** Valid bodies of the write routes this test suite knows. */
const BODIES: Record<string, (ids: RouteIds) => unknown> = {
  "POST /v1/loans": (ids) => loanRequest(ids.fresh),
  "POST /v1/loans:batch": (ids) => ({ loans: [loanRequest(ids.fresh)] }),
  "POST /v1/loans/{loanId}/events": () => ({ type: "opt_in", channel: "email" }),
  // The default's own rules, stored as a new version that leaves running loans alone.
  "PUT /v1/policies/{policyId}": () => ({
    steps: DEFAULT_POLICY.steps,
    handOff: DEFAULT_POLICY.handOff,
    contactWindow: DEFAULT_POLICY.contactWindow,
    applyTo: "new_loans",
  }),
  "PUT /v1/settings": () => ({ sendRates: { sms: 50 } }),
};

/** Query strings that make a read route meaningful (the loan filter narrows an export to one loan). */
const QUERIES: Record<string, (ids: RouteIds) => Record<string, string>> = {
  "GET /v1/audit/export": (ids) => ({
    // The export spans at most 366 days.
    from: "2026-01-01T00:00:00Z",
    to: "2027-01-01T00:00:00Z",
    format: "jsonl",
    loanId: ids.loanId,
  }),
  "GET /v1/handoffs": () => ({ status: "pending" }),
};

/** Fills `{name}` path parameters: loanId from ids, anything else (policyId...) with "default". */
export function fillPath(path: string, params: Record<string, string>): string {
  return path.replace(/\{([^}+]+)\+?\}/g, (_match, name: string) =>
    encodeURIComponent(params[name] ?? "default"),
  );
}

export function routeRequest(row: RouteTableRow, ids: RouteIds): RouteRequestPlan {
  const key = routeKey(row);
  const query = QUERIES[key]?.(ids);
  const path = fillPath(row.path, { loanId: ids.loanId }) + (query ? `?${new URLSearchParams(query)}` : "");
  const writes = row.method === "POST" || row.method === "PUT" || row.method === "PATCH";
  const known = BODIES[key];
  if (!writes) return { method: row.method, path, bodyKnown: true };
  return { method: row.method, path, body: known ? known(ids) : {}, bodyKnown: known !== undefined };
}

/** How the route names one loan: in its path (another tenant's → 404), through a filter, or not at all. */
export function loanAddressing(row: RouteTableRow): "path" | "filter" | "none" {
  if (row.path.includes("{loanId}")) return "path";
  return QUERIES[routeKey(row)]?.({ loanId: "x", fresh: "y" }).loanId === "x" ? "filter" : "none";
}
