import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loanRequest } from "./client.ts";
import { startTestStack, type TestStack } from "./test-stack.ts";

// An eventId means one event for the case's whole life: a repeat answers the case as it is, another body under
// the same id is refused.
let t: TestStack;

beforeAll(async () => {
  t = await startTestStack(`event-ids-${Date.now()}-`);
});
afterAll(async () => t?.stack.stop());

const pay = (loanId: string, amount: string, eventId: string) =>
  t.lender.post(`/v1/loans/${loanId}/events`, {
    type: "payment",
    amount: { amount, currency: "CNY" },
    eventId,
  });
const paymentsWith = async (loanId: string, eventId: string) =>
  (
    (await t.lender.get(`/v1/loans/${loanId}/audit`)).body.entries as {
      type: string;
      data: { eventId?: string };
    }[]
  ).filter((e) => e.type === "payment_received" && e.data.eventId === eventId).length;

describe("event ids", () => {
  it("refuses an id reused with another body, and answers a repeat as it is", async () => {
    const loanId = "EV-1";
    expect((await t.lender.post("/v1/loans", loanRequest(loanId))).status).toBe(201);
    expect((await pay(loanId, "100.00", "pay-1")).body.balance.amount).toBe("1150.00");
    const repeat = await pay(loanId, "100.00", "pay-1");
    expect([repeat.status, repeat.body.balance.amount]).toEqual([200, "1150.00"]);
    const other = await pay(loanId, "500.00", "pay-1");
    expect([other.status, other.body.error.code]).toEqual([409, "EVENT_ID_REUSED"]);
    const withdrawn = await t.lender.post(`/v1/loans/${loanId}/events`, {
      type: "withdrawn",
      eventId: "pay-1",
    });
    expect(withdrawn.body.error.code).toBe("EVENT_ID_REUSED");
    expect((await t.lender.get(`/v1/loans/${loanId}`)).body).toMatchObject({
      status: "active",
      balance: { amount: "1150.00" },
    });
    expect(await paymentsWith(loanId, "pay-1")).toBe(1);
  });

  it("remembers an id for the case's whole life, past many other events", async () => {
    const loanId = "EV-2";
    expect((await t.lender.post("/v1/loans", loanRequest(loanId))).status).toBe(201);
    expect((await pay(loanId, "1.00", "first")).status).toBe(200);
    for (let i = 0; i < 55; i++) expect((await pay(loanId, "1.00", `later-${i}`)).status).toBe(200);
    expect((await pay(loanId, "1.00", "first")).body.balance.amount).toBe("1194.00");
    expect(await paymentsWith(loanId, "first")).toBe(1);
    expect((await pay(loanId, "2.00", "first")).body.error.code).toBe("EVENT_ID_REUSED");
  });
});
