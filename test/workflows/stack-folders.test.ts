import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiClient, loanRequest } from "./client.ts";
import { startTestStack, type TestStack } from "./test-stack.ts";

// Each stack keeps to itself: without a data folder it writes into a private one removed at stop, and a hand-off
// package is served (or acknowledged) only if its hash is the one the case's trail recorded.
let one: TestStack;
let two: TestStack;

beforeAll(async () => {
  one = await startTestStack(`folders-one-${Date.now()}-`);
  two = await startTestStack(`folders-two-${Date.now()}-`);
});
afterAll(async () => {
  await one?.stack.stop();
  await two?.stack.stop();
});

const handOff = async (t: TestStack, loanId: string, amount: string) => {
  const request = loanRequest(loanId, { amountDue: { amount, currency: "CNY" } });
  expect((await t.lender.post("/v1/loans", request)).status).toBe(201);
  const ended = await t.lender.post(`/v1/loans/${loanId}/events`, { type: "bankruptcy" });
  expect(ended.body.status).toBe("legal");
};

describe("stack folders", () => {
  it("gives each stack a private folder of its own, gone after stop", async () => {
    expect(one.stack.handoffDir).not.toBe(two.stack.handoffDir);
    expect(one.stack.handoffDir.startsWith(join(tmpdir(), "handoffs"))).toBe(false);
    const other = await startTestStack(`folders-three-${Date.now()}-`);
    await handOff(other, "SF-GONE", "100.00");
    const legal = apiClient(other.stack.url, other.stack.keys.legal);
    expect((await legal.get("/v1/handoffs/SF-GONE")).status).toBe(200);
    const folder = other.stack.handoffDir;
    expect(existsSync(folder)).toBe(true);
    await other.stack.stop();
    expect(existsSync(folder)).toBe(false);
  });

  it("never serves or acknowledges a package other than the one the trail recorded", async () => {
    await handOff(one, "SF-1", "100.00");
    await handOff(two, "SF-1", "999.00");
    const legalOne = apiClient(one.stack.url, one.stack.keys.legal);
    const own = await legalOne.get("/v1/handoffs/SF-1");
    expect(own.status).toBe(200);
    expect(JSON.stringify(own.body)).toContain('"100.00"');
    expect(JSON.stringify(own.body)).not.toContain('"999.00"');

    // Another package where this stack's one was (as a shared folder once allowed).
    const mine = join(one.stack.handoffDir, "demo", "SF-1.json");
    writeFileSync(mine, readFileSync(join(two.stack.handoffDir, "demo", "SF-1.json")));
    const served = await legalOne.get("/v1/handoffs/SF-1");
    expect([served.status, served.body.error?.code]).toEqual([409, "HANDOFF_PACKAGE_MISMATCH"]);
    const ack = await legalOne.post("/v1/handoffs/SF-1/ack");
    expect([ack.status, ack.body.error?.code]).toEqual([409, "HANDOFF_PACKAGE_MISMATCH"]);
    const trail = (await one.lender.get("/v1/loans/SF-1/audit")).body.entries as { type: string }[];
    expect(trail.map((e) => e.type)).not.toContain("handoff_acknowledged");
  });
});
