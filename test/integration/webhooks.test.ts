import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DynamoCaseRepository } from "../../functions/adapters/dynamo/case-repository.ts";
import { TenantAuditLog } from "../../functions/adapters/dynamo/tenant-audit.ts";
import { DynamoWebhookStore } from "../../functions/adapters/dynamo/webhook-store.ts";
import { HttpWebhookTransport } from "../../functions/adapters/webhooks/http-transport.ts";
import { LocalSecretBox } from "../../functions/adapters/webhooks/secret-boxes.ts";
import { recordPayment } from "../../functions/domain/case-payment.ts";
import { money } from "../../functions/domain/money.ts";
import { toInstant } from "../../functions/domain/time.ts";
import type { DeliveryLine, LenderEvent } from "../../functions/domain/webhooks/types.ts";
import type { DeliveryQueue } from "../../functions/ports/webhooks.ts";
import type { Principal } from "../../functions/ports.ts";
import { announceLoans } from "../../functions/usecases/webhooks/announce.ts";
import { type DeliverDeps, deliverLine } from "../../functions/usecases/webhooks/deliver.ts";
import {
  createWebhook,
  deleteWebhook,
  listWebhookDeliveries,
  redeliver,
  rotateWebhookSecret,
  type WebhookAdminDeps,
} from "../../functions/usecases/webhooks/endpoints.ts";
import { verifyDunningSignature } from "../../webhooks/verify.mjs";
import { type FreshTables, freshTables } from "../support/dynamo.ts";
import { subscription, T0, uniqueLoanId } from "./fixtures.ts";

/** The queue as the use cases see it: which lines were woken, and for when. */
class RecordingQueue implements DeliveryQueue {
  readonly woken: { line: DeliveryLine; notBefore?: string }[] = [];
  async enqueue(lines: DeliveryLine[], notBefore?: string): Promise<void> {
    for (const line of lines) this.woken.push({ line, ...(notBefore ? { notBefore } : {}) });
  }
}

interface Received {
  event: LenderEvent;
  raw: string;
  signature: string;
}

