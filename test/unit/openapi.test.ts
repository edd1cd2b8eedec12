import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { makeApiHandler } from "../../functions/api/app.ts";
import { errorResponse } from "../../functions/api/http.ts";
import { eventSchema, listQuerySchema, subscribeSchema } from "../../functions/api/schemas.ts";
import { type AuditEntry, appendToChain, verifyChain } from "../../functions/domain/audit-chain.ts";
import {
  BusinessRuleError,
  CaseStateConflictError,
  ConcurrentUpdateError,
  LoanAlreadyExistsError,
  NotFoundError,
} from "../../functions/domain/errors.ts";
import { ALLOWED, type LoanEventType } from "../../functions/domain/events.ts";
import {
  type CaseChange,
  type CaseStatus,
  claimStep,
  completeStep,
  decideStep,
  type LoanCase,
} from "../../functions/domain/loan-case.ts";
import { DEFAULT_POLICY } from "../../functions/domain/policy.ts";
import { toInstant } from "../../functions/domain/time.ts";
import {
  type CaseRepository,
  type IdempotencyRecord,
  OPEN_STATUSES,
  ROLES,
  type Role,
} from "../../functions/ports.ts";
import type { LocalWorkflowEngine } from "../../infra/local/engine.ts";
import { Outbox } from "../../infra/local/outbox.ts";
import { createLocalServer, listen } from "../../infra/local/server.ts";
import { VirtualClock } from "../../infra/local/virtual-clock.ts";
import { lambdaContext } from "../support/lambda-context.ts";
import { memoryHandoffs } from "../support/memory-handoffs.ts";
import { memoryPolicies } from "../support/memory-policies.ts";

/**
 * The OpenAPI document against the contract (docs: /work/shared/api-contract.md), against the zod request
 * schemas, and against the API handler itself: what it says is served, who may call it and what comes back.
 */

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

type Obj = Record<string, unknown>;
interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  parameters?: unknown[];
  requestBody?: unknown;
  responses: Record<string, unknown>;
  "x-status"?: string;
  "x-roles"?: string[];
}
interface Doc {
  openapi: string;
  servers: { url: string; description?: string }[];
  security?: Record<string, string[]>[];
  tags: { name: string }[];
  paths: Record<string, Obj>;
  components: Record<string, Record<string, unknown>>;
}

const doc = JSON.parse(readFileSync(join(ROOT, "openapi/openapi.json"), "utf8")) as Doc;

const isObject = (value: unknown): value is Obj =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Resolves a local JSON pointer ("#/components/schemas/Money"); undefined when it points nowhere. */
function pointer(ref: string): unknown {
  if (!ref.startsWith("#/")) return undefined;
  let node: unknown = doc;
  for (const raw of ref.slice(2).split("/")) {
    const key = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    if (!isObject(node) || !(key in node)) return undefined;
    node = node[key];
  }
  return node;
}

/** Follows $ref (a Reference Object) until a real object. */
function deref(value: unknown): Obj {
  let node = value;
  for (let hops = 0; isObject(node) && typeof node.$ref === "string"; hops++) {
    if (hops > 20) throw new Error("$ref cycle");
    node = pointer(node.$ref);
  }
  if (!isObject(node)) throw new Error(`not an object: ${JSON.stringify(value)}`);
  return node;
}

const schema = (name: string): Obj => deref({ $ref: `#/components/schemas/${name}` });
const propertiesOf = (s: Obj): Obj => (isObject(s.properties) ? s.properties : {});
const requiredOf = (s: Obj): string[] => (Array.isArray(s.required) ? (s.required as string[]) : []);

const METHODS = ["get", "put", "post", "delete", "patch", "head", "options", "trace"] as const;
const operations = Object.entries(doc.paths).flatMap(([path, item]) =>
  METHODS.filter((method) => isObject(item[method])).map((method) => ({
    path,
    method,
    op: item[method] as Operation,
    pathParameters: (Array.isArray(item.parameters) ? item.parameters : []).map(deref),
    isLocal: path === "/health" || path.startsWith("/local/"),
  })),
);
const opAt = (method: string, path: string) => {
  const found = operations.find((o) => o.method === method && o.path === path);
  if (!found) throw new Error(`${method} ${path} is not in the document`);
  return found;
};
const parametersOf = (o: (typeof operations)[number]) => [
  ...o.pathParameters,
  ...(o.op.parameters ?? []).map(deref),
];

// ---------------------------------------------------------------------------------------------------------------
// A small JSON Schema (2020-12 subset) validator. It refuses keywords it does not know, so a schema can never
// pass here only because a constraint was silently ignored.
const ANNOTATIONS = new Set([
  "title",
  "description",
  "examples",
  "default",
  "discriminator",
  "format",
  "$ref",
]);
const ASSERTIONS = new Set([
  "type",
  "const",
  "enum",
  "pattern",
  "minLength",
  "maxLength",
  "minimum",
  "maximum",
  "minItems",
  "maxItems",
  "items",
  "properties",
  "required",
  "additionalProperties",
  "allOf",
  "anyOf",
  "oneOf",
  "not",
]);

function hasType(value: unknown, type: unknown): boolean {
  switch (type) {
    case "null":
      return value === null;
    case "integer":
      return Number.isInteger(value);
    case "number":
      return typeof value === "number";
    case "object":
      return isObject(value);
    case "array":
      return Array.isArray(value);
    default:
      return typeof value === type;
  }
}

const equal = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

const FORMATS: Record<string, (value: string) => boolean> = {
  "date-time": (v) =>
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v) &&
    !Number.isNaN(Date.parse(v)),
  date: (v) => /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(`${v}T00:00:00Z`)),
  email: (v) => /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(v),
};

