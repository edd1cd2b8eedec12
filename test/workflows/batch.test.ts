import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { DynamoApiKeyStore } from "../../functions/adapters/dynamo/api-key-store.ts";
import { makeDocumentClient } from "../../functions/adapters/dynamo/client.ts";
import { executionName } from "../../functions/usecases/execution.ts";
import { type LocalStack, startLocalStack } from "../../infra/local/stack.ts";
import { apiClient, loanRequest } from "./client.ts";

/** POST /v1/loans:batch over real HTTP on the local stack (DynamoDB Local, the local workflow engine). */
let stack: LocalStack;
let lender: ReturnType<typeof apiClient>;
let otherLender: ReturnType<typeof apiClient>;
const suffix = randomBytes(3).toString("hex");
const id = (name: string) => `b-${suffix}-${name}`;

beforeAll(async () => {
  const endpoint = inject("dynamoEndpoint");
  const prefix = `batch-${suffix}-`;
  stack = await startLocalStack({
    clockStart: new Date("2026-01-05T00:00:00Z"),
    frozen: true,
    port: 0,
    dynamoEndpoint: endpoint,
    tablePrefix: prefix,
  });
  lender = apiClient(stack.url, stack.keys.lender);
  const otherKey = `dk_other_lender_${randomBytes(12).toString("hex")}`;
  await new DynamoApiKeyStore(makeDocumentClient({ endpoint }), { stateTable: `${prefix}dunning-state` }).put(
    otherKey,
    { tenantId: "other", role: "lender" },
  );
  otherLender = apiClient(stack.url, otherKey);
});

afterAll(async () => {
  await stack?.stop();
});

const executionsOf = (tenantId: string, loanId: string) =>
  stack.engine
    .allExecutions()
    .filter((e) =>
      e.name.startsWith(executionName({ tenantId, loanId, generation: 1 }).replace(/-g1$/, "-g")),
    );