/** A lender's receiver on loopback that can be switched to answering 503. */
function receiver() {
  const received: Received[] = [];
  let down = false;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (down) {
        res.writeHead(503).end("down for maintenance");
        return;
      }
      const raw = Buffer.concat(chunks).toString("utf8");
      received.push({ event: JSON.parse(raw), raw, signature: String(req.headers["dunning-signature"]) });
      res.writeHead(204).end();
    });
  });
  return {
    received,
    setDown: (value: boolean) => {
      down = value;
    },
    async start() {
      await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
    },
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

const TENANT = "hooks";
const lender: Principal = { tenantId: TENANT, role: "lender", keyId: "k1" } as Principal;

let db: FreshTables;
let now: Date;
const clock = { now: () => now };
let queue: RecordingQueue;
let admin: WebhookAdminDeps;
let sender: DeliverDeps;
let cases: DynamoCaseRepository;
const lenderSide = receiver();
let url: string;

beforeAll(async () => {
  db = await freshTables();
  now = T0;
  queue = new RecordingQueue();
  const store = new DynamoWebhookStore(
    db.client,
    db,
    new TenantAuditLog(db.client, db, { now: clock.now }),
    clock,
  );
  const secrets = new LocalSecretBox(randomBytes(32).toString("base64"));
  admin = { webhooks: store, secrets, queue, clock, allowLoopback: true };
  sender = {
    ...admin,
    transport: new HttpWebhookTransport({ allowLoopback: true, timeoutMs: 2_000 }),
    wallClockMs: () => Date.now(),
    random: () => 0.5,
  };
  cases = new DynamoCaseRepository(db.client, db);
  url = await lenderSide.start();
});

afterAll(() => lenderSide.close());

async function drain(): Promise<void> {
  // Work every line that was woken and is due, as the queue consumer would, until none is.
  for (let round = 0; round < 50; round++) {
    const due = queue.woken.filter((w) => !w.notBefore || Date.parse(w.notBefore) <= now.getTime());
    if (due.length === 0) return;
    queue.woken.splice(0, queue.woken.length, ...queue.woken.filter((w) => !due.includes(w)));
    for (const { line } of due) await deliverLine(sender, line);
  }
}

describe("webhooks over DynamoDB Local and a real receiver", () => {
  it("announces a loan's trail in sequence, signed, and nothing twice", async () => {
    const created = await createWebhook(admin, lender, { url, events: ["*"] });
    const loanId = uniqueLoanId("hook");
    const stored = await cases.create(subscription(TENANT, loanId, now), toInstant(now));
    if (!stored.created) throw new Error("not created");
    now = new Date(now.getTime() + 60_000);
    const paid = recordPayment(stored.case, money("1250.00", "CNY"), toInstant(now), "lender:k1", now);
    await cases.update(stored.case, paid, toInstant(now));

    expect(await announceLoans(admin, [{ tenantId: TENANT, loanId }])).toBeGreaterThan(0);
    // A repeated stream record announces nothing more.
    expect(await announceLoans(admin, [{ tenantId: TENANT, loanId }])).toBe(0);
    await drain();

    const mine = lenderSide.received.filter((r) => r.event.loanId === loanId);
    expect(mine.map((r) => r.event.sequence)).toEqual(mine.map((_, i) => i + 1));
    expect(mine.map((r) => r.event.type)).toContain("loan.subscribed");
    expect(mine.map((r) => r.event.type)).toContain("loan.paid");
    for (const r of mine) {
      expect(verifyDunningSignature({ header: r.signature, rawBody: r.raw, secret: created.secret })).toBe(
        true,
      );
      expect(
        verifyDunningSignature({ header: r.signature, rawBody: `${r.raw} `, secret: created.secret }),
      ).toBe(false);
    }
    await deleteWebhook(admin, lender, created.id);
  });

  it("holds a line while its receiver is down, retries with back-off, then delivers in order", async () => {
    const created = await createWebhook(admin, lender, { url, events: ["*"] });
    const loanId = uniqueLoanId("down");
    const stored = await cases.create(subscription(TENANT, loanId, now), toInstant(now));
    if (!stored.created) throw new Error("not created");
    lenderSide.setDown(true);
    await announceLoans(admin, [{ tenantId: TENANT, loanId }]);
    await drain();
    const waiting = queue.woken.filter((w) => w.line.loanId === loanId);
    expect(waiting).toHaveLength(1);
    expect(Date.parse(waiting[0]?.notBefore ?? "")).toBeGreaterThan(now.getTime());

    // Two hours of a receiver that answers 503: each retry waits longer than the one before.
    for (let minute = 0; minute < 120; minute++) {
      now = new Date(now.getTime() + 60_000);
      await drain();
    }
    const listed = await listWebhookDeliveries(admin, lender, created.id, { loanId, limit: 50 });
    const first = listed.items[0];
    expect(first?.status).toBe("pending");
    expect(first?.attemptCount).toBeGreaterThan(4);
    expect(first?.attempts.every((a) => a.statusCode === 503 && a.error === "http_status")).toBe(true);
    expect(first?.attempts[0]?.responseBody).toBe("down for maintenance");
    // Nothing after the first event was tried while it was failing.
    expect(listed.items.slice(1).every((d) => d.attemptCount === 0)).toBe(true);

    lenderSide.setDown(false);
    now = new Date(now.getTime() + 3600_000);
    await drain();
    const mine = lenderSide.received.filter((r) => r.event.loanId === loanId);
    expect(mine.map((r) => r.event.sequence)).toEqual(listed.items.map((d) => d.sequence));

    // A redelivery sends the same event again.
    const again = await redeliver(admin, lender, created.id, listed.items[0]?.id ?? "");
    expect(again.status).toBe("pending");
    await drain();
    const copies = lenderSide.received.filter((r) => r.event.id === mine[0]?.event.id);
    expect(copies).toHaveLength(2);
    await deleteWebhook(admin, lender, created.id);
  });

  it("signs with both secrets for a day after a rotation, and a deleted endpoint hears nothing more", async () => {
    const created = await createWebhook(admin, lender, { url, events: ["loan.subscribed"] });
    const rotated = await rotateWebhookSecret(admin, lender, created.id);
    const loanId = uniqueLoanId("rot");
    const stored = await cases.create(subscription(TENANT, loanId, now), toInstant(now));
    if (!stored.created) throw new Error("not created");
    await announceLoans(admin, [{ tenantId: TENANT, loanId }]);
    await drain();
    const [got] = lenderSide.received.filter((r) => r.event.loanId === loanId);
    expect(got?.event.type).toBe("loan.subscribed");
    for (const secret of [created.secret, rotated.secret]) {
      expect(verifyDunningSignature({ header: got?.signature ?? "", rawBody: got?.raw ?? "", secret })).toBe(
        true,
      );
    }
    await deleteWebhook(admin, lender, created.id);
    const later = uniqueLoanId("gone");
    await cases.create(subscription(TENANT, later, now), toInstant(now));
    expect(await announceLoans(admin, [{ tenantId: TENANT, loanId: later }])).toBe(0);
  });
});
