import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { apiClient } from "../workflows/client.ts";
import { npmStart, type StartedStack } from "./npm-start.ts";

/**
 * The store going away, as an operator meets it on `npm start`: paused, the API answers 503 with Retry-After
 * (not 500, not a hang) and /health says so; back, everything answers again; killed, the stack ends non-zero.
 */
const LENDER_KEY = "store-failure-lender-key-0123456789";
let stack: StartedStack | undefined;

afterAll(async () => {
  await stack?.kill("SIGKILL").catch(() => {});
});

/** The Java process of the DynamoDB Local listening on `port`. */
function javaPid(port: string): number {
  const out = execFileSync("pgrep", ["-f", `DynamoDBLocal.jar.*-port ${port}`], { encoding: "utf8" });
  // The watchdog shell carries the same arguments; the one to pause is the JVM itself.
  const pids = out.trim().split("\n").map(Number);
  const java = pids.find((pid) => readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "java");
  if (!java) throw new Error(`no java process among ${pids.join(", ")}`);
  return java;
}

describe("when the store goes away", () => {
  it("answers 503 while it is paused, recovers when it is back, and exits non-zero when it is gone", async () => {
    stack = await npmStart(["--clock", "2026-01-05T00:00:00Z", "--frozen", "--port", "0"], {
      DUNNING_LENDER_KEY: LENDER_KEY,
    });
    const port = /DynamoDB http:\/\/127\.0\.0\.1:(\d+)/.exec(stack.output())?.[1] as string;
    expect(port).toMatch(/^\d+$/);
    const lender = apiClient(stack.url, LENDER_KEY);
    expect((await lender.get("/v1/loans")).status).toBe(200);
    const java = javaPid(port);

    process.kill(java, "SIGSTOP");
    try {
      const health = await fetch(`${stack.url}/health`);
      expect(health.status).toBe(503);
      const answer = await fetch(`${stack.url}/v1/loans`, {
        headers: { authorization: `Bearer ${LENDER_KEY}` },
      });
      expect(answer.status).toBe(503);
      expect(answer.headers.get("retry-after")).toBe("5");
      expect(((await answer.json()) as { error: { code: string } }).error.code).toBe("SERVICE_UNAVAILABLE");
    } finally {
      process.kill(java, "SIGCONT");
    }
    expect((await apiClient(stack.url).get("/health")).status).toBe(200);
    expect((await lender.get("/v1/loans")).status).toBe(200);

    const exited = once(stack.child, "exit");
    process.kill(java, "SIGKILL");
    const [code] = (await exited) as [number | null];
    expect(code).not.toBe(0);
    expect(stack.output()).toMatch(/the store is gone|DynamoDB Local ended/);
  }, 120_000);
});
