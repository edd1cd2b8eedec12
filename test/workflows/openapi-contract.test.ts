import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { routeTable } from "../../functions/api/app.ts";
import { errorResponse } from "../../functions/api/http.ts";
import { eventSchema, listQuerySchema, subscribeSchema } from "../../functions/contracts/requests.ts";
import {
  type CreateWebhookRequest,
  createWebhookSchema,
  deliveriesQuerySchema,
} from "../../functions/contracts/webhooks.ts";
import { type AuditEntry, verifyChain } from "../../functions/domain/audit-chain.ts";
import {
  CaseStateConflictError,
  ConcurrentUpdateError,
  LoanAlreadyExistsError,
  NotFoundError,
} from "../../functions/domain/errors.ts";
import {
  ALLOWED as ALL_EVENTS_ALLOWED,
  BORROWER_ONLY_EVENTS,
  type LoanEventType,
} from "../../functions/domain/events.ts";
import type { CaseStatus } from "../../functions/domain/loan-case.ts";
import { deliveryIdOf } from "../../functions/domain/webhooks/ids.ts";
import { announceEntries } from "../../functions/domain/webhooks/lender-events.ts";
import { endpointAfterAttempt } from "../../functions/domain/webhooks/retry.ts";
import { signatureHeader } from "../../functions/domain/webhooks/signature.ts";
import {
  LENDER_EVENT_TYPES,
  type LenderEvent,
  NOTHING_ANNOUNCED,
  type WebhookDelivery,
  type WebhookEndpoint,
} from "../../functions/domain/webhooks/types.ts";
import type { WebhookStore } from "../../functions/ports/webhooks.ts";
import { type Principal, ROLES } from "../../functions/ports.ts";
import {
  createWebhook,
  endpointView,
  findWebhook,
  listWebhookDeliveries,
  listWebhooks,
  redeliver,
  rotateWebhookSecret,
  type WebhookAdminDeps,
} from "../../functions/usecases/webhooks/endpoints.ts";
import type { LocalWorkflowEngine } from "../../infra/local/engine.ts";
import { Outbox } from "../../infra/local/outbox.ts";
import { createLocalServer, listen } from "../../infra/local/server.ts";
import { VirtualClock } from "../../infra/local/virtual-clock.ts";
import { verifyDunningSignature } from "../../webhooks/verify.mjs";
import { inMemoryApi } from "../support/memory-api.ts";
import {
  CASE_STAGES,
  CASE_STATUSES,
  type DocumentedOperation,
  deref,
  doc,
  eventExample,
  expectDocumented,
  type Obj,
  type Operation,
  opAt,
  operations,
  parametersOf,
  propertiesOf,
  ROOT,
  requestExample,
  requiredOf,
  responseExamples,
  routeKey,
  schema,
  schemaErrors,
  subscriptionExample,
} from "../support/openapi.ts";
import { codesRaisedIn, productSources } from "../support/raised-error-codes.ts";

/** The lender API's event types (the borrowers' page has one of its own) and where each may be applied. */
const ALLOWED = Object.fromEntries(
  Object.entries(ALL_EVENTS_ALLOWED).filter(
    ([type]) => !BORROWER_ONLY_EVENTS.includes(type as LoanEventType),
  ),
) as Record<LoanEventType, (typeof ALL_EVENTS_ALLOWED)[LoanEventType]>;

/**
 * The OpenAPI document against the product: against the zod request schemas, the case state machine and the
 * error codes the sources raise, and against the API handler (on in-memory ports) and the local server
 * themselves: what it says is served, who may call it and what comes back. The document on its own is
 * test/unit/openapi.test.ts.
 */

const errorCodes = schema("Error")["x-error-codes"] as Record<
  string,
  { status: number; description: string }
>;
/** zod: a key is required when undefined does not parse (optional and defaulted keys do). */
const zodRequired = (shape: Record<string, { safeParse(value: unknown): { success: boolean } }>) =>
  Object.keys(shape).filter((key) => !shape[key]?.safeParse(undefined).success);

