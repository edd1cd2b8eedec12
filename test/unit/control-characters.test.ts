import { describe, expect, it } from "vitest";
import { eventSchema, policyUpdateSchema } from "../../functions/contracts/requests.ts";
import { DEFAULT_POLICY } from "../../functions/domain/policy.ts";

// Text that reaches a message, a header or a log line carries no control characters (a CR/LF there splits a
// header or forges a log line); a template keeps its own line breaks.
describe("control characters at the edge", () => {
  it("refuses an event id with a line break or another control character", () => {
    const payment = { type: "payment", amount: { amount: "10.00", currency: "CNY" } };
    expect(eventSchema.safeParse({ ...payment, eventId: "pay-1" }).success).toBe(true);
    for (const eventId of ["pay-1\r\nX-Evil: 1", "pay\u0000", "pay\t1"]) {
      expect(eventSchema.safeParse({ ...payment, eventId }).success, JSON.stringify(eventId)).toBe(false);
    }
  });

  it("lets a template keep its line breaks and refuses a CR, a NUL or an escape", () => {
    const { id: _id, version: _version, ...rules } = DEFAULT_POLICY;
    const withSms = (body: string) => ({
      ...rules,
      templates: { reminder: { "en-US": { sms: { body } } } },
    });
    expect(policyUpdateSchema.safeParse(withSms("Hi {{name}},\nplease pay.")).success).toBe(true);
    for (const body of ["Hi\r\nthere", "Hi\u0000", "Hi\u001b[31m"]) {
      expect(policyUpdateSchema.safeParse(withSms(body)).success, JSON.stringify(body)).toBe(false);
    }
    expect(policyUpdateSchema.safeParse({ ...rules, comment: "moved D+3\r\nforged" }).success).toBe(false);
  });
});
