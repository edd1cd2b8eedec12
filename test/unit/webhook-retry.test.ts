import { describe, expect, it } from "vitest";
import {
  afterAttempt,
  endpointAfterAttempt,
  KEPT_ATTEMPTS,
  RETRY_FOR_MS,
  retryDelayMs,
} from "../../functions/domain/webhooks/retry.ts";
import type {
  DeliveryAttempt,
  WebhookDelivery,
  WebhookEndpoint,
} from "../../functions/domain/webhooks/types.ts";

const T0 = Date.parse("2026-03-01T10:00:00Z");
const at = (ms: number) => new Date(T0 + ms);
const iso = (ms: number) => at(ms).toISOString().replace(".000Z", "Z");

function delivery(overrides: Partial<WebhookDelivery> = {}): WebhookDelivery {
  return {
    tenantId: "t",
    endpointId: "we_1",
    loanId: "L-1",
    sequence: 1,
    id: "wd_1_TC0x",
    event: {
      id: "evt_1",
      type: "loan.subscribed",
      createdAt: iso(0),
      tenantId: "t",
      loanId: "L-1",
      sequence: 1,
      data: {},
    },
    status: "pending",
    attempts: [],
    nextAttemptAt: iso(0),
    createdAt: iso(0),
    version: 0,
    ...overrides,
  };
}

const failed = (ms: number): DeliveryAttempt => ({
  at: iso(ms),
  statusCode: 500,
  error: "http_status",
  durationMs: 5,
});
const ok = (ms: number): DeliveryAttempt => ({ at: iso(ms), statusCode: 204, durationMs: 5 });

describe("webhook retries", () => {
  it("double from 30 s to an hour, with at most 20% jitter either way", () => {
    expect(retryDelayMs(1, 0.5)).toBe(30_000);
    expect(retryDelayMs(2, 0.5)).toBe(60_000);
    expect(retryDelayMs(8, 0.5)).toBe(3600_000);
    expect(retryDelayMs(40, 0.5)).toBe(3600_000);
    expect(retryDelayMs(1, 0)).toBe(24_000);
    expect(retryDelayMs(1, 1)).toBe(36_000);
  });

  it("deliver on a 2xx and plan the next attempt otherwise", () => {
    expect(afterAttempt(delivery(), ok(0), at(0), 0.5)).toMatchObject({
      status: "delivered",
      nextAttemptAt: null,
    });
    const retried = afterAttempt(delivery(), failed(0), at(0), 0.5);
    expect(retried).toMatchObject({ status: "pending", nextAttemptAt: iso(30_000), roundStartedAt: iso(0) });
    expect(retried.attemptCount).toBe(1);
  });

  it("give up once the next attempt would fall more than three days after the first", () => {
    let current = delivery();
    let now = 0;
    while (current.status === "pending") {
      current = afterAttempt(current, failed(now), at(now), 0.5);
      if (current.nextAttemptAt) now = Date.parse(current.nextAttemptAt) - T0;
    }
    expect(current.status).toBe("failed");
    expect(now).toBeLessThanOrEqual(RETRY_FOR_MS);
    expect(now).toBeGreaterThan(RETRY_FOR_MS - 3 * 3600_000);
    expect(current.attempts).toHaveLength(KEPT_ATTEMPTS);
    expect(current.attemptCount).toBeGreaterThan(KEPT_ATTEMPTS);
  });

  it("start a fresh round of three days on a redelivery", () => {
    const given = afterAttempt(
      delivery({ roundStartedAt: iso(0) }),
      failed(RETRY_FOR_MS),
      at(RETRY_FOR_MS),
      0.5,
    );
    expect(given.status).toBe("failed");
    const again = afterAttempt({ ...given, status: "pending" }, failed(RETRY_FOR_MS), at(RETRY_FOR_MS), 0.5);
    expect(again.status).toBe("failed");
    const { roundStartedAt: _dropped, ...fresh } = given;
    const renewed = afterAttempt(
      { ...fresh, status: "pending" },
      failed(RETRY_FOR_MS),
      at(RETRY_FOR_MS),
      0.5,
    );
    expect(renewed.status).toBe("pending");
  });
});

describe("endpoint health", () => {
  const endpoint: WebhookEndpoint = {
    tenantId: "t",
    id: "we_1",
    url: "https://example.com/hooks",
    events: ["*"],
    status: "enabled",
    createdAt: iso(0),
    secrets: [],
    failingSince: null,
    version: 1,
  };

  it("marks when failures began, clears it on a success, and disables after three days of failures", () => {
    const failing = endpointAfterAttempt(endpoint, false, at(0));
    expect(failing).toMatchObject({ changed: true, disable: false, next: { failingSince: iso(0) } });
    expect(endpointAfterAttempt(failing.next, false, at(RETRY_FOR_MS - 1000))).toMatchObject({
      changed: false,
    });
    const disabled = endpointAfterAttempt(failing.next, false, at(RETRY_FOR_MS));
    expect(disabled).toMatchObject({
      disable: true,
      next: { status: "disabled", disabledReason: "failing_for_3_days", disabledAt: iso(RETRY_FOR_MS) },
    });
    expect(endpointAfterAttempt(failing.next, true, at(60_000))).toMatchObject({
      changed: true,
      next: { failingSince: null },
    });
  });
});