describe("the schemas against the code", () => {
  it("LoanEvent is a oneOf with a `type` discriminator over exactly the event types eventSchema accepts", () => {
    const loanEvent = schema("LoanEvent");
    const discriminator = loanEvent.discriminator as {
      propertyName: string;
      mapping: Record<string, string>;
    };
    expect(discriminator.propertyName).toBe("type");
    const accepted = eventSchema.options.map((o) => o.shape.type.value);
    expect(accepted.length).toBe(16);
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

  it("accepts in the list query exactly what a LoanCase can hold, under the names the document gives", () => {
    for (const status of CASE_STATUSES) {
      expect(listQuerySchema.safeParse({ status }).success, status).toBe(true);
    }
    for (const stage of CASE_STAGES) expect(listQuerySchema.safeParse({ stage }).success, stage).toBe(true);
    const listParams = parametersOf(opAt("get", "/v1/loans")).map((p) => p.name);
    expect(listParams.sort()).toEqual(Object.keys(listQuerySchema.shape).sort());
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

describe("the error codes against the code base", () => {
  it("documents every code the code base raises, with the status the code maps it to", () => {
    const raised = codesRaisedIn(productSources(ROOT));
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

// ---------------------------------------------------------------------------------------------------------------
// The document against the API handler itself, on in-memory ports.

const LOAN_ID = "L-1001";
const concrete = (path: string) =>
  path.replace("{loanId}", LOAN_ID).replace("{policyId}", "default").replace("{jobId}", "apply-v2");
const v1: DocumentedOperation[] = operations.filter((o) => o.path.startsWith("/v1/"));

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

  it("answers the portfolio report in the documented shape, its 400 on a date that is none", async () => {
    const call = inMemoryApi();
    const portfolio = opAt("get", "/v1/reports/portfolio");
    expect((await call("post", "/v1/loans", { key: "key-lender", body: subscriptionExample })).status).toBe(
      201,
    );
    call.runStep(LOAN_ID, "2026-01-08T02:00:00Z", "2026-01-08T02:00:03Z");
    call.clock.now = new Date("2026-01-08T05:00:00Z");
    const payment = { type: "payment", amount: { amount: "500.00", currency: "CNY" } };
    const paid = await call("post", `/v1/loans/${LOAN_ID}/events`, { key: "key-lender", body: payment });
    expect(paid.status).toBe(200);
    const query = { from: "2026-01-07", to: "2026-01-08" };
    const ours = await call("get", "/v1/reports/portfolio", { key: "key-ops", query });
    expectDocumented(portfolio, ours);
    expect(ours.body).toMatchObject({
      range: { ...query, days: 2, timeZone: "UTC" },
      cases: { total: 1, byStatus: { active: 1 }, byStage: { pre_due: 1 }, needingAttention: 0 },
      daily: [
        { date: "2026-01-07", paymentsAfterContact: 0 },
        { date: "2026-01-08", paymentsAfterContact: 1 },
      ],
    });
    const theirs = await call("get", "/v1/reports/portfolio", { key: "other-lender", query });
    expect((theirs.body as { totals: unknown }).totals).toMatchObject({ paymentsAfterContact: 0 });
    const bad = await call("get", "/v1/reports/portfolio", {
      key: "key-lender",
      query: { from: "2026-02-30" },
    });
    expect(bad.status).toBe(400);
    expectDocumented(portfolio, bad);
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
    // The 201 body is the policy GET answers from now on, plus the version's history entry.
    const read = await call("get", concrete(put.path), { key: "key-ops" });
    expectDocumented(opAt("get", "/v1/policies/{policyId}"), read);
    const history = await call("get", `${concrete(put.path)}/versions`, { key: "key-ops" });
    const [entry] = (history.body as { items: Obj[] }).items;
    expect({ ...(read.body as Obj), ...entry }).toEqual(stored.body);
  });

  it("answers the request example applied in flight with its 202 example, and the job as documented", async () => {
    const call = inMemoryApi();
    const put = opAt("put", "/v1/policies/{policyId}");
    const body = { ...(requestExample(put) as Obj), applyTo: "in_flight" };
    const applying = await call("put", concrete(put.path), { key: "key-ops", body });
    expect(applying.status).toBe(202);
    expectDocumented(put, applying);
    const { templates: _t, ...rest } = applying.body as Obj;
    const { templates: _e, ...example } = responseExamples(put, 202).applying as Obj;
    expect(rest).toEqual(example);
    // The job's first page is queued; nothing runs it here, so the job is where it started.
    expect(call.applicationPages).toEqual([
      { message: { tenantId: "demo", policyId: "default", version: 2, jobId: "apply-v2" }, delaySeconds: 0 },
    ]);
    const job = opAt("get", "/v1/policies/{policyId}/applications/{jobId}");
    const read = await call("get", concrete(job.path), { key: "key-ops" });
    expectDocumented(job, read);
    expect(read.body).toMatchObject({ id: "apply-v2", status: "running", total: 0, finishedAt: null });
    const theirs = await call("get", concrete(job.path), { key: "other-ops" });
    expect(theirs.status).toBe(404);
    expectDocumented(job, theirs);
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
      for (const status of CASE_STATUSES.filter((s) => !ALLOWED[type].includes(s))) {
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

// ---------------------------------------------------------------------------------------------------------------
// Webhooks: the routes, the request schemas, the answers of the use cases and the webhook a lender receives.

const LENDER: Principal = { tenantId: "demo", role: "lender", keyId: "key-lender" };

/** The part of the webhook store the API's use cases touch, in memory; `deliveries` may be seeded. */
function memoryWebhooks(now: Date) {
  const endpoints = new Map<string, WebhookEndpoint>();
  const deliveries = new Map<string, WebhookDelivery>();
  const store: Partial<WebhookStore> = {
    async createEndpoint(endpoint) {
      endpoints.set(endpoint.id, endpoint);
    },
    async getEndpoint(tenantId, id) {
      const found = endpoints.get(id);
      return found?.tenantId === tenantId ? found : null;
    },
    async listEndpoints(tenantId) {
      return [...endpoints.values()].filter((e) => e.tenantId === tenantId);
    },
    async updateEndpoint(previous, next) {
      const stored = { ...next, version: previous.version + 1 };
      endpoints.set(stored.id, stored);
      return stored;
    },
    async getDelivery(_tenantId, _endpointId, id) {
      return deliveries.get(id) ?? null;
    },
    async listDeliveries(_tenantId, _endpointId, query) {
      const all = [...deliveries.values()].filter((d) => !query.loanId || d.loanId === query.loanId);
      const items = all.slice(0, query.limit);
      return { items, nextCursor: all.length > query.limit ? (items.at(-1)?.id ?? null) : null };
    },
    async updateDelivery(previous, next) {
      deliveries.set(next.id, { ...next, version: previous.version + 1 });
      return true;
    },
  };
  const deps: WebhookAdminDeps = {
    webhooks: store as WebhookStore,
    secrets: { seal: async (plain) => `sealed:${plain}`, open: async (sealed) => sealed.slice(7) },
    queue: { enqueue: async () => {} },
    clock: { now: () => now },
    allowLoopback: false,
  };
  return { deps, endpoints, deliveries };
}

/** What the API answers for an error a use case raised. */
function answered(error: unknown) {
  const { response } = errorResponse(error);
  const body = JSON.parse(response.body) as { error: { code: string; details?: { path: string }[] } };
  return { status: response.statusCode, body };
}

/** The answer to the error `work` fails with; it must fail. */
async function refusal(work: Promise<unknown>) {
  const error = await work.then(
    () => {
      throw new Error("expected a refusal, but the use case succeeded");
    },
    (raised: unknown) => raised,
  );
  return answered(error);
}

/** The AuditTrail example's trail (loan L-1001 of tenant demo), announced as lender events. */
function exampleEvents() {
  const trail = (schema("AuditTrail").examples as { entries: AuditEntry[] }[])[0]?.entries ?? [];
  return announceEntries({ tenantId: "demo", loanId: LOAN_ID }, NOTHING_ANNOUNCED, trail).events;
}

const json = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

describe("the route table and the webhooks against the code", () => {
  it("documents every route the API serves with its roles, and serves every /v1 route not planned", () => {
    const table = routeTable();
    for (const row of table) {
      const o = opAt(row.method.toLowerCase(), row.path);
      expect([...(o.op["x-roles"] ?? [])].sort(), routeKey(o)).toEqual([...row.roles].sort());
    }
    const served = new Set(table.map((row) => `${row.method} ${row.path}`));
    const unserved = v1.filter((o) => o.op["x-status"] !== "planned" && !served.has(routeKey(o)));
    expect(unserved.map(routeKey)).toEqual([]);
  });

  it("WebhookCreate and the deliveries query are the request schemas; LenderEvent's types are LENDER_EVENT_TYPES", () => {
    expect(propertiesOf(schema("LenderEvent")).type).toMatchObject({
      type: "string",
      enum: [...LENDER_EVENT_TYPES],
    });
    const create = schema("WebhookCreate");
    expect(Object.keys(propertiesOf(create)).sort()).toEqual(Object.keys(createWebhookSchema.shape).sort());
    expect(requiredOf(create).sort()).toEqual(zodRequired(createWebhookSchema.shape).sort());
    expect(create.additionalProperties).toBe(false);
    const media = (deref(opAt("post", "/v1/webhooks").op.requestBody).content as Obj)["application/json"] as {
      examples: Record<string, unknown>;
    };
    const examples = Object.values(media.examples).map((example) => deref(example).value);
    expect(examples.length).toBeGreaterThan(0);
    const bodies = [
      ...examples,
      { url: "https://hooks.lender.example/x", events: ["*", "loan.paid"] },
      { url: "https://hooks.lender.example/x", events: [] },
      { url: "https://hooks.lender.example/x", events: ["loan.paid", "loan.paid"] },
      { url: "https://hooks.lender.example/x", events: ["loan.unknown"] },
      { url: "https://hooks.lender.example/x", events: ["*"], secret: "mine" },
      { url: "", events: ["*"] },
      { url: "https://hooks.lender.example/x", events: [...LENDER_EVENT_TYPES] },
    ];
    for (const body of bodies) {
      const accepted = createWebhookSchema.safeParse(body).success;
      if (examples.includes(body)) expect(accepted, JSON.stringify(body)).toBe(true);
      expect(
        schemaErrors({ $ref: "#/components/schemas/WebhookCreate" }, body).length === 0,
        JSON.stringify(body),
      ).toBe(accepted);
    }
    const query = parametersOf(opAt("get", "/v1/webhooks/{webhookId}/deliveries")).filter(
      (p) => p.in === "query",
    );
    expect(query.map((p) => p.name).sort()).toEqual(Object.keys(deliveriesQuerySchema.shape).sort());
  });

  it("answers the webhook use cases in the documented shapes", async () => {
    const now = new Date("2026-01-10T03:12:45Z");
    const { deps, endpoints, deliveries } = memoryWebhooks(now);
    const post = opAt("post", "/v1/webhooks");
    const created = json(await createWebhook(deps, LENDER, requestExample(post) as CreateWebhookRequest));
    expectDocumented(post, { status: 201, body: created });
    // A replay under the same Idempotency-Key answers without the secret, which is never kept beside the key.
    const { secret: _secret, ...replayed } = created;
    expectDocumented(post, { status: 201, body: replayed });
    const refused = await refusal(
      createWebhook(deps, LENDER, { url: "http://hooks.lender.example/dunning", events: ["*"] }),
    );
    expect(refused).toMatchObject({ status: 400, body: { error: { code: "VALIDATION_FAILED" } } });
    expect(refused.body.error.details?.[0]?.path).toBe("url");
    expectDocumented(post, refused);

    const id = created.id;
    expectDocumented(opAt("get", "/v1/webhooks"), {
      status: 200,
      body: json(await listWebhooks(deps, LENDER)),
    });
    const one = opAt("get", "/v1/webhooks/{webhookId}");
    expectDocumented(one, { status: 200, body: json(endpointView(await findWebhook(deps, LENDER, id))) });
    const elsewhere = await refusal(findWebhook(deps, { ...LENDER, tenantId: "other" }, id));
    expect(elsewhere.status).toBe(404);
    expectDocumented(one, elsewhere);
    const rotate = opAt("post", "/v1/webhooks/{webhookId}:rotate-secret");
    const rotated = json(await rotateWebhookSecret(deps, LENDER, id));
    expect(rotated.secret).not.toBe(created.secret);
    expectDocumented(rotate, { status: 200, body: rotated });

    for (const event of exampleEvents()) {
      const delivery: WebhookDelivery = {
        tenantId: "demo",
        endpointId: id,
        loanId: event.loanId,
        sequence: event.sequence,
        id: deliveryIdOf(event.loanId, event.sequence),
        event,
        status: "failed",
        attempts: [{ at: event.createdAt, error: "timeout", durationMs: 10_000 }],
        attemptCount: 1,
        nextAttemptAt: null,
        createdAt: event.createdAt,
        version: 3,
      };
      deliveries.set(delivery.id, delivery);
    }
    const list = opAt("get", "/v1/webhooks/{webhookId}/deliveries");
    const page = json(await listWebhookDeliveries(deps, LENDER, id, { limit: 2 }));
    expect(page.items).toHaveLength(2);
    expectDocumented(list, { status: 200, body: page });
    const again = opAt("post", "/v1/webhooks/{webhookId}/deliveries/{deliveryId}:redeliver");
    const first = deliveryIdOf(LOAN_ID, 1);
    expectDocumented(again, { status: 202, body: json(await redeliver(deps, LENDER, id, first)) });
    const missing = await refusal(redeliver(deps, LENDER, id, deliveryIdOf(LOAN_ID, 99)));
    expect(missing.status).toBe(404);
    expectDocumented(again, missing);

    const endpoint = endpoints.get(id) as WebhookEndpoint;
    const stopped = endpointAfterAttempt(
      { ...endpoint, failingSince: "2026-01-07T03:12:45Z" },
      false,
      new Date("2026-01-10T03:12:45Z"),
    );
    expect(stopped.disable).toBe(true);
    endpoints.set(id, stopped.next);
    expectDocumented(one, { status: 200, body: json(endpointView(await findWebhook(deps, LENDER, id))) });
    const disabled = await refusal(redeliver(deps, LENDER, id, first));
    expect(disabled.body.error.code).toBe("WEBHOOK_DISABLED");
    expectDocumented(again, disabled);
  });

  it("has the lenderEvent webhook's examples announced from the AuditTrail example and signed as documented", () => {
    const webhooks = (doc as unknown as { webhooks: Record<string, { post: Operation }> }).webhooks;
    const receive = webhooks.lenderEvent?.post as Operation;
    const media = (deref(receive.requestBody).content as Obj)["application/json"] as Obj;
    const examples = Object.values(media.examples as Obj).map(
      (example) => deref(example).value as LenderEvent,
    );
    expect(examples.length).toBeGreaterThan(0);
    const events = exampleEvents();
    for (const example of examples) {
      expect(events).toContainEqual(example);
      expect(schemaErrors(media.schema, example)).toEqual([]);
    }
    const header = (name: string) =>
      (receive.parameters ?? []).map(deref).find((p) => p.name === name)?.example as string;
    const [signed] = examples as [LenderEvent];
    const rawBody = JSON.stringify(signed);
    const { secret } = (schema("WebhookWithSecret").examples as { secret: string }[])[0] as {
      secret: string;
    };
    const signature = header("Dunning-Signature");
    const t = Number(/^t=(\d+),/.exec(signature)?.[1]);
    expect(signature).toBe(signatureHeader([secret], t, rawBody));
    expect(verifyDunningSignature({ header: signature, rawBody, secret, nowSeconds: t })).toBe(true);
    expect(header("Dunning-Event-Id")).toBe(signed.id);
    expect(header("Dunning-Delivery-Id")).toBe(deliveryIdOf(signed.loanId, signed.sequence));
  });
});

describe("the document against the local server", () => {
  it("serves the files of the exports folder at GET /local/exports/{file} as documented", async () => {
    const dir = mkdtempSync(join(tmpdir(), "local-exports-"));
    const clock = new VirtualClock(new Date("2026-01-05T00:00:00Z"), true);
    const server = createLocalServer({
      api: async () => ({ statusCode: 500, body: "{}" }),
      portal: async () => ({ statusCode: 500, body: "" }),
      console: async () => ({ statusCode: 500, body: "" }),
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
      portal: async () => ({ statusCode: 500, body: "" }),
      console: async () => ({ statusCode: 500, body: "" }),
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