function validate(s: unknown, value: unknown, at = "$"): string[] {
  if (s === true) return [];
  if (!isObject(s)) return [`${at}: not a schema: ${JSON.stringify(s)}`];
  const unknown = Object.keys(s).filter(
    (k) => !ANNOTATIONS.has(k) && !ASSERTIONS.has(k) && !k.startsWith("x-"),
  );
  if (unknown.length > 0) return [`${at}: keywords the validator does not know: ${unknown.join(", ")}`];
  const errors: string[] = [];
  if (typeof s.$ref === "string") {
    const target = pointer(s.$ref);
    if (target === undefined) return [`${at}: unresolved ${s.$ref}`];
    errors.push(...validate(target, value, at));
  }
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? s.type : [s.type];
    if (!types.some((t) => hasType(value, t))) return [...errors, `${at}: expected ${types.join(" | ")}`];
  }
  if ("const" in s && !equal(s.const, value)) errors.push(`${at}: expected ${JSON.stringify(s.const)}`);
  if (Array.isArray(s.enum) && !s.enum.some((e) => equal(e, value))) errors.push(`${at}: not in ${s.enum}`);
  if (typeof value === "string") {
    const length = [...value].length;
    if (typeof s.pattern === "string" && !new RegExp(s.pattern, "u").test(value)) {
      errors.push(`${at}: ${JSON.stringify(value)} does not match ${s.pattern}`);
    }
    if (typeof s.minLength === "number" && length < s.minLength)
      errors.push(`${at}: shorter than ${s.minLength}`);
    if (typeof s.maxLength === "number" && length > s.maxLength)
      errors.push(`${at}: longer than ${s.maxLength}`);
    const format = typeof s.format === "string" ? FORMATS[s.format] : undefined;
    if (format && !format(value)) errors.push(`${at}: ${JSON.stringify(value)} is not a ${s.format}`);
  }
  if (typeof value === "number") {
    if (typeof s.minimum === "number" && value < s.minimum) errors.push(`${at}: below ${s.minimum}`);
    if (typeof s.maximum === "number" && value > s.maximum) errors.push(`${at}: above ${s.maximum}`);
  }
  if (Array.isArray(value)) {
    if (typeof s.minItems === "number" && value.length < s.minItems)
      errors.push(`${at}: fewer than ${s.minItems}`);
    if (typeof s.maxItems === "number" && value.length > s.maxItems)
      errors.push(`${at}: more than ${s.maxItems}`);
    if (s.items !== undefined) {
      for (const [i, item] of value.entries()) errors.push(...validate(s.items, item, `${at}[${i}]`));
    }
  }
  if (isObject(value)) {
    for (const key of requiredOf(s)) if (!(key in value)) errors.push(`${at}: ${key} is required`);
    const properties = propertiesOf(s);
    for (const [key, item] of Object.entries(value)) {
      if (key in properties) errors.push(...validate(properties[key], item, `${at}.${key}`));
      else if (s.additionalProperties === false) errors.push(`${at}: ${key} is not allowed`);
      else if (isObject(s.additionalProperties))
        errors.push(...validate(s.additionalProperties, item, `${at}.${key}`));
    }
  }
  const branches = (key: string) => (Array.isArray(s[key]) ? (s[key] as unknown[]) : []);
  for (const branch of branches("allOf")) errors.push(...validate(branch, value, at));
  if (s.anyOf !== undefined && !branches("anyOf").some((b) => validate(b, value, at).length === 0)) {
    errors.push(`${at}: matches none of anyOf`);
  }
  if (s.oneOf !== undefined) {
    const matching = branches("oneOf").filter((b) => validate(b, value, at).length === 0).length;
    if (matching !== 1) errors.push(`${at}: matches ${matching} of oneOf (exactly 1 wanted)`);
  }
  if (s.not !== undefined && validate(s.not, value, at).length === 0) errors.push(`${at}: matches "not"`);
  return errors;
}

/** The JSON schema a response (by status) of an operation declares. */
function responseSchema(o: (typeof operations)[number], status: number): unknown {
  const response = o.op.responses[String(status)];
  if (response === undefined) return undefined;
  const content = deref(response).content;
  const media = isObject(content) ? content["application/json"] : undefined;
  return isObject(media) ? media.schema : undefined;
}

/** Every example in the document, with the schema it must satisfy. */
function allExamples(): { where: string; schema: unknown; value: unknown }[] {
  const found: { where: string; schema: unknown; value: unknown }[] = [];
  const fromMedia = (where: string, content: unknown) => {
    if (!isObject(content)) return;
    for (const [type, media] of Object.entries(content)) {
      if (!isObject(media)) continue;
      if ("example" in media)
        found.push({ where: `${where} ${type}`, schema: media.schema, value: media.example });
      for (const [name, example] of Object.entries(isObject(media.examples) ? media.examples : {})) {
        found.push({
          where: `${where} ${type} example ${name}`,
          schema: media.schema,
          value: deref(example).value,
        });
      }
    }
  };
  for (const o of operations) {
    const where = `${o.method.toUpperCase()} ${o.path}`;
    for (const parameter of parametersOf(o)) {
      if ("example" in parameter) {
        found.push({
          where: `${where} parameter ${parameter.name}`,
          schema: parameter.schema,
          value: parameter.example,
        });
      }
    }
    if (o.op.requestBody) fromMedia(`${where} request`, deref(o.op.requestBody).content);
    for (const [status, response] of Object.entries(o.op.responses)) {
      fromMedia(`${where} ${status}`, deref(response).content);
    }
  }
  for (const [name, s] of Object.entries(doc.components.schemas ?? {})) {
    const examples = isObject(s) && Array.isArray(s.examples) ? s.examples : [];
    for (const value of examples)
      found.push({ where: `schema ${name}`, schema: { $ref: `#/components/schemas/${name}` }, value });
  }
  return found;
}

// ---------------------------------------------------------------------------------------------------------------
// The contract, written out by hand from api-contract.md.
const CONTRACT_ROUTES = [
  "POST /v1/loans",
  "GET /v1/loans",
  "POST /v1/loans:batch",
  "GET /v1/loans/{loanId}",
  "POST /v1/loans/{loanId}/events",
  "GET /v1/loans/{loanId}/audit",
  "GET /v1/reports/aging",
  "GET /v1/policies/{policyId}",
  "PUT /v1/policies/{policyId}",
  "GET /v1/policies/{policyId}/versions",
  "GET /v1/audit/export",
  "GET /v1/handoffs",
  "GET /v1/handoffs/{loanId}",
  "POST /v1/handoffs/{loanId}/ack",
  "GET /health",
  "GET /local/clock",
  "POST /local/clock/advance",
  "GET /local/outbox",
];
const CONTRACT_STATUSES: Record<string, string[]> = {
  "POST /v1/loans": ["200", "201", "400", "401", "403", "409", "413", "415", "422"],
  "POST /v1/loans/{loanId}/events": ["200", "400", "404", "409", "422"],
  "GET /v1/loans/{loanId}": ["200", "404"],
  "GET /v1/loans": ["200"],
  "GET /v1/loans/{loanId}/audit": ["200", "404"],
  "PUT /v1/policies/{policyId}": ["201"],
  "GET /health": ["200"],
};
const CONTRACT_ROLES: Record<string, string[]> = {
  "GET /v1/loans/{loanId}/audit": ["lender", "compliance"],
  "GET /v1/reports/aging": ["lender", "ops"],
  "GET /v1/policies/{policyId}": ["ops"],
  "PUT /v1/policies/{policyId}": ["ops"],
  "GET /v1/audit/export": ["compliance"],
  "POST /v1/handoffs/{loanId}/ack": ["legal"],
};
const STATUSES: CaseStatus[] = ["active", "on_hold", "paid", "settled", "legal", "closed"];
const STAGES = ["pre_due", "soft_collection", "legal", "done"];
const ERROR_CODES = [
  ["VALIDATION_FAILED", 400],
  ["INVALID_JSON", 400],
  ["UNAUTHENTICATED", 401],
  ["FORBIDDEN", 403],
  ["NOT_FOUND", 404],
  ["ROUTE_NOT_FOUND", 404],
  ["LOAN_EXISTS", 409],
  ["CASE_STATE_CONFLICT", 409],
  ["EVENT_OUT_OF_ORDER", 409],
  ["CONCURRENT_UPDATE", 409],
  ["IDEMPOTENCY_IN_PROGRESS", 409],
  ["PAYLOAD_TOO_LARGE", 413],
  ["UNSUPPORTED_MEDIA_TYPE", 415],
  ["IDEMPOTENCY_KEY_REUSED", 422],
  ["INVALID_CURSOR", 422],
  ["UNKNOWN_POLICY", 422],
  ["PAYMENT_EXCEEDS_BALANCE", 422],
  ["CURRENCY_MISMATCH", 422],
  ["INVALID_AMOUNT", 422],
  ["AMOUNT_EXCEEDS_BALANCE", 422],
  ["REVERSAL_EXCEEDS_PAYMENTS", 422],
  ["DATE_IN_THE_PAST", 422],
  ["DUE_DATE_NOT_LATER", 422],
  ["INSTALLMENTS_NOT_IN_ORDER", 422],
  ["INSTALLMENTS_DO_NOT_MATCH_BALANCE", 422],
  ["EVENT_IN_THE_FUTURE", 422],
] as const;

