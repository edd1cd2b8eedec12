import { describe, expect, it } from "vitest";
import { duplicateKey } from "../../functions/api/duplicate-keys.ts";
import { subscribeSchema } from "../../functions/contracts/requests.ts";
import { Outbox } from "../../infra/local/outbox.ts";

const request = (borrower: Record<string, unknown>) => ({
  loanId: "Z-1",
  borrower: {
    name: "Li Wei",
    phone: "+8613800138000",
    locale: "zh-CN",
    timeZone: "Asia/Shanghai",
    ...borrower,
  },
  amountDue: { amount: "100.00", currency: "CNY" },
  dueDate: "2026-01-15",
});

describe("what the edge accepts", () => {
  it.each(["UTC+5", "local", "system", "Mars/Olympus", ""])("refuses %j as a time zone", (timeZone) => {
    const parsed = subscribeSchema.safeParse(request({ timeZone }));
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => i.path.join("."))).toEqual(["borrower.timeZone"]);
  });

  it.each([
    ["asia/shanghai", "Asia/Shanghai"],
    ["US/Eastern", "America/New_York"],
    ["Europe/London", "Europe/London"],
  ])("stores %s as its canonical spelling %s", (timeZone, canonical) => {
    expect(subscribeSchema.parse(request({ timeZone })).borrower.timeZone).toBe(canonical);
  });

  it.each(["Li\r\nBcc: x@example.com", "Li\tWei", "Li\u0000"])(
    "refuses control characters in a name (%j)",
    (name) => {
      const parsed = subscribeSchema.safeParse(request({ name }));
      expect(parsed.error?.issues.map((i) => i.path.join("."))).toEqual(["borrower.name"]);
    },
  );
});

describe("the outbox's provider message ids", () => {
  it("stay unique across restarts of the stack", async () => {
    const clock = { now: () => new Date("2026-01-05T00:00:00Z") };
    const message = {
      tenantId: "demo",
      loanId: "L-1",
      step: "pre_due_7",
      stage: "pre_due",
      channel: "email" as const,
      locale: "en-US" as const,
      to: "a@example.com",
      body: "hello",
    };
    const first = await new Outbox(clock).send(message);
    const afterRestart = await new Outbox(clock).send(message);
    expect(first.providerMessageId).not.toBe(afterRestart.providerMessageId);
  });
});

describe("duplicate JSON keys", () => {
  it.each([
    ['{"loanId":"D-1","loanId":"D-2"}', "loanId"],
    ['{"a":{"b":1, "b" :2}}', "b"],
    ['{"a":[{"x":1},{"x":2}],"b":{"x":"\\"x\\":"},"a":0}', "a"],
  ])("finds the key named twice in one object of %s", (text, key) => {
    expect(duplicateKey(text)).toBe(key);
  });

  it.each(['{"a":1,"b":{"a":2}}', '[{"a":1},{"a":2}]', '{"a":"\\"a\\":1","b":["a","a"]}', '"a"', "{}"])(
    "accepts %s",
    (text) => {
      expect(duplicateKey(text)).toBeNull();
    },
  );
});
