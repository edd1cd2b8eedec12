import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "../../infra/local/stack.ts";
import { apiClient, loanRequest } from "./client.ts";
import { startTestStack } from "./test-stack.ts";

// What the functions write to their logs, read the way CloudWatch Logs would hold it: one line per invocation
// at INFO, ids only — never a borrower's name, phone number or email address.
let stack: LocalStack;

beforeAll(async () => {
  ({ stack } = await startTestStack(`function-logs-${Date.now()}-`, "2026-01-05T00:00:00Z", {
    logLevel: "INFO",
  }));
});
afterAll(async () => stack?.stop());

describe("function logs", () => {
  it("say one line per step invocation, and carry no borrower details", async () => {
    const lender = apiClient(stack.url, stack.keys.lender);
    const request = loanRequest("LOG-1", {
      borrower: {
        name: "Zhang Xiuying",
        email: "zhang.xiuying@example.com",
        phone: "+8613912345678",
        locale: "zh-CN",
        timeZone: "Asia/Shanghai",
      },
    });
    expect((await lender.post("/v1/loans", request)).status).toBe(201);
    expect(
      (await apiClient(stack.url).post("/local/clock/advance", { to: "2026-01-20T00:00:00Z" })).status,
    ).toBe(200);

    const send = stack.lambdas.send;
    const lines = send.logs.map(
      (line) => JSON.parse(line) as { level: string; message: string; loanId?: string },
    );
    expect(send.invocations).toBeGreaterThan(3);
    expect(lines.filter((l) => l.level === "INFO")).toHaveLength(send.invocations);
    expect(lines.every((l) => l.loanId === "LOG-1")).toBe(true);

    const everything = Object.values(stack.lambdas)
      .flatMap((fn) => fn.logs)
      .join("\n");
    for (const detail of ["Zhang Xiuying", "zhang.xiuying@example.com", "+8613912345678", "13912345678"]) {
      expect(everything).not.toContain(detail);
    }
  });
});