const routeKey = (o: { method: string; path: string }) => `${o.method.toUpperCase()} ${o.path}`;
const errorCodes = schema("Error")["x-error-codes"] as Record<
  string,
  { status: number; description: string }
>;
/** zod: a key is required when undefined does not parse (optional and defaulted keys do). */
const zodRequired = (shape: Record<string, { safeParse(value: unknown): { success: boolean } }>) =>
  Object.keys(shape).filter((key) => !shape[key]?.safeParse(undefined).success);

describe("the OpenAPI document", () => {
  it("is OpenAPI 3.1 with the local server and an API Gateway server", () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.servers.map((s) => s.url)).toContain("http://127.0.0.1:3000");
    expect(doc.servers.some((s) => /execute-api\.\{region\}\.amazonaws\.com/.test(s.url))).toBe(true);
  });

  it("resolves every $ref and discriminator mapping inside the document", () => {
    const refs: string[] = [];
    const walk = (node: unknown) => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (isObject(node)) {
        if (typeof node.$ref === "string") refs.push(node.$ref);
        if (isObject(node.discriminator) && isObject(node.discriminator.mapping)) {
          refs.push(...(Object.values(node.discriminator.mapping) as string[]));
        }
        Object.values(node).forEach(walk);
      }
    };
    walk(doc);
    expect(refs.length).toBeGreaterThan(50);
    expect(refs.filter((ref) => pointer(ref) === undefined)).toEqual([]);
  });

  it("has every route of the contract, and the statuses and roles the contract names", () => {
    const documented = operations.map(routeKey);
    expect(CONTRACT_ROUTES.filter((route) => !documented.includes(route))).toEqual([]);
    for (const [route, statuses] of Object.entries(CONTRACT_STATUSES)) {
      const [method = "", path = ""] = route.split(" ");
      expect(Object.keys(opAt(method.toLowerCase(), path).op.responses), route).toEqual(
        expect.arrayContaining(statuses),
      );
    }
    for (const [route, roles] of Object.entries(CONTRACT_ROLES)) {
      const [method = "", path = ""] = route.split(" ");
      expect(opAt(method.toLowerCase(), path).op["x-roles"], route).toEqual(roles);
    }
  });

  it("gives every operation a unique operationId, declared tags and an error response in the Error shape", () => {
    const ids = operations.map((o) => o.op.operationId);
    expect(ids.every((id) => typeof id === "string" && /^[a-z][A-Za-z]+$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    const tags = doc.tags.map((t) => t.name);
    for (const o of operations) {
      expect(o.op.tags?.length, routeKey(o)).toBeGreaterThan(0);
      expect(tags, routeKey(o)).toEqual(expect.arrayContaining(o.op.tags ?? []));
      expect(o.op.tags?.includes("local (embedded stack only)"), routeKey(o)).toBe(o.isLocal);
      const errorStatuses = Object.keys(o.op.responses).filter((status) => Number(status) >= 400);
      const usesError = errorStatuses.some((status) => {
        const s = responseSchema(o, Number(status));
        return isObject(s) && s.$ref === "#/components/schemas/Error";
      });
      expect(usesError, `${routeKey(o)} has no error response with the Error schema`).toBe(true);
    }
  });

  it("requires the bearer scheme on every /v1 operation and none on the local routes", () => {
    const scheme = deref(doc.components.securitySchemes?.bearerAuth);
    expect(scheme).toMatchObject({ type: "http", scheme: "bearer" });
    expect(scheme.description).toMatch(/lender/);
    expect(scheme.description).toMatch(/another tenant.*404|404.*another tenant/is);
    for (const o of operations) {
      const security = o.op.security ?? doc.security ?? [];
      if (o.isLocal) expect(security, routeKey(o)).toEqual([]);
      else {
        expect(security, routeKey(o)).toContainEqual({ bearerAuth: [] });
        expect(Object.keys(o.op.responses), routeKey(o)).toEqual(expect.arrayContaining(["401", "403"]));
        expect(ROLES, routeKey(o)).toEqual(expect.arrayContaining(o.op["x-roles"] ?? ["none"]));
      }
    }
  });

  it("takes an Idempotency-Key header on every POST", () => {
    const posts = operations.filter((o) => o.method === "post");
    expect(posts.length).toBe(6);
    for (const o of posts) {
      const header = parametersOf(o).find((p) => p.in === "header" && p.name === "Idempotency-Key");
      expect(header, routeKey(o)).toMatchObject({
        required: false,
        schema: { type: "string", maxLength: 255 },
      });
    }
  });

  it("declares exactly the path parameters of each path template", () => {
    for (const o of operations) {
      const inTemplate = [...o.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
      const declared = parametersOf(o)
        .filter((p) => p.in === "path")
        .map((p) => {
          expect(p.required, `${routeKey(o)} ${p.name}`).toBe(true);
          return p.name;
        })
        .sort();
      expect(declared, routeKey(o)).toEqual(inTemplate);
    }
  });

  it("marks the routes that are not served yet as planned, and says so", () => {
    for (const o of operations) {
      if (o.op["x-status"] === undefined) {
        expect(o.op.description ?? "", routeKey(o)).not.toMatch(/not served/i);
        continue;
      }
      expect(o.op["x-status"], routeKey(o)).toBe("planned");
      expect(o.op.description, routeKey(o)).toMatch(/part of the contract/i);
      expect(o.op.description, routeKey(o)).toMatch(/not served yet/i);
    }
  });
});

describe("the schemas", () => {
  it("LoanEvent is a oneOf with a `type` discriminator over exactly the event types eventSchema accepts", () => {
    const loanEvent = schema("LoanEvent");
    const discriminator = loanEvent.discriminator as {
      propertyName: string;
      mapping: Record<string, string>;
    };
    expect(discriminator.propertyName).toBe("type");
    const accepted = eventSchema.options.map((o) => o.shape.type.value);
    expect(accepted.length).toBe(14);
    expect(Object.keys(discriminator.mapping).sort()).toEqual([...accepted].sort());
    expect((loanEvent.oneOf as Obj[]).map((s) => s.$ref).sort()).toEqual(
      Object.values(discriminator.mapping).sort(),
    );
    for (const option of eventSchema.options) {
      const type = option.shape.type.value;
      const variant = deref({ $ref: discriminator.mapping[type] });
      expect(propertiesOf(variant).type, type).toEqual({ type: "string", const: type });
      expect(Object.keys(propertiesOf(variant)).sort(), type).toEqual(Object.keys(option.shape).sort());
      expect(requiredOf(variant).sort(), type).toEqual(zodRequired(option.shape).sort());
      expect(variant.additionalProperties, type).toBe(false);
    }
  });

  it("documents every event type as applied, in the statuses the state machine allows", () => {
    const mapping = (schema("LoanEvent").discriminator as { mapping: Record<string, string> }).mapping;
    const requestExamples = (deref(opAt("post", "/v1/loans/{loanId}/events").op.requestBody).content as Obj)[
      "application/json"
    ] as { examples: Record<string, unknown> };
    expect(Object.keys(mapping).sort()).toEqual(Object.keys(ALLOWED).sort());
    for (const [type, ref] of Object.entries(mapping)) {
      const variant = deref({ $ref: ref });
      expect(variant["x-status"], type).toBeUndefined();
      expect(variant.description, type).not.toMatch(/not applied|not supported|EVENT_NOT_SUPPORTED/i);
      expect(variant["x-allowed-statuses"], type).toEqual(ALLOWED[type as LoanEventType]);
      // The operation's request example of each type is the type's own first example.
      expect(deref(requestExamples.examples[type]).value, type).toEqual((variant.examples as unknown[])[0]);
    }
    expect(Object.keys(requestExamples.examples).sort()).toEqual(Object.keys(mapping).sort());
  });

  it("LoanSubscription and Borrower have the fields and required fields of subscribeSchema", () => {
    const subscription = schema("LoanSubscription");
    expect(Object.keys(propertiesOf(subscription)).sort()).toEqual(Object.keys(subscribeSchema.shape).sort());
    expect(requiredOf(subscription).sort()).toEqual(zodRequired(subscribeSchema.shape).sort());
    const borrower = schema("Borrower");
    const borrowerShape = subscribeSchema.shape.borrower.shape;
    expect(Object.keys(propertiesOf(borrower)).sort()).toEqual(Object.keys(borrowerShape).sort());
    expect(requiredOf(borrower).sort()).toEqual(zodRequired(borrowerShape).sort());
    expect(borrower.anyOf).toEqual([{ required: ["email"] }, { required: ["phone"] }]);
  });

  it("LoanCase has every field of the contract, always present, with the contract's status and stage values", () => {
    const loanCase = schema("LoanCase");
    const fields = ["loanId", "status", "stage", "balance", "amountDue", "dueDate", "daysPastDue"].concat(
      ["nextAction", "policy", "borrower", "createdAt", "updatedAt"],
      ["balanceBreakdown", "totalPaid", "hold", "installments", "attention", "optedOut"],
    );
    expect(requiredOf(loanCase).sort()).toEqual([...fields].sort());
    expect(Object.keys(propertiesOf(loanCase)).sort()).toEqual([...fields].sort());
    expect(loanCase.additionalProperties).toBe(false);
    expect(requiredOf(schema("BalanceBreakdown")).sort()).toEqual(["fees", "interest", "principal"]);
    expect(requiredOf(schema("Hold")).sort()).toEqual(["amount", "paidSince", "reason", "until"]);
    expect(propertiesOf(schema("Hold")).reason).toMatchObject({ enum: ["promise", "settlement", "dispute"] });
    expect(requiredOf(schema("InstallmentView")).sort()).toEqual(["amount", "dueDate", "paid"]);
    for (const field of ["hold", "installments", "attention"]) {
      expect(validate({ $ref: `#/components/schemas/LoanCase/properties/${field}` }, null), field).toEqual(
        [],
      );
    }
    expect(schema("CaseStatus").enum).toEqual(STATUSES);
    expect(schema("CaseStage").enum).toEqual(STAGES);
    expect(requiredOf(schema("NextAction")).sort()).toEqual(["at", "channels", "step"]);
    expect(requiredOf(schema("PolicyRef")).sort()).toEqual(["id", "version"]);
    expect(validate({ $ref: "#/components/schemas/LoanCase/properties/nextAction" }, null)).toEqual([]);
    // The list query accepts exactly what a LoanCase can hold, under the names the document gives.
    for (const status of STATUSES) expect(listQuerySchema.safeParse({ status }).success, status).toBe(true);
    for (const stage of STAGES) expect(listQuerySchema.safeParse({ stage }).success, stage).toBe(true);
    const listParams = parametersOf(opAt("get", "/v1/loans")).map((p) => p.name);
    expect(listParams.sort()).toEqual(Object.keys(listQuerySchema.shape).sort());
  });

  it("AuditEntry, Error and LoanList have the contract's fields", () => {
    expect(requiredOf(schema("AuditEntry")).sort()).toEqual(
      ["seq", "at", "type", "actor", "data", "prevHash", "hash"].sort(),
    );
    expect(requiredOf(schema("AuditTrail"))).toEqual(["entries"]);
    expect(requiredOf(schema("Error"))).toEqual(["error"]);
    const body = schema("ErrorBody");
    expect(Object.keys(propertiesOf(body)).sort()).toEqual(["code", "details", "message"]);
    expect(requiredOf(body).sort()).toEqual(["code", "message"]);
    expect(requiredOf(schema("ErrorDetail")).sort()).toEqual(["message", "path"]);
    expect(requiredOf(schema("LoanList")).sort()).toEqual(["items", "nextCursor"]);
    expect(Object.keys(propertiesOf(schema("OutboxMessage"))).sort()).toEqual(
      expect.arrayContaining([
        "id",
        "loanId",
        "channel",
        "to",
        "subject",
        "body",
        "sentAt",
        "step",
        "stage",
        "locale",
      ]),
    );
  });

  it("validates every example in the document against its schema", () => {
    const examples = allExamples();
    expect(examples.length).toBeGreaterThan(60);
    const failures = examples.flatMap(({ where, schema: s, value }) =>
      validate(s, value).map((error) => `${where}: ${error}`),
    );
    expect(failures).toEqual([]);
  });

  it("has request examples the API's own validation accepts, and an audit example whose chain verifies", () => {
    for (const value of schema("LoanSubscription").examples as unknown[]) {
      expect(subscribeSchema.safeParse(value).success).toBe(true);
    }
    const variants = Object.values(
      (schema("LoanEvent").discriminator as { mapping: Record<string, string> }).mapping,
    );
    for (const ref of variants) {
      for (const value of deref({ $ref: ref }).examples as unknown[]) {
        expect(eventSchema.safeParse(value).success, JSON.stringify(value)).toBe(true);
      }
    }
    const trail = (schema("AuditTrail").examples as { entries: AuditEntry[] }[])[0];
    expect(trail?.entries.length).toBeGreaterThan(1);
    expect(verifyChain({ tenantId: "demo", loanId: "L-1001" }, trail?.entries ?? [])).toMatchObject({
      valid: true,
    });
  });
});

describe("the error codes", () => {
  it("documents every code of the contract with its status, and PAYLOAD_TOO_LARGE rather than PAYMENT_TOO_LARGE", () => {
    for (const [code, status] of ERROR_CODES) expect(errorCodes[code]?.status, code).toBe(status);
    expect(errorCodes.PAYMENT_TOO_LARGE).toBeUndefined();
  });

  it("uses each documented code only under its own status in the examples", () => {
    let checked = 0;
    for (const o of operations) {
      for (const [status, response] of Object.entries(o.op.responses)) {
        const content = deref(response).content;
        const media = isObject(content) ? content["application/json"] : undefined;
        const examples = isObject(media) && isObject(media.examples) ? media.examples : {};
        for (const example of Object.values(examples)) {
          const value = deref(example).value as { error?: { code: string } };
          if (!value.error) continue;
          checked++;
          expect(errorCodes[value.error.code]?.status, `${routeKey(o)} ${status} ${value.error.code}`).toBe(
            Number(status),
          );
        }
      }
    }
    expect(checked).toBeGreaterThan(50);
  });

  it("documents every code the code base raises, with the status the code maps it to", () => {
    const raised = new Map<string, number>();
    const sources = readdirSync(join(ROOT, "functions"), { recursive: true, encoding: "utf8" })
      .filter((file) => file.endsWith(".ts"))
      .map((file) => readFileSync(join(ROOT, "functions", file), "utf8"))
      .concat(readFileSync(join(ROOT, "infra/local/server.ts"), "utf8"));
    for (const source of sources) {
      for (const m of source.matchAll(/new (?:HttpError|LocalRouteError)\(\s*(\d{3}),\s*"([A-Z_]+)"/g)) {
        raised.set(m[2] as string, Number(m[1]));
      }
      for (const m of source.matchAll(/new BusinessRuleError\(\s*"([A-Z_]+)"/g)) {
        raised.set(
          m[1] as string,
          errorResponse(new BusinessRuleError(m[1] as string, "m")).response.statusCode,
        );
      }
      // A conflict with its own code names it as the last argument: new CaseStateConflictError(msg, details, "CODE").
      for (const args of callArguments(source, "new CaseStateConflictError(")) {
        const code = /,\s*"([A-Z][A-Z0-9_]*)"\s*,?\s*$/.exec(args)?.[1];
        if (code) {
          raised.set(code, errorResponse(new CaseStateConflictError("m", [], code)).response.statusCode);
        }
      }
    }
    const mapped = [
      new NotFoundError("m"),
      new LoanAlreadyExistsError("m"),
      new CaseStateConflictError("m"),
      new ConcurrentUpdateError("m"),
      { statusCode: 404 }, // the router's "no such route"
      Object.assign(new Error("slow"), { name: "TimeoutError" }), // the store not answering
      new Error("unexpected"),
    ];
    for (const error of mapped) {
      const { response } = errorResponse(error);
      raised.set((JSON.parse(response.body) as { error: { code: string } }).error.code, response.statusCode);
    }
    // The local clock's stopped advance builds its own body beside the error (the instant and the failed loans).
    expect(readFileSync(join(ROOT, "infra/local/server.ts"), "utf8")).toContain('code: "STEPS_FAILED"');
    raised.set("STEPS_FAILED", 500);
    expect(raised.size).toBeGreaterThan(15);
    const wrong = [...raised].filter(([code, status]) => errorCodes[code]?.status !== status);
    expect(wrong, "raised by the code but missing or with another status in x-error-codes").toEqual([]);
    expect(raised.get("EVENT_OUT_OF_ORDER"), "the scan finds codes given to CaseStateConflictError").toBe(
      409,
    );
    const unraised = Object.keys(errorCodes).filter((code) => !raised.has(code));
    expect(unraised, "documented in x-error-codes but raised nowhere in the code").toEqual([]);
  });
});

/** The argument text of each call `opening` (e.g. "new Foo(") in a source, by matching parentheses. */
function callArguments(source: string, opening: string): string[] {
  const found: string[] = [];
  for (let at = source.indexOf(opening); at >= 0; at = source.indexOf(opening, at + 1)) {
    const start = at + opening.length;
    let depth = 1;
    let end = start;
    for (; end < source.length && depth > 0; end++) {
      if (source[end] === "(") depth++;
      else if (source[end] === ")") depth--;
    }
    found.push(source.slice(start, end - 1));
  }
  return found;
}

// ---------------------------------------------------------------------------------------------------------------
// The document against the API handler itself, on in-memory ports.
function inMemoryApi() {
  const clock = { now: new Date("2026-01-05T00:00:00Z") };
  const cases = new Map<string, LoanCase>();
  const trails = new Map<string, AuditEntry[]>();
  const store = (change: CaseChange, at: string): LoanCase => {
    const key = `${change.next.tenantId}/${change.next.loanId}`;
    const scope = { tenantId: change.next.tenantId, loanId: change.next.loanId };
    const { entries, head } = appendToChain(scope, change.next.audit, change.events, at);
    trails.set(key, [...(trails.get(key) ?? []), ...entries]);
    const stored = { ...change.next, audit: head, version: change.next.version + 1 };
    cases.set(key, stored);
    return stored;
  };
  const repository: CaseRepository = {
    async get(tenantId, loanId) {
      return cases.get(`${tenantId}/${loanId}`) ?? null;
    },
    async create(change, at) {
      if (cases.has(`${change.next.tenantId}/${change.next.loanId}`)) return { created: false };
      return { created: true, case: store(change, at) };
    },
    async update(_current, change, at) {
      return store(change, at);
    },
    async onceRecord() {
      return null;
    },
    async list(tenantId, query) {
      const items = [...cases.values()].filter(
        (c) => c.tenantId === tenantId && (!query.status || c.status === query.status),
      );
      return { items: items.slice(0, query.limit), nextCursor: null };
    },
    async auditTrail(tenantId, loanId) {
      return trails.get(`${tenantId}/${loanId}`) ?? [];
    },
    async *openCases(tenantId) {
      for (const c of cases.values()) {
        if (c.tenantId !== tenantId || !OPEN_STATUSES.includes(c.status)) continue;
        yield {
          loanId: c.loanId,
          status: c.status,
          dueDate: c.dueDate,
          balance: c.balance,
          timeZone: c.borrower.timeZone,
        };
      }
    },
  };
  const idempotency = new Map<string, IdempotencyRecord>();
  const handler = makeApiHandler({
    cases: repository,
    policies: memoryPolicies(),
    workflow: { start: async () => {}, stop: async () => {} },
    clock: { now: () => clock.now },
    handoffs: memoryHandoffs(),
    keys: {
      // key-<role> is a key of tenant demo; other-<role> one of tenant other.
      async resolve(key) {
        const [tenant, role] = key.split("-") as [string, Role];
        if (!ROLES.includes(role) || (tenant !== "key" && tenant !== "other")) return null;
        return { tenantId: tenant === "key" ? "demo" : "other", role, keyId: key };
      },
      async put() {
        throw new Error("not used");
      },
    },
    idempotency: {
      async begin(tenantId, key, fingerprint) {
        const record = idempotency.get(`${tenantId}/${key}`);
        if (record) return { acquired: false, record };
        idempotency.set(`${tenantId}/${key}`, { fingerprint, state: "in_progress", lockedUntil: 0 });
        return { acquired: true };
      },
      async complete(tenantId, key, response) {
        const record = idempotency.get(`${tenantId}/${key}`);
        if (record) idempotency.set(`${tenantId}/${key}`, { ...record, state: "completed", response });
      },
      async release(tenantId, key) {
        idempotency.delete(`${tenantId}/${key}`);
      },
    },
  });

  /** What a workflow step does for a case: claims the step due at `claimedAt` and completes it at `doneAt`. */
  function runStep(loanId: string, claimedAt: string, doneAt: string) {
    const loanCase = cases.get(`demo/${loanId}`) as LoanCase;
    const at = new Date(claimedAt);
    const decision = decideStep(loanCase, DEFAULT_POLICY, at, () => at);
    if (decision.kind !== "send") throw new Error(`no step to send at ${claimedAt}: ${decision.kind}`);
    const claimed = store(claimStep(loanCase, decision, at), toInstant(at));
    store(completeStep(claimed, [], new Date(doneAt)), doneAt);
  }

  async function call(
    method: string,
    path: string,
    options: {
      key?: string;
      body?: unknown;
      query?: Record<string, string>;
      headers?: Record<string, string>;
    } = {},
  ) {
    const event = {
      httpMethod: method.toUpperCase(),
      path,
      resource: "/{proxy+}",
      headers: {
        ...(options.key ? { Authorization: `Bearer ${options.key}` } : {}),
        ...(options.body !== undefined ? { "Content-Type": "application/json" } : {}),
        ...options.headers,
      },
      multiValueHeaders: {},
      queryStringParameters: options.query ?? null,
      multiValueQueryStringParameters: null,
      pathParameters: null,
      stageVariables: null,
      body: options.body === undefined ? null : JSON.stringify(options.body),
      isBase64Encoded: false,
      requestContext: { requestId: "test", stage: "test" },
    } as unknown as APIGatewayProxyEvent;
    const result = (await handler(event, lambdaContext("api"))) as APIGatewayProxyResult;
    return {
      status: result.statusCode,
      body: JSON.parse(result.body) as unknown,
      headers: (result.headers ?? {}) as Record<string, string>,
    };
  }
  return Object.assign(call, { clock, runStep });
}

/** The operation's documented response for this status, and the body checked against its schema. */
function expectDocumented(o: (typeof operations)[number], response: { status: number; body: unknown }) {
  const documented = Object.keys(o.op.responses);
  expect(documented, `${routeKey(o)} answered ${response.status}, which it does not document`).toContain(
    String(response.status),
  );
  const s = responseSchema(o, response.status);
  expect(s, `${routeKey(o)} ${response.status} has no JSON schema`).toBeDefined();
  expect(validate(s, response.body), `${routeKey(o)} ${response.status}`).toEqual([]);
}

const LOAN_ID = "L-1001";
const concrete = (path: string) => path.replace("{loanId}", LOAN_ID).replace("{policyId}", "default");
/** The first example of an operation's request body, if it has one. */
function requestExample(o: (typeof operations)[number]): unknown {
  if (!o.op.requestBody) return undefined;
  const content = deref(o.op.requestBody).content as Record<string, Obj>;
  const examples = content["application/json"]?.examples;
  const first = isObject(examples) ? Object.values(examples)[0] : undefined;
  return first === undefined ? undefined : deref(first).value;
}
const v1 = operations.filter((o) => o.path.startsWith("/v1/"));
const subscriptionExample = (schema("LoanSubscription").examples as unknown[])[0];

/** The named examples of an operation's response, by name. */
function responseExamples(o: (typeof operations)[number], status: number): Record<string, unknown> {
  const content = deref(o.op.responses[String(status)]).content as Record<string, Obj>;
  const examples = content["application/json"]?.examples;
  return Object.fromEntries(
    Object.entries(isObject(examples) ? examples : {}).map(([name, example]) => [name, deref(example).value]),
  );
}

/** The first example of an event type's schema. */
function eventExample(type: LoanEventType): unknown {
  const mapping = (schema("LoanEvent").discriminator as { mapping: Record<string, string> }).mapping;
  return (deref({ $ref: mapping[type] }).examples as unknown[])[0];
}

/** The examples that must be applied before an example, for the case to be in a state that allows it. */
const PRECEDED_BY: Partial<Record<LoanEventType, LoanEventType[]>> = {
  payment_reversed: ["payment"],
  dispute_resolved: ["dispute_opened"],
};

/** Events that bring a fresh case into each status, dated before every event example. */
const EARLIER = "2026-01-09T00:00:00Z";
const cny = (amount: string) => ({ amount, currency: "CNY" });
const REACH: Record<CaseStatus, unknown[]> = {
  active: [],
  on_hold: [{ type: "dispute_opened", occurredAt: EARLIER }],
  paid: [{ type: "payment", amount: cny("1250.00"), occurredAt: EARLIER }],
  settled: [
    { type: "settlement", amount: cny("1000.00"), payBy: "2026-01-31", occurredAt: EARLIER },
    { type: "payment", amount: cny("1000.00"), occurredAt: EARLIER },
  ],
  legal: [{ type: "bankruptcy", occurredAt: EARLIER }],
  closed: [{ type: "withdrawn", occurredAt: EARLIER }],
};

/**
 * The scenario of the event examples: the subscription example on 2026-01-05, its pre_due_7 step sent on
 * 2026-01-08, then `before` applied on 2026-01-10T03:12:45Z, when the example event is sent.
 */
async function eventScenario(before: unknown[]) {
  const call = inMemoryApi();
  expect((await call("post", "/v1/loans", { key: "key-lender", body: subscriptionExample })).status).toBe(
    201,
  );
  call.runStep(LOAN_ID, "2026-01-08T02:00:00Z", "2026-01-08T02:00:03Z");
  call.clock.now = new Date("2026-01-10T03:12:45Z");
  for (const body of before) {
    const response = await call("post", `/v1/loans/${LOAN_ID}/events`, { key: "key-lender", body });
    expect(response.status, JSON.stringify({ body, answer: response.body })).toBe(200);
  }
  return call;
}

describe("the document against the API handler", () => {
  it("serves every /v1 operation not marked planned, and none marked planned", async () => {
    const call = inMemoryApi();
    for (const o of v1) {
      const role = o.op["x-roles"]?.[0] ?? "lender";
      const response = await call(o.method, concrete(o.path), {
        key: `key-${role}`,
        body: requestExample(o),
      });
      const notServed = (response.body as { error?: { code?: string } }).error?.code === "ROUTE_NOT_FOUND";
      expect(notServed, `${routeKey(o)}: x-status ${o.op["x-status"]} but answered ${response.status}`).toBe(
        o.op["x-status"] === "planned",
      );
      if (!notServed) expectDocumented(o, response);
    }
  });

  it("lets exactly the roles in x-roles use each served operation", async () => {
    const call = inMemoryApi();
    for (const o of v1.filter((x) => x.op["x-status"] !== "planned")) {
      for (const role of ROLES) {
        const response = await call(o.method, concrete(o.path), {
          key: `key-${role}`,
          body: requestExample(o),
        });
        const allowed = o.op["x-roles"]?.includes(role) ?? false;
        expect(response.status === 403, `${routeKey(o)} as ${role}: ${response.status}`).toBe(!allowed);
        expectDocumented(o, response);
      }
    }
  });

  it("answers 401 in the Error shape on every /v1 operation without a key", async () => {
    const call = inMemoryApi();
    for (const o of v1) {
      const response = await call(o.method, concrete(o.path));
      expect(response.status, routeKey(o)).toBe(401);
      expectDocumented(o, response);
    }
  });

  it("subscribes the example loan into the example LoanCase; a repeat is 200, a key replay is marked", async () => {
    const call = inMemoryApi();
    const subscribe = opAt("post", "/v1/loans");
    const headers = { "Idempotency-Key": "5f1c9a4e-2b7d-4c1e-9a55-0d3b7a1c8e21" };
    const created = await call("post", "/v1/loans", {
      key: "key-lender",
      body: subscriptionExample,
      headers,
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual((schema("LoanCase").examples as unknown[])[0]);
    expectDocumented(subscribe, created);

    const replayed = await call("post", "/v1/loans", {
      key: "key-lender",
      body: subscriptionExample,
      headers,
    });
    expect(replayed.status).toBe(201);
    expect(replayed.headers["idempotent-replayed"]).toBe("true");
    expect(Object.keys(deref(subscribe.op.responses["201"]).headers as Obj)).toContain("Idempotent-Replayed");

    const repeated = await call("post", "/v1/loans", { key: "key-lender", body: subscriptionExample });
    expect(repeated.status).toBe(200);
    expect(repeated.body).toEqual(created.body);

    const reused = await call("post", "/v1/loans", {
      key: "key-lender",
      body: { ...(subscriptionExample as Obj), dueDate: "2026-01-16" },
      headers,
    });
    expect(reused.status).toBe(422);
    expectDocumented(subscribe, reused);

    const conflict = await call("post", "/v1/loans", {
      key: "key-lender",
      body: { ...(subscriptionExample as Obj), dueDate: "2026-01-16" },
    });
    expect((conflict.body as { error: { code: string } }).error.code).toBe("LOAN_EXISTS");
    expectDocumented(subscribe, conflict);

    // A borrower reachable by phone only: the absent email comes back as null.
    const { email: _email, ...phoneOnly } = (subscriptionExample as { borrower: Obj }).borrower;
    const smsOnly = await call("post", "/v1/loans", {
      key: "key-lender",
      body: { ...(subscriptionExample as Obj), loanId: "L-1002", borrower: phoneOnly },
    });
    expect(smsOnly.status).toBe(201);
    expect((smsOnly.body as { borrower: Obj }).borrower.email).toBeNull();
    expectDocumented(subscribe, smsOnly);

    const list = await call("get", "/v1/loans", {
      key: "key-lender",
      query: { status: "active", limit: "10" },
    });
    expectDocumented(opAt("get", "/v1/loans"), list);
    expect((list.body as { items: unknown[] }).items).toHaveLength(2);

    const audit = await call("get", `/v1/loans/${LOAN_ID}/audit`, { key: "key-compliance" });
    expectDocumented(opAt("get", "/v1/loans/{loanId}/audit"), audit);
  });

  it("answers the aging report in the documented shape, counting only the caller's tenant", async () => {
    const call = inMemoryApi();
    const aging = opAt("get", "/v1/reports/aging");
    for (const loanId of [LOAN_ID, "L-1002"]) {
      const body = { ...(subscriptionExample as Obj), loanId };
      expect((await call("post", "/v1/loans", { key: "key-lender", body })).status).toBe(201);
    }
    const ours = await call("get", "/v1/reports/aging", { key: "key-ops" });
    expectDocumented(aging, ours);
    expect((ours.body as { buckets: unknown[] }).buckets).toEqual([
      { bucket: "current", count: 2, balances: [{ amount: "2500.00", currency: "CNY" }] },
      ...["1-30", "31-60", "61-90", "90+"].map((bucket) => ({ bucket, count: 0, balances: [] })),
    ]);
    const theirs = await call("get", "/v1/reports/aging", { key: "other-lender" });
    expectDocumented(aging, theirs);
    expect((theirs.body as { buckets: { count: number }[] }).buckets.map((b) => b.count)).toEqual([
      0, 0, 0, 0, 0,
    ]);
  });

  it("stores the PUT /v1/policies/{policyId} request example into its 201 example, which GET then reads", async () => {
    const call = inMemoryApi();
    const put = opAt("put", "/v1/policies/{policyId}");
    const stored = await call("put", concrete(put.path), { key: "key-ops", body: requestExample(put) });
    expect(stored.status).toBe(201);
    expectDocumented(put, stored);
    // The example is this answer; of the templates (the built-in texts, which change on their own) only the ids.
    const { templates, ...rest } = stored.body as Obj & { templates: Obj };
    const { templates: exampleTemplates, ...exampleRest } = responseExamples(put, 201).created as Obj & {
      templates: Obj;
    };
    expect(rest).toEqual(exampleRest);
    expect(Object.keys(templates).sort()).toEqual(Object.keys(exampleTemplates).sort());
    // The 201 body is the policy GET answers from now on, plus the version's history entry and `replanned`.
    const read = await call("get", concrete(put.path), { key: "key-ops" });
    expectDocumented(opAt("get", "/v1/policies/{policyId}"), read);
    const history = await call("get", `${concrete(put.path)}/versions`, { key: "key-ops" });
    const [entry] = (history.body as { items: Obj[] }).items;
    const { replanned: _replanned, ...versionAndPolicy } = stored.body as Obj;
    expect({ ...(read.body as Obj), ...entry }).toEqual(versionAndPolicy);
  });

  it("answers 404 for another tenant's loan, as for a loan that does not exist", async () => {
    const call = inMemoryApi();
    await call("post", "/v1/loans", { key: "key-lender", body: subscriptionExample });
    const getLoan = opAt("get", "/v1/loans/{loanId}");
    expectDocumented(getLoan, await call("get", `/v1/loans/${LOAN_ID}`, { key: "key-lender" }));
    for (const path of [`/v1/loans/${LOAN_ID}`, "/v1/loans/L-9999"]) {
      const response = await call("get", path, { key: "other-lender" });
      expect(response.status, path).toBe(404);
      expect((response.body as { error: { code: string } }).error.code).toBe("NOT_FOUND");
      expectDocumented(getLoan, response);
    }
  });

  it("applies each event type's example in a status that allows it, into the documented answer", async () => {
    const record = opAt("post", "/v1/loans/{loanId}/events");
    const answers = responseExamples(record, 200);
    expect(Object.keys(answers).length).toBeGreaterThan(5);
    for (const type of Object.keys(ALLOWED) as LoanEventType[]) {
      const call = await eventScenario([...(PRECEDED_BY[type] ?? []).map(eventExample)]);
      const response = await call("post", `/v1/loans/${LOAN_ID}/events`, {
        key: "key-lender",
        body: eventExample(type),
      });
      expect(response.status, `${type}: ${JSON.stringify(response.body)}`).toBe(200);
      expectDocumented(record, response);
      // The 200 examples are named after the request example they answer.
      if (type in answers) expect(response.body, type).toEqual(answers[type]);
    }
    expect(Object.keys(answers).filter((name) => !(name in ALLOWED))).toEqual([]);
  });

  it("refuses each event type with 409 CASE_STATE_CONFLICT in every status that does not allow it", async () => {
    const record = opAt("post", "/v1/loans/{loanId}/events");
    let refused = 0;
    for (const type of Object.keys(ALLOWED) as LoanEventType[]) {
      for (const status of STATUSES.filter((s) => !ALLOWED[type].includes(s))) {
        const call = await eventScenario(REACH[status]);
        const loan = await call("get", `/v1/loans/${LOAN_ID}`, { key: "key-lender" });
        expect((loan.body as { status: string }).status, `reaching ${status}`).toBe(status);
        const response = await call("post", `/v1/loans/${LOAN_ID}/events`, {
          key: "key-lender",
          body: eventExample(type),
        });
        expect(response.status, `${type} on ${status}`).toBe(409);
        expect((response.body as { error: { code: string } }).error.code, `${type} on ${status}`).toBe(
          "CASE_STATE_CONFLICT",
        );
        expectDocumented(record, response);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(20);
  });

  it("applies a repeated eventId once, and refuses events out of order or from the future", async () => {
    const record = opAt("post", "/v1/loans/{loanId}/events");
    const call = await eventScenario([]);
    const post = (body: unknown) => call("post", `/v1/loans/${LOAN_ID}/events`, { key: "key-lender", body });
    const dispute = eventExample("dispute_opened") as { eventId?: string };
    expect(dispute.eventId).toBeDefined();
    const first = await post(dispute);
    const trail = await call("get", `/v1/loans/${LOAN_ID}/audit`, { key: "key-lender" });
    const again = await post(dispute);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(await call("get", `/v1/loans/${LOAN_ID}/audit`, { key: "key-lender" })).toEqual(trail);

    const payment = eventExample("payment") as { occurredAt: string };
    const late = await post({ ...payment, occurredAt: "2026-01-09T00:00:00Z" });
    expect(late.status).toBe(409);
    expect((late.body as { error: { code: string } }).error.code).toBe("EVENT_OUT_OF_ORDER");
    expectDocumented(record, late);

    const future = await post({ ...payment, occurredAt: "2026-01-11T00:00:00Z" });
    expect(future.status).toBe(422);
    expect((future.body as { error: { code: string } }).error.code).toBe("EVENT_IN_THE_FUTURE");
    expectDocumented(record, future);
  });
});

describe("the document against the local server", () => {
  it("serves the files of the exports folder at GET /local/exports/{file} as documented", async () => {
    const dir = mkdtempSync(join(tmpdir(), "local-exports-"));
    const clock = new VirtualClock(new Date("2026-01-05T00:00:00Z"), true);
    const server = createLocalServer({
      api: async () => ({ statusCode: 500, body: "{}" }),
      clock,
      engine: {} as LocalWorkflowEngine,
      outbox: new Outbox(clock),
      exportsDir: dir,
    });
    const url = await listen(server, 0);
    try {
      const route = opAt("get", "/local/exports/{file}");
      const documented = deref(route.op.responses["200"]).content as Obj;
      const delivery = Object.values(responseExamples(opAt("get", "/v1/audit/export"), 200))[0] as Obj;
      const file = parametersOf(route).find((p) => p.name === "file")?.example as string;
      const files: [string, string, string][] = [
        [file, "application/x-ndjson", '{"seq":1}\n{"seq":2}\n'],
        [file.replace(/\.jsonl$/, ".csv"), "text/csv", "tenantId,loanId,seq\ndemo,L-1001,1\n"],
        [`${file}.manifest.json`, "application/json", `${JSON.stringify(delivery.manifest)}\n`],
      ];
      for (const [name, type, content] of files) {
        writeFileSync(join(dir, name), content);
        const response = await fetch(`${url}/local/exports/${name}`);
        expect(response.status, name).toBe(200);
        const contentType = response.headers.get("content-type")?.split(";")[0] ?? "";
        expect(contentType, name).toBe(type);
        expect(Object.keys(documented), name).toContain(type);
        expect(response.headers.get("content-length"), name).toBe(String(Buffer.byteLength(content)));
        const body = await response.text();
        expect(body, name).toBe(content);
        if (type === "application/json") expectDocumented(route, { status: 200, body: JSON.parse(body) });
      }
      for (const [path, status] of [
        ["..%2Fpackage.json", 400],
        ["%E0%A4%A", 400],
        ["no-such-file.jsonl", 404],
      ] as const) {
        const response = await fetch(`${url}/local/exports/${path}`);
        expect(response.status, path).toBe(status);
        expectDocumented(route, { status, body: await response.json() });
      }
    } finally {
      await new Promise((resolve) => server.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("answers the local-only routes in the documented shapes, without a key", async () => {
    const clock = new VirtualClock(new Date("2026-01-05T00:00:00Z"), true);
    const outbox = new Outbox(clock);
    await outbox.send({
      tenantId: "demo",
      loanId: LOAN_ID,
      step: "pre_due_7",
      stage: "pre_due",
      channel: "email",
      locale: "zh-CN",
      to: "li.wei@example.com",
      subject: "Reminder",
      body: "Your loan L-1001 is due on 2026-01-15.",
    });
    const engine = {
      advanceTo: async (ms: number) => {
        clock.set(ms);
        return { failed: [], nowMs: ms };
      },
    } as unknown as LocalWorkflowEngine;
    const server = createLocalServer({
      api: async () => ({ statusCode: 500, body: "{}" }),
      clock,
      engine,
      outbox,
    });
    const url = await listen(server, 0);
    try {
      const request = async (method: string, path: string, body?: unknown) => {
        const response = await fetch(`${url}${path}`, {
          method: method.toUpperCase(),
          ...(body === undefined
            ? {}
            : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
        });
        return { status: response.status, body: (await response.json()) as unknown };
      };
      const cases: [string, string, unknown, number][] = [
        ["get", "/health", undefined, 200],
        ["get", "/local/clock", undefined, 200],
        ["post", "/local/clock/advance", { by: "P3D" }, 200],
        ["post", "/local/clock/advance", { to: "2026-01-20T00:00:00Z" }, 200],
        ["post", "/local/clock/advance", { to: "2026-01-06T00:00:00Z" }, 409],
        ["post", "/local/clock/advance", { at: "tomorrow" }, 400],
        ["get", `/local/outbox?loanId=${LOAN_ID}&channel=email`, undefined, 200],
      ];
      for (const [method, path, body, status] of cases) {
        const response = await request(method, path, body);
        expect(response.status, `${method} ${path}`).toBe(status);
        expectDocumented(opAt(method, path.split("?")[0] ?? path), response);
      }
      expect(await request("get", "/local/clock")).toMatchObject({
        body: { now: "2026-01-20T00:00:00.000Z" },
      });
      const unknown = await request("get", "/local/nothing");
      expect(unknown).toMatchObject({ status: 404, body: { error: { code: "ROUTE_NOT_FOUND" } } });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
