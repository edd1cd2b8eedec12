import { describe, expect, it } from "vitest";
import { ROLES } from "../../functions/ports.ts";
import {
  CASE_STAGES,
  CASE_STATUSES,
  deref,
  doc,
  documentExamples,
  isObject,
  type Obj,
  opAt,
  operations,
  parametersOf,
  pointer,
  propertiesOf,
  requiredOf,
  responseSchema,
  routeKey,
  schema,
  schemaErrors,
} from "../support/openapi.ts";

/**
 * The OpenAPI document itself, against the contract (docs: /work/shared/api-contract.md): its routes, statuses,
 * roles, schemas and error codes, and its examples against its own schemas. The document against the code and
 * the running API is test/workflows/openapi-contract.test.ts; the linters are openapi-lint.test.ts.
 */

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
  "GET /v1/policies/{policyId}/applications/{jobId}",
  "POST /v1/simulations",
  "GET /v1/simulations/{simulationId}",
  "GET /v1/audit/export",
  "GET /v1/handoffs",
  "GET /v1/handoffs/{loanId}",
  "POST /v1/handoffs/{loanId}/ack",
  "GET /v1/settings",
  "PUT /v1/settings",
  "POST /v1/webhooks",
  "GET /v1/webhooks",
  "GET /v1/webhooks/{webhookId}",
  "DELETE /v1/webhooks/{webhookId}",
  "POST /v1/webhooks/{webhookId}:rotate-secret",
  "GET /v1/webhooks/{webhookId}/deliveries",
  "POST /v1/webhooks/{webhookId}/deliveries/{deliveryId}:redeliver",
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
  "PUT /v1/policies/{policyId}": ["201", "202"],
  "GET /v1/policies/{policyId}/applications/{jobId}": ["200", "404"],
  "POST /v1/simulations": ["202", "400", "422"],
  "GET /v1/simulations/{simulationId}": ["200", "404"],
  "PUT /v1/settings": ["200", "400", "409", "422"],
  "POST /v1/webhooks": ["201"],
  "GET /health": ["200"],
};
const CONTRACT_ROLES: Record<string, string[]> = {
  "GET /v1/loans/{loanId}/audit": ["lender", "compliance"],
  "GET /v1/reports/aging": ["lender", "ops"],
  "GET /v1/policies/{policyId}": ["ops"],
  "PUT /v1/policies/{policyId}": ["ops"],
  "GET /v1/policies/{policyId}/applications/{jobId}": ["ops"],
  "POST /v1/simulations": ["ops"],
  "GET /v1/simulations/{simulationId}": ["ops"],
  "GET /v1/audit/export": ["compliance"],
  "POST /v1/handoffs/{loanId}/ack": ["legal"],
  "GET /v1/settings": ["ops", "lender"],
  "PUT /v1/settings": ["ops"],
  "POST /v1/webhooks": ["lender"],
};
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

const errorCodes = schema("Error")["x-error-codes"] as Record<
  string,
  { status: number; description: string }
>;

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
    expect(posts.length).toBe(16);
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
  it("LoanCase has every field of the contract, always present, with the contract's status and stage values", () => {
    const loanCase = schema("LoanCase");
    const fields = ["loanId", "status", "stage", "balance", "amountDue", "dueDate", "daysPastDue"].concat(
      ["nextAction", "policy", "segment", "borrower", "createdAt", "updatedAt"],
      ["balanceBreakdown", "totalPaid", "hold", "installments", "attention", "optedOut", "amountDueNow"],
    );
    expect(requiredOf(loanCase).sort()).toEqual([...fields].sort());
    expect(Object.keys(propertiesOf(loanCase)).sort()).toEqual([...fields].sort());
    expect(loanCase.additionalProperties).toBe(false);
    expect(requiredOf(schema("BalanceBreakdown")).sort()).toEqual(["fees", "interest", "principal"]);
    expect(requiredOf(schema("Hold")).sort()).toEqual(["amount", "paidSince", "reason", "until"]);
    expect(propertiesOf(schema("Hold")).reason).toMatchObject({
      enum: ["promise", "settlement", "dispute", "placement"],
    });
    expect(requiredOf(schema("InstallmentView")).sort()).toEqual([
      "amount",
      "dueDate",
      "number",
      "paid",
      "status",
    ]);
    expect(propertiesOf(schema("InstallmentView")).status).toMatchObject({
      enum: ["upcoming", "due", "overdue", "paid"],
    });
    for (const field of ["hold", "installments", "attention"]) {
      expect(
        schemaErrors({ $ref: `#/components/schemas/LoanCase/properties/${field}` }, null),
        field,
      ).toEqual([]);
    }
    expect(schema("CaseStatus").enum).toEqual(CASE_STATUSES);
    expect(schema("CaseStage").enum).toEqual(CASE_STAGES);
    expect(requiredOf(schema("NextAction")).sort()).toEqual(["at", "channels", "step"]);
    expect(requiredOf(schema("PolicyRef")).sort()).toEqual(["id", "version"]);
    expect(schemaErrors({ $ref: "#/components/schemas/LoanCase/properties/nextAction" }, null)).toEqual([]);
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

  it("WebhookWithSecret and LenderEvent have the contract's fields; the lenderEvent webhook is signed", () => {
    expect(requiredOf(schema("WebhookWithSecret"))).toEqual(
      expect.arrayContaining(["id", "url", "events", "secret", "status"]),
    );
    expect(requiredOf(schema("Webhook"))).not.toContain("secret");
    expect(propertiesOf(schema("Webhook")).secret).toBeUndefined();
    expect(requiredOf(schema("LenderEvent")).sort()).toEqual(
      ["id", "type", "createdAt", "tenantId", "loanId", "sequence", "data"].sort(),
    );
    const webhooks = (doc as unknown as { webhooks?: Record<string, { post?: Obj }> }).webhooks ?? {};
    const receive = webhooks.lenderEvent?.post ?? {};
    const body = deref(receive.requestBody).content as Record<string, Obj>;
    expect(body["application/json"]?.schema).toEqual({ $ref: "#/components/schemas/LenderEvent" });
    const headers = ((receive.parameters ?? []) as Obj[]).map(deref).filter((p) => p.in === "header");
    expect(headers.map((p) => [p.name, p.required])).toEqual([
      ["Dunning-Signature", true],
      ["Dunning-Event-Id", true],
      ["Dunning-Delivery-Id", true],
    ]);
    for (const header of headers)
      expect(schemaErrors(header.schema, header.example), String(header.name)).toEqual([]);
    expect(Object.keys(receive.responses as Obj)).toContain("2XX");
  });

  it("validates every example in the document against its schema", () => {
    const examples = documentExamples();
    expect(examples.length).toBeGreaterThan(60);
    const failures = examples.flatMap(({ where, schema: s, value }) =>
      schemaErrors(s, value).map((error) => `${where}: ${error}`),
    );
    expect(failures).toEqual([]);
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
});
