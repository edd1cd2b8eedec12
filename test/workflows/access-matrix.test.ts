import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { DynamoApiKeyStore } from "../../functions/adapters/dynamo/api-key-store.ts";
import { makeDocumentClient } from "../../functions/adapters/dynamo/client.ts";
import { type RouteTableRow, routeTable } from "../../functions/api/app.ts";
import { ROLES, type Role } from "../../functions/ports.ts";
import { DEMO_TENANT, type LocalStack, startLocalStack } from "../../infra/local/stack.ts";
import { loanRequest } from "./client.ts";
import { loanAddressing, routeRequest } from "./route-requests.ts";

/**
 * Tenancy and roles over real HTTP on the local stack: every route of routeTable() × every role × (own tenant's
 * loan, the other tenant's loan) for two tenants, plus no key, an unknown key, a malformed header and a revoked
 * key. 401 without a valid key, 403 for a role the route does not admit, 404 for another tenant's loan, and
 * never a byte of the other tenant's data in any answer.
 */
let stack: LocalStack;
const suffix = randomBytes(4).toString("hex");
const OTHER_TENANT = `acme-${suffix}`;

interface Tenant {
  id: string;
  keys: Record<Role, string>;
  loanId: string;
  /** Strings only this tenant's data contains: another tenant must never see them. */
  markers: string[];
}
let tenants: [Tenant, Tenant];
let revokedKey: string;

interface Answer {
  status: number;
  contentType: string;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: checked field by field
  json: any;
}