describe("POST /v1/loans:batch", () => {
  it("answers 207 with one result per loan in request order: valid, invalid, duplicate, unknown policy", async () => {
    const loans = [
      loanRequest(id("a")),
      loanRequest(id("bad"), { dueDate: "2026-02-30" }),
      loanRequest(id("b"), { borrower: { name: "Only Name", locale: "en-US", timeZone: "Europe/London" } }),
      loanRequest(id("a"), { dueDate: "2026-01-20" }),
      loanRequest(id("c"), { policyId: "no-such-policy" }),
      { loanId: 42 },
      loanRequest(id("d")),
    ];
    const response = await lender.post("/v1/loans:batch", { loans });
    expect(response.status).toBe(207);
    const results = response.body.results;
    // Each item carries the status POST /v1/loans would have answered, and its outcome by name.
    const answers = results.map((r: { loanId: string; status: number; outcome: string }) => [
      r.loanId,
      r.status,
      r.outcome,
    ]);
    expect(answers).toEqual([
      [id("a"), 201, "created"],
      [id("bad"), 400, "rejected"],
      [id("b"), 400, "rejected"],
      [id("a"), 409, "rejected"],
      [id("c"), 422, "rejected"],
      [null, 400, "rejected"],
      [id("d"), 201, "created"],
    ]);
    expect(results[1].error).toMatchObject({
      code: "VALIDATION_FAILED",
      details: [{ path: "loans.1.dueDate", message: "is not a calendar date" }],
    });
    expect(results[2].error.details).toEqual([
      { path: "loans.2.borrower.email", message: "at least one of email or phone is required" },
    ]);
    expect(results[3].error).toMatchObject({
      code: "DUPLICATE_LOAN_ID",
      details: [{ path: "loans.3.loanId", message: "same loanId as loans.0" }],
    });
    expect(results[4].error.code).toBe("UNKNOWN_POLICY");
    expect(results[0].error).toBeUndefined();

    // The created loans are real cases with running workflows; the refused ones do not exist.
    expect((await lender.get(`/v1/loans/${id("a")}`)).body).toMatchObject({
      status: "active",
      dueDate: "2026-01-15",
    });
    expect((await lender.get(`/v1/loans/${id("bad")}`)).status).toBe(404);
    expect(executionsOf("demo", id("a"))).toHaveLength(1);
    expect(executionsOf("demo", id("d"))).toHaveLength(1);
    const audit = (await lender.get(`/v1/loans/${id("d")}/audit`)).body.entries;
    expect(audit.map((e: { type: string }) => e.type)).toEqual(["loan_subscribed"]);
  });

  it("rejects alone a loan whose due date is more than 10 years from today; the others are created", async () => {
    const loans = [loanRequest(id("near")), loanRequest(id("far"), { dueDate: "2040-01-01" })];
    const response = await lender.post("/v1/loans:batch", { loans });
    expect(response.status).toBe(207);
    const [near, far] = response.body.results;
    expect([near.status, near.outcome]).toEqual([201, "created"]);
    expect([far.status, far.outcome]).toEqual([400, "rejected"]);
    expect(far.error).toMatchObject({
      code: "VALIDATION_FAILED",
      details: [expect.objectContaining({ path: "loans.1.dueDate" })],
    });
    expect((await lender.get(`/v1/loans/${id("far")}`)).status).toBe(404);
  });

  it("answers a repeat with exists and starts no second workflow; a changed body is a conflict", async () => {
    const loans = Array.from({ length: 120 }, (_, i) => loanRequest(id(`r${i}`)));
    const first = await lender.post("/v1/loans:batch", { loans });
    expect(first.body.results.every((r: { outcome: string }) => r.outcome === "created")).toBe(true);

    const changed = loans.map((loan, i) => (i % 10 === 3 ? { ...loan, dueDate: "2026-01-31" } : loan));
    const again = await lender.post("/v1/loans:batch", { loans: changed });
    expect(again.status).toBe(207);
    for (const [i, result] of again.body.results.entries()) {
      expect(result.loanId).toBe(id(`r${i}`));
      if (i % 10 === 3) {
        expect(result).toMatchObject({ status: 409, outcome: "conflict", error: { code: "LOAN_EXISTS" } });
      } else expect(result).toEqual({ loanId: id(`r${i}`), status: 200, outcome: "exists" });
    }
    for (const i of [0, 3, 119]) expect(executionsOf("demo", id(`r${i}`))).toHaveLength(1);
    // The single-loan route agrees: same body 200, changed body 409.
    expect((await lender.post("/v1/loans", loans[0])).status).toBe(200);
    expect((await lender.post("/v1/loans", changed[3])).status).toBe(409);
    expect((await lender.get(`/v1/loans/${id("r3")}`)).body.dueDate).toBe("2026-01-15");
  });

  it("replays the first answer for the same Idempotency-Key and body, and refuses the key with another body", async () => {
    const headers = { "Idempotency-Key": `batch-${suffix}-key` };
    const body = { loans: [loanRequest(id("k1")), loanRequest(id("k2"))] };
    const first = await lender.post("/v1/loans:batch", body, headers);
    expect(first.body.results.map((r: { status: number }) => r.status)).toEqual([201, 201]);
    const replay = await lender.post("/v1/loans:batch", body, headers);
    expect(replay.status).toBe(207);
    expect(replay.body).toEqual(first.body);
    const reused = await lender.post("/v1/loans:batch", { loans: [loanRequest(id("k3"))] }, headers);
    expect(reused.status).toBe(422);
    expect(reused.body.error.code).toBe("IDEMPOTENCY_KEY_REUSED");
  });

  it("refuses a request that is not a batch as a whole with 400", async () => {
    const tooMany = Array.from({ length: 501 }, (_, i) => loanRequest(id(`many${i}`)));
    const cases: [unknown, string][] = [
      [{ loans: tooMany }, "loans"],
      [{ loans: [] }, "loans"],
      [[loanRequest(id("x"))], ""],
      [{ loans: loanRequest(id("x")) }, "loans"],
      [{ loans: [loanRequest(id("x"))], extra: true }, ""],
    ];
    for (const [body, path] of cases) {
      const response = await lender.post("/v1/loans:batch", body);
      expect(response.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(response.body.error.code).toBe("VALIDATION_FAILED");
      if (path) expect(response.body.error.details[0].path).toBe(path);
    }
    expect((await lender.get(`/v1/loans/${id("many0")}`)).status).toBe(404);
  });

  it("is for lenders only, and keeps tenants apart", async () => {
    const ops = apiClient(stack.url, stack.keys.ops);
    expect((await ops.post("/v1/loans:batch", { loans: [loanRequest(id("t"))] })).status).toBe(403);
    expect((await apiClient(stack.url).post("/v1/loans:batch", { loans: [] })).status).toBe(401);

    // The same loan id in another tenant is a new loan there, and neither tenant sees the other's.
    const other = await otherLender.post("/v1/loans:batch", {
      loans: [loanRequest(id("a"), { dueDate: "2026-02-01" }), loanRequest(id("only-other"))],
    });
    expect(other.body.results.map((r: { outcome: string }) => r.outcome)).toEqual(["created", "created"]);
    expect((await lender.get(`/v1/loans/${id("a")}`)).body.dueDate).toBe("2026-01-15");
    expect((await otherLender.get(`/v1/loans/${id("a")}`)).body.dueDate).toBe("2026-02-01");
    expect((await lender.get(`/v1/loans/${id("only-other")}`)).status).toBe(404);
    expect(executionsOf("other", id("a"))).toHaveLength(1);
  });
});
