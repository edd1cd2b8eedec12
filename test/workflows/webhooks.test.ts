/* biome-ignore-all lint/suspicious/noExplicitAny: response bodies are checked field by field */
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { DynamoApiKeyStore } from "../../functions/adapters/dynamo/api-key-store.ts";
import { makeDocumentClient } from "../../functions/adapters/dynamo/client.ts";
import { verifyDunningSignature } from "../../webhooks/verify.mjs";
import { apiClient, loanRequest } from "./client.ts";
import { startTestStack, type TestStack } from "./test-stack.ts";

/**
 * Lender webhooks on the embedded stack, over real HTTP both ways: the audit stream of DynamoDB Local feeds the
 * announce function, the delivery queue runs on the virtual clock, and a lender's receiver listens on loopback
 * and checks every signature with the documented recipe.
 */
interface Received {
  body: any;
  raw: string;
  signature: string;
  verified: boolean;
}

function lenderReceiver() {
  const received: Received[] = [];
  const state = { down: false, secret: "" };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      if (state.down) {
        res.writeHead(503).end();
        return;
      }
      const raw = Buffer.concat(chunks).toString("utf8");
      const signature = String(req.headers["dunning-signature"] ?? "");
      const verified = verifyDunningSignature({ header: signature, rawBody: raw, secret: state.secret });
      received.push({ body: JSON.parse(raw), raw, signature, verified });
      res.writeHead(verified ? 200 : 400).end();
    });
  });
  return {
    received,
    state,
    async start(): Promise<string> {
      await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}/dunning`;
    },
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
    of: (loanId: string) => received.filter((r) => r.body.loanId === loanId),
  };
}

let test: TestStack;
const receiver = lenderReceiver();
let url: string;
let otherLender: ReturnType<typeof apiClient>;

beforeAll(async () => {
  const tablePrefix = `wh-${randomBytes(4).toString("hex")}-`;
  test = await startTestStack(tablePrefix);
  url = await receiver.start();
  const otherKey = `dk_other_lender_${randomBytes(12).toString("hex")}`;
  await new DynamoApiKeyStore(makeDocumentClient({ endpoint: inject("dynamoEndpoint") }), {
    stateTable: `${tablePrefix}dunning-state`,
  }).put(otherKey, { tenantId: "other", role: "lender" });
  otherLender = apiClient(test.stack.url, otherKey);
});

afterAll(async () => {
  await test?.stack.stop();
  await receiver.close();
});

const advanceTo = (to: string) => test.local.post("/local/clock/advance", { to });

async function register(events: string[] = ["*"]) {
  const created = await test.lender.post("/v1/webhooks", { url, events, description: "ledger" });
  expect(created.status).toBe(201);
  receiver.state.secret = created.body.secret;
  return created.body;
}

/** Every delivery of an endpoint for one loan, as the API lists them. */
async function deliveriesOf(webhookId: string, loanId: string): Promise<any[]> {
  const listed = await test.lender.get(`/v1/webhooks/${webhookId}/deliveries?loanId=${loanId}&limit=100`);
  expect(listed.status).toBe(200);
  return listed.body.items;
}

describe("lender webhooks on the embedded stack", () => {
  it("refuses what cannot be an endpoint and stores nothing", async () => {
    for (const bad of [
      { url: "http://10.0.0.8/hooks", events: ["*"] },
      { url: "http://169.254.169.254/latest", events: ["*"] },
      { url: "ftp://127.0.0.1/x", events: ["*"] },
      { url, events: ["loan.exploded"] },
      { url, events: ["*", "loan.paid"] },
      { url, events: [] },
    ]) {
      const answer = await test.lender.post("/v1/webhooks", bad);
      expect(answer.status, JSON.stringify(bad)).toBe(400);
      expect(answer.body.error.code).toBe("VALIDATION_FAILED");
    }
    expect((await test.lender.get("/v1/webhooks")).body.items).toEqual([]);
    expect((await test.ops.post("/v1/webhooks", { url, events: ["*"] })).status).toBe(403);
  });

  it("answers a repeated create with the same endpoint, and shows its secret only the first time", async () => {
    const headers = { "idempotency-key": `wh-${randomBytes(6).toString("hex")}` };
    const body = { url, events: ["loan.paid"] };
    const first = await test.lender.post("/v1/webhooks", body, headers);
    const again = await test.lender.post("/v1/webhooks", body, headers);
    expect(first.status).toBe(201);
    expect(first.body.secret).toMatch(/^whsec_/);
    expect(again.status).toBe(201);
    expect(again.body.id).toBe(first.body.id);
    expect(again.body.secret).toBeUndefined();
    expect((await test.lender.get("/v1/webhooks")).body.items).toHaveLength(1);
    expect((await test.lender.call("DELETE", `/v1/webhooks/${first.body.id}`)).status).toBe(204);
  });

  it("announces a loan's whole life up to the hand-off, in sequence and signed; secrets are shown once", async () => {
    const endpoint = await register();
    expect(endpoint.secret).toMatch(/^whsec_/);
    const shown = await test.lender.get(`/v1/webhooks/${endpoint.id}`);
    expect(shown.body).toMatchObject({ id: endpoint.id, url, events: ["*"], status: "enabled" });
    expect(JSON.stringify(shown.body)).not.toContain(endpoint.secret);
    expect((await otherLender.get(`/v1/webhooks/${endpoint.id}`)).status).toBe(404);

    const loanId = `WH-${randomBytes(3).toString("hex")}`;
    expect((await test.lender.post("/v1/loans", loanRequest(loanId))).status).toBe(201);
    await advanceTo("2026-03-15T00:00:00Z");

    const loan = await test.lender.get(`/v1/loans/${loanId}`);
    expect(loan.body.status).toBe("legal");
    const got = receiver.of(loanId);
    expect(got.length).toBeGreaterThan(5);
    expect(got.every((r) => r.verified)).toBe(true);
    expect(got.map((r) => r.body.sequence)).toEqual(got.map((_, index) => index + 1));
    const types = got.map((r) => r.body.type);
    expect(types[0]).toBe("loan.subscribed");
    expect(types).toEqual(expect.arrayContaining(["message.sent", "loan.stage_changed", "loan.handed_off"]));
    expect(got.find((r) => r.body.type === "loan.status_changed")?.body.data).toMatchObject({
      from: "active",
      to: "legal",
    });
    // Every event the trail gave rise to was delivered once, and no event carries the borrower's contact data.
    const listed = await deliveriesOf(endpoint.id, loanId);
    expect(listed.every((d) => d.status === "delivered")).toBe(true);
    expect(listed.map((d) => d.eventId)).toEqual(got.map((r) => r.body.id));
    const raw = got.map((r) => r.raw).join("\n");
    for (const pii of [loanRequest(loanId).borrower.name, loanRequest(loanId).borrower.phone]) {
      expect(raw).not.toContain(pii);
    }

    // A body changed on the way fails the recipe.
    const first = got[0] as Received;
    const forged = first.raw.replace('"loan.subscribed"', '"loan.paid"');
    expect(
      verifyDunningSignature({ header: first.signature, rawBody: forged, secret: endpoint.secret }),
    ).toBe(false);
    expect((await test.lender.call("DELETE", `/v1/webhooks/${endpoint.id}`)).status).toBe(204);
  });

  it("holds a loan's events while the receiver is down for two hours, then delivers them all in order", async () => {
    const endpoint = await register();
    const loanId = `WD-${randomBytes(3).toString("hex")}`;
    const now = (await test.local.get("/local/clock")).body.now as string;
    const due = new Date(Date.parse(now) + 40 * 86400_000).toISOString().slice(0, 10);
    receiver.state.down = true;
    expect((await test.lender.post("/v1/loans", loanRequest(loanId, { dueDate: due }))).status).toBe(201);
    const payment = {
      type: "payment",
      eventId: `pay-${loanId}`,
      amount: { amount: "1250.00", currency: "CNY" },
    };
    expect((await test.lender.post(`/v1/loans/${loanId}/events`, payment)).status).toBe(200);
    await advanceTo(new Date(Date.parse(now) + 2 * 3600_000).toISOString());
    expect(receiver.of(loanId)).toEqual([]);
    const waiting = await deliveriesOf(endpoint.id, loanId);
    expect(waiting[0].attemptCount).toBeGreaterThan(3);
    expect(waiting[0].attempts.every((a: any) => a.statusCode === 503)).toBe(true);
    expect(waiting[0].nextAttemptAt).not.toBeNull();
    expect(waiting.slice(1).every((d) => d.attemptCount === 0)).toBe(true);

    receiver.state.down = false;
    await advanceTo(new Date(Date.parse(now) + 4 * 3600_000).toISOString());
    const got = receiver.of(loanId);
    expect(got.map((r) => r.body.sequence)).toEqual(waiting.map((d) => d.sequence));
    expect(got.map((r) => r.body.type)).toEqual(expect.arrayContaining(["loan.subscribed", "loan.paid"]));
    expect(got.every((r) => r.verified)).toBe(true);
    expect((await deliveriesOf(endpoint.id, loanId)).every((d) => d.status === "delivered")).toBe(true);

    // Deleted: the next events of the loan go nowhere.
    expect((await test.lender.call("DELETE", `/v1/webhooks/${endpoint.id}`)).status).toBe(204);
    const before = receiver.received.length;
    const other = `WX-${randomBytes(3).toString("hex")}`;
    expect((await test.lender.post("/v1/loans", loanRequest(other, { dueDate: due }))).status).toBe(201);
    await advanceTo(new Date(Date.parse(now) + 5 * 3600_000).toISOString());
    expect(receiver.received.length).toBe(before);
    expect((await test.lender.get(`/v1/webhooks/${endpoint.id}`)).status).toBe(404);
  });
});
