/* biome-ignore-all lint/suspicious/noExplicitAny: test responses are checked field by field */
import { randomBytes } from "node:crypto";
import { DateTime } from "luxon";
import { afterAll, beforeAll, expect, inject } from "vitest";
import { makeDocumentClient } from "../../functions/adapters/dynamo/client.ts";
import { DynamoPolicyRepository } from "../../functions/adapters/dynamo/policy-repository.ts";
import { DEFAULT_POLICY, type Policy } from "../../functions/domain/policy.ts";
import { type LocalStack, startLocalStack } from "../../infra/local/stack.ts";
import { apiClient, loanRequest } from "./client.ts";

/**
 * Shared harness of the lender-event workflow tests (events.test.ts, agreements.test.ts): one embedded stack
 * per file on a frozen virtual clock, dates relative to the clock's current instant (files share nothing,
 * tests in one file share the clock), and an outbox reader that checks every message against the contact
 * window of the borrower's zone.
 */

export const ZONE = "Asia/Shanghai";
export const CNY = (amount: string) => ({ amount, currency: "CNY" });

/** A policy with a late fee and penalty interest, stored for the demo tenant before any loan uses it. */
export const WITH_FEES: Policy = {
  ...DEFAULT_POLICY,
  id: "with-fees",
  version: 1,
  charges: { lateFee: "50.00", lateFeeAfterDays: 1, dailyPenaltyRate: "0.0005", capPercentOfPrincipal: "25" },
};

export interface Message {
  id: string;
  loanId: string;
  channel: "sms" | "email";
  to: string;
  subject?: string;
  body: string;
  sentAt: string;
  step: string;
  stage: string;
  locale: string;
}

export interface AuditEntry {
  seq: number;
  at: string;
  type: string;
  actor: string;
  data: any;
}

/** The contact window of the default policy, in borrower-local minutes: [08:00, 21:00). */
export function expectInsideWindow(message: Pick<Message, "sentAt" | "step" | "loanId">, zone: string) {
  const local = DateTime.fromISO(message.sentAt).setZone(zone);
  const minute = local.hour * 60 + local.minute;
  const where = `${message.loanId} ${message.step} at ${local.toISO()}`;
  expect(minute, `${where} before 08:00 local`).toBeGreaterThanOrEqual(8 * 60);
  expect(minute, `${where} at or after 21:00 local`).toBeLessThan(21 * 60);
}

/** `date` (YYYY-MM-DD) plus `days` calendar days. */
export function day(date: string, days: number): string {
  return DateTime.fromISO(date, { zone: "utc" }).plus({ days }).toISODate() as string;
}

/** The UTC instant of `hhmm` borrower-local time on `date`, as the API writes instants. */
export function instant(date: string, hhmm: string, zone = ZONE): string {
  const [hour, minute] = hhmm.split(":").map(Number);
  return DateTime.fromISO(date, { zone })
    .set({ hour: hour ?? 0, minute: minute ?? 0, second: 0, millisecond: 0 })
    .toUTC()
    .toISO({ suppressMilliseconds: true }) as string;
}

export const ms = (iso: string) => Date.parse(iso);

/** Messages sent at or after `iso`. */
export function sentSince(messages: Message[], iso: string): Message[] {
  return messages.filter((m) => ms(m.sentAt) >= ms(iso));
}

export function useEventStack(name: string) {
  let stack: LocalStack;
  let lender: ReturnType<typeof apiClient>;
  let local: ReturnType<typeof apiClient>;
  const zones = new Map<string, string>();

  beforeAll(async () => {
    const tablePrefix = `${name}-${randomBytes(4).toString("hex")}-`;
    const endpoint = inject("dynamoEndpoint");
    stack = await startLocalStack({
      clockStart: new Date("2026-01-05T00:00:00Z"),
      frozen: true,
      port: 0,
      dynamoEndpoint: endpoint,
      tablePrefix,
    });
    const policies = new DynamoPolicyRepository(makeDocumentClient({ endpoint }), {
      stateTable: `${tablePrefix}dunning-state`,
    });
    expect(await policies.put("demo", WITH_FEES)).toBe(true);
    lender = apiClient(stack.url, stack.keys.lender);
    local = apiClient(stack.url);
  });

  afterAll(async () => {
    await stack?.stop();
  });

  const h = {
    get stack() {
      return stack;
    },
    get lender() {
      return lender;
    },
    /** A loan id unique to this run. */
    id: (prefix: string) => `${prefix}-${randomBytes(3).toString("hex")}`,
    async now(): Promise<string> {
      const response = await local.get("/local/clock");
      return response.body.now as string;
    },
    /** The borrower-local calendar date at the clock's current instant. */
    async today(zone = ZONE): Promise<string> {
      return DateTime.fromISO(await h.now())
        .setZone(zone)
        .toISODate() as string;
    },
    async advanceTo(to: string) {
      const response = await local.post("/local/clock/advance", { to });
      expect(response.status, JSON.stringify(response.body)).toBe(200);
    },
    /** Lets every execution started by the last request run what is due now. */
    async settle() {
      const response = await local.post("/local/clock/advance", { by: "PT0S" });
      expect(response.status, JSON.stringify(response.body)).toBe(200);
    },
    async subscribe(loanId: string, overrides: Record<string, any> = {}) {
      const request = loanRequest(loanId, overrides);
      zones.set(loanId, (request.borrower as { timeZone: string }).timeZone);
      const response = await lender.post("/v1/loans", request);
      expect(response.status, JSON.stringify(response.body)).toBe(201);
      return response.body;
    },
    event: (loanId: string, body: Record<string, unknown>, headers?: Record<string, string>) =>
      lender.post(`/v1/loans/${loanId}/events`, body, headers),
    /** Posts an event that must be applied: 200 and the updated LoanCase. */
    async apply(loanId: string, body: Record<string, unknown>) {
      const response = await h.event(loanId, body);
      expect(response.status, `${body.type}: ${JSON.stringify(response.body)}`).toBe(200);
      return response.body;
    },
    async loan(loanId: string) {
      const response = await lender.get(`/v1/loans/${loanId}`);
      expect(response.status).toBe(200);
      return response.body;
    },
    /** The loan's outbox; every message is checked against the contact window in the borrower's zone. */
    async messages(loanId: string): Promise<Message[]> {
      const response = await local.get(`/local/outbox?loanId=${encodeURIComponent(loanId)}`);
      expect(response.status).toBe(200);
      const messages = response.body.messages as Message[];
      for (const message of messages) expectInsideWindow(message, zones.get(loanId) ?? ZONE);
      return messages;
    },
    /** Every message of every loan subscribed through this harness, each checked against the window. */
    async allMessages(): Promise<Message[]> {
      const all: Message[] = [];
      for (const loanId of zones.keys()) all.push(...(await h.messages(loanId)));
      return all;
    },
    async audit(loanId: string): Promise<AuditEntry[]> {
      const response = await lender.get(`/v1/loans/${loanId}/audit`);
      expect(response.status).toBe(200);
      return response.body.entries as AuditEntry[];
    },
    async auditTypes(loanId: string): Promise<string[]> {
      return (await h.audit(loanId)).map((e) => e.type);
    },
  };
  return h;
}
