import { afterEach, describe, expect, it } from "vitest";
import { LocalLambda, UNHANDLED } from "../../infra/local/lambda-runtime.ts";
import { VirtualClock } from "../../infra/local/virtual-clock.ts";

// The embedded stack's Lambda sandboxes report failures as Step Functions sees them from AWS Lambda: the error's
// name as its type, and Lambda.Unknown for what the runtime cannot report (a timeout, a crash).
const environment = {
  STATE_TABLE: "state",
  AUDIT_TABLE: "audit",
  STATE_MACHINE_ARN: "arn:aws:states:us-east-1:000000000000:stateMachine:dunning-workflow",
  AWS_REGION: "us-east-1",
};
const clock = new VirtualClock(new Date("2026-01-05T00:00:00Z"), true);
let fn: LocalLambda | undefined;

afterEach(async () => {
  await fn?.close();
});

async function failure(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error("expected the invocation to fail");
    },
    (error: Error) => error,
  );
}

describe("local Lambda sandbox", () => {
  it("reports a thrown error by its name, as the Lambda runtime does", async () => {
    fn = new LocalLambda("plan", clock, { environment });
    await fn.injectFault({ kind: "throw", errorType: "ProviderThrottledError", message: "slow down" });
    const error = await failure(fn.invoke({}));
    expect([error.name, error.message]).toEqual(["ProviderThrottledError", "slow down"]);
  });

  it("reports a crashed sandbox as Lambda.Unknown and starts a fresh one for the next invocation", async () => {
    fn = new LocalLambda("plan", clock, { environment });
    await fn.injectFault({ kind: "crash" });
    expect((await failure(fn.invoke({}))).name).toBe(UNHANDLED);
    await fn.injectFault({ kind: "throw", errorType: "StaleExecutionError" });
    expect((await failure(fn.invoke({}))).name).toBe("StaleExecutionError");
    expect(fn.coldStarts).toBe(2);
  });

  it("ends an invocation past the function's timeout with Lambda.Unknown", async () => {
    fn = new LocalLambda("plan", clock, { environment, timeoutMs: 300 });
    await fn.injectFault({ kind: "hang" });
    const error = await failure(fn.invoke({}));
    expect(error.name).toBe(UNHANDLED);
    expect(error.message).toMatch(/timed out after 300 ms/);
  });

  it("fails at cold start when the function's configuration is invalid, as a bad deploy would", async () => {
    fn = new LocalLambda("plan", clock, { environment: { AWS_REGION: "us-east-1" } });
    const error = await failure(fn.invoke({}));
    expect(error.message).toMatch(/invalid configuration: STATE_TABLE, AUDIT_TABLE/);
  });
});
