import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loanRequest } from "./client.ts";
import { startTestStack, type TestStack } from "./test-stack.ts";

/**
 * Lender webhooks on the embedded stack, on its frozen virtual clock: audit stream → announce → local SQS →
 * deliver → a receiver on 127.0.0.1. An advance returns once what fell due up to its target was attempted.
 */
interface Received {
  type: string;
  loanId: string;
  eventId: string;
}

let t: TestStack;
let receiver: Server;
let receiverUrl: string;
const received: Received[] = [];
/** How the receiver answers the next POSTs (then 200). */
const answers: number[] = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const status = answers.shift() ?? 200;
      if (status === 200) {
        const event = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        received.push({
          type: event.type,
          loanId: event.loanId,
          eventId: String(req.headers["dunning-event-id"]),
        });
      }
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
  t = await startTestStack(`hooks-${randomBytes(4).toString("hex")}-`);
});

afterAll(async () => {
  await t?.stack.stop();
  receiver?.close();
});

const advance = async (by: string) =>
  expect((await t.local.post("/local/clock/advance", { by })).status).toBe(200);

describe("lender webhooks on the embedded stack", () => {
  it("delivers a new loan's subscription to a registered endpoint within the advance", async () => {
    const created = await t.lender.post("/v1/webhooks", { url: receiverUrl, events: ["loan.subscribed"] });
    expect(created.status).toBe(201);
    expect((await t.lender.post("/v1/loans", loanRequest("L-HOOK-1"))).status).toBe(201);

    await advance("PT0S");
    expect(received.filter((event) => event.loanId === "L-HOOK-1").map((event) => event.type)).toEqual([
      "loan.subscribed",
    ]);
    expect(t.stack.webhooks.queue.size).toBe(0);
  });

  it("retries a failed delivery when the virtual clock reaches its retry, not before", async () => {
    answers.push(500);
    expect((await t.lender.post("/v1/loans", loanRequest("L-HOOK-2"))).status).toBe(201);
    await advance("PT0S");
    expect(received.filter((event) => event.loanId === "L-HOOK-2")).toEqual([]);
    // The first retry comes 30 s (±20%) later.
    await advance("PT20S");
    expect(received.filter((event) => event.loanId === "L-HOOK-2")).toEqual([]);
    await advance("PT20S");
    expect(received.filter((event) => event.loanId === "L-HOOK-2").map((event) => event.type)).toEqual([
      "loan.subscribed",
    ]);
    expect(t.stack.webhooks.queue.deadLetters).toEqual([]);
  });

  it("stays idle when nothing was written: no stream read, no function called", async () => {
    const announce = t.stack.lambdas.webhookAnnounce.invocations;
    const deliver = t.stack.lambdas.webhookDeliver.invocations;
    await advance("PT1H");
    await advance("PT0S");
    expect(t.stack.lambdas.webhookAnnounce.invocations).toBe(announce);
    expect(t.stack.lambdas.webhookDeliver.invocations).toBe(deliver);
  });
});