async function call(method: string, path: string, headers: Record<string, string>, body?: unknown) {
  const res = await fetch(`${stack.url}${path}`, {
    method,
    headers: { ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  const contentType = res.headers.get("content-type") ?? "";
  let json: unknown = null;
  if (/json/i.test(contentType) && text) json = JSON.parse(text);
  return { status: res.status, contentType, text, json } as Answer;
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

function borrowerOf(tenant: string) {
  return {
    name: `Borrower ${tenant}`,
    email: `${tenant}.borrower@example.com`,
    phone: "+8613800138000",
    locale: "zh-CN",
    timeZone: "Asia/Shanghai",
  };
}

beforeAll(async () => {
  const endpoint = inject("dynamoEndpoint");
  const prefix = `mx-${suffix}-`;
  stack = await startLocalStack({
    clockStart: new Date("2026-01-05T00:00:00Z"),
    frozen: true,
    port: 0,
    dynamoEndpoint: endpoint,
    tablePrefix: prefix,
  });
  const store = new DynamoApiKeyStore(makeDocumentClient({ endpoint }), {
    stateTable: `${prefix}dunning-state`,
  });
  const otherKeys = {} as Record<Role, string>;
  for (const role of ROLES) {
    otherKeys[role] = `dk_${OTHER_TENANT}_${role}_${randomBytes(12).toString("hex")}`;
    await store.put(otherKeys[role], { tenantId: OTHER_TENANT, role });
  }
  revokedKey = `dk_revoked_${randomBytes(12).toString("hex")}`;
  await store.put(revokedKey, { tenantId: OTHER_TENANT, role: "lender" });
  await store.revoke(revokedKey);

  const make = (id: string, keys: Record<Role, string>): Tenant => ({
    id,
    keys,
    loanId: `mx-${id}-loan`,
    markers: [`Borrower ${id}`, `${id}.borrower@example.com`],
  });
  tenants = [make(DEMO_TENANT, stack.keys), make(OTHER_TENANT, otherKeys)];
  for (const tenant of tenants) {
    const body = loanRequest(tenant.loanId, { borrower: borrowerOf(tenant.id) });
    const created = await call("POST", "/v1/loans", bearer(tenant.keys.lender), body);
    expect(created.status).toBe(201);
    // The same loan id in both tenants too: each must see only its own.
    const shared = loanRequest(`mx-shared-${suffix}`, { borrower: borrowerOf(tenant.id) });
    expect((await call("POST", "/v1/loans", bearer(tenant.keys.lender), shared)).status).toBe(201);
  }
});

afterAll(async () => {
  await stack?.stop();
});

function expectErrorShape(answer: Answer, where: string) {
  expect(answer.contentType, where).toMatch(/^application\/json/);
  expect(answer.json, where).toMatchObject({
    error: { code: expect.any(String), message: expect.any(String) },
  });
}

interface Cell {
  route: string;
  caller: string;
  resource: string;
  status: number;
}

describe("access matrix: every route × every role × own/other tenant × key states", () => {
  it("401 without a valid key, 403 for a foreign role, 404 for another tenant's loan, 0 leaks", async () => {
    const table = routeTable();
    expect(table.length).toBeGreaterThan(0);
    const cells: Cell[] = [];
    const failures: string[] = [];
    const unreachedTenantChecks: string[] = [];
    let counter = 0;
    const fresh = () => `mx-new-${suffix}-${++counter}`;

    // The 404 a never-existing loan gets, per route: another tenant's loan must look exactly like it.
    const missing = new Map<string, string>();
    const check = (ok: boolean, message: string) => {
      if (!ok) failures.push(message);
    };

    const jobs: (() => Promise<void>)[] = [];
    for (const row of table) {
      const name = `${row.method} ${row.path}`;
      for (const [index, caller] of tenants.entries()) {
        const other = tenants[1 - index] as Tenant;
        for (const role of ROLES) {
          for (const resource of ["own", "other"] as const) {
            jobs.push(async () => {
              const loanId = resource === "own" ? caller.loanId : other.loanId;
              const plan = routeRequest(row, { loanId, fresh: fresh() });
              const answer = await call(plan.method, plan.path, bearer(caller.keys[role]), plan.body);
              const where = `${name} as ${caller.id}/${role} on ${resource} loan → ${answer.status} ${answer.text.slice(0, 200)}`;
              cells.push({ route: name, caller: `${caller.id}/${role}`, resource, status: answer.status });
              check(answer.status < 500, `5xx: ${where}`);
              // Never the other tenant's data; the other loan's id may only come back as an echo of the request.
              const markers = resource === "own" ? [...other.markers, other.loanId] : other.markers;
              for (const marker of markers)
                check(!answer.text.includes(marker), `LEAK of ${marker}: ${where}`);
              if (!row.roles.includes(role)) {
                check(answer.status === 403, `expected 403: ${where}`);
                return;
              }
              check(answer.status !== 401 && answer.status !== 403, `expected access: ${where}`);
              const addressing = loanAddressing(row);
              if (resource === "other" && addressing === "filter") {
                // A filter naming another tenant's loan must answer exactly as for a loan that does not exist.
                const none = await missingAnswer(row, caller, role, missing);
                check(
                  `${answer.status} ${answer.json?.error?.code}` === none,
                  `differs from a missing loan's (${none}): ${where}`,
                );
              }
              if (resource === "other" && addressing === "path") {
                check(answer.status < 200 || answer.status >= 300, `2xx on another tenant's loan: ${where}`);
                if (answer.status === 404) {
                  const none = await missingAnswer(row, caller, role, missing);
                  check(
                    `404 ${answer.json?.error?.code}` === none,
                    `404 differs from a missing loan's: ${where}`,
                  );
                } else if (plan.bodyKnown) {
                  failures.push(`expected 404: ${where}`);
                } else {
                  unreachedTenantChecks.push(where);
                }
              }
            });
          }
        }
      }
      for (const resource of ["own", "other"] as const) {
        const [caller, other] = tenants;
        const anonymous: [string, Record<string, string>][] = [
          ["no key", {}],
          ["unknown key", bearer(`dk_unknown_${randomBytes(12).toString("hex")}`)],
          ["malformed header", { authorization: `Basic ${caller.keys.lender}` }],
          ["revoked key", bearer(revokedKey)],
        ];
        for (const [label, headers] of anonymous) {
          jobs.push(async () => {
            const loanId = resource === "own" ? caller.loanId : other.loanId;
            const plan = routeRequest(row, { loanId, fresh: fresh() });
            const answer = await call(plan.method, plan.path, headers, plan.body);
            const where = `${name} with ${label} on ${resource} loan → ${answer.status} ${answer.text.slice(0, 200)}`;
            cells.push({ route: name, caller: label, resource, status: answer.status });
            check(answer.status === 401, `expected 401: ${where}`);
            if (answer.status === 401) expectErrorShape(answer, where);
            for (const marker of [...caller.markers, ...other.markers]) {
              check(!answer.text.includes(marker), `LEAK of ${marker}: ${where}`);
            }
          });
        }
      }
    }
    await runPool(jobs, 8);

    // The shared loan id: each tenant reads its own borrower.
    for (const [index, caller] of tenants.entries()) {
      const other = tenants[1 - index] as Tenant;
      const answer = await call("GET", `/v1/loans/mx-shared-${suffix}`, bearer(caller.keys.lender));
      expect(answer.status).toBe(200);
      for (const marker of other.markers) expect(answer.text).not.toContain(marker);
    }

    const byRoute = new Map<string, Record<number, number>>();
    for (const cell of cells) {
      const counts = byRoute.get(cell.route) ?? {};
      counts[cell.status] = (counts[cell.status] ?? 0) + 1;
      byRoute.set(cell.route, counts);
    }
    console.log(
      `access matrix: ${table.length} routes, ${cells.length} cells, ${failures.length} failures\n${[
        ...byRoute,
      ]
        .map(([route, counts]) => `  ${route.padEnd(36)} ${JSON.stringify(counts)}`)
        .join("\n")}`,
    );
    if (unreachedTenantChecks.length > 0) {
      console.log(
        `tenant check not reached (body refused first, no valid body known):\n  ${unreachedTenantChecks.join("\n  ")}`,
      );
    }
    expect(failures).toEqual([]);
    expect(cells.length).toBe(table.length * (2 * ROLES.length * 2 + 2 * 4));
  });
});

async function missingAnswer(
  row: RouteTableRow,
  caller: Tenant,
  role: Role,
  cache: Map<string, string>,
): Promise<string | undefined> {
  const key = `${row.method} ${row.path} ${caller.id} ${role}`;
  const cached = cache.get(key);
  if (cached !== undefined) return cached;
  const plan = routeRequest(row, { loanId: `mx-missing-${suffix}`, fresh: `mx-missing-new-${suffix}` });
  const answer = await call(plan.method, plan.path, bearer(caller.keys[role]), plan.body);
  const code = `${answer.status} ${answer.json?.error?.code}`;
  cache.set(key, code);
  return code;
}

async function runPool(jobs: (() => Promise<void>)[], width: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < jobs.length) {
        const job = jobs[next++] as () => Promise<void>;
        await job();
      }
    }),
  );
}
