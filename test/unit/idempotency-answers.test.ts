import type { APIGatewayProxyResult } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { type ApiEvent, withIdempotency } from "../../functions/api/app.ts";
import { json } from "../../functions/api/http.ts";
import { ConcurrentUpdateError } from "../../functions/domain/errors.ts";
import type { IdempotencyRecord, IdempotencyStore, Principal } from "../../functions/ports.ts";

/** The idempotency store's contract, in memory. */
class MemoryIdempotencyStore implements IdempotencyStore {
  readonly records = new Map<string, IdempotencyRecord>();
  async begin(tenantId: string, key: string, fingerprint: string) {
    const existing = this.records.get(`${tenantId}/${key}`);
    if (existing) return { acquired: false as const, record: existing };
    this.records.set(`${tenantId}/${key}`, {
      fingerprint,
      state: "in_progress",
      lockedUntil: Date.now() + 60_000,
    });
    return { acquired: true as const };
  }
  async complete(tenantId: string, key: string, response: { statusCode: number; body: string }) {
    const record = this.records.get(`${tenantId}/${key}`);
    if (record) this.records.set(`${tenantId}/${key}`, { ...record, state: "completed", response });
  }
  async release(tenantId: string, key: string) {
    this.records.delete(`${tenantId}/${key}`);
  }
}

const principal: Principal = { tenantId: "demo", role: "lender", keyId: "k1" };
const event = {
  httpMethod: "POST",
  path: "/v1/loans/L-1/events",
  headers: { "idempotency-key": "retry-me" },
  jsonBody: { type: "payment", amount: { amount: "10.00", currency: "CNY" } },
} as unknown as ApiEvent;

describe("Idempotency-Key answers", () => {
  it.each([
    ["a concurrent update (409)", () => Promise.reject(new ConcurrentUpdateError("changed meanwhile"))],
    [
      "throttling (429)",
      () => Promise.resolve(json(429, { error: { code: "RATE_LIMITED", message: "slow" } })),
    ],
    [
      "the store unavailable (503)",
      () => Promise.resolve(json(503, { error: { code: "UNAVAILABLE", message: "x" } })),
    ],
  ])("%s is not kept: the same request retried later succeeds", async (_, transient) => {
    const store = new MemoryIdempotencyStore();
    const first = await withIdempotency(
      store,
      event,
      principal,
      transient as () => Promise<APIGatewayProxyResult>,
    );
    expect(first.statusCode).toBeGreaterThanOrEqual(409);
    const second = await withIdempotency(store, event, principal, async () => json(200, { ok: true }));
    expect([second.statusCode, JSON.parse(second.body)]).toEqual([200, { ok: true }]);
    const replayed = await withIdempotency(store, event, principal, async () => json(500, {}));
    expect([replayed.statusCode, replayed.headers?.["idempotent-replayed"]]).toEqual([200, "true"]);
  });

  it("keeps a final refusal as the key's answer", async () => {
    const store = new MemoryIdempotencyStore();
    const refused = json(409, { error: { code: "CASE_STATE_CONFLICT", message: "the case is paid" } });
    await withIdempotency(store, event, principal, async () => refused);
    const again = await withIdempotency(store, event, principal, async () => json(200, { ok: true }));
    expect(again.statusCode).toBe(409);
    expect(again.headers?.["idempotent-replayed"]).toBe("true");
  });
});
