import { SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import type { SQSEvent, SQSRecord } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { StepFunctionsWorkflow } from "../../functions/adapters/step-functions.ts";
import type { LoanCase } from "../../functions/domain/loan-case.ts";
import { IMPORT_KEY_ID, makeQueueConsumer } from "../../functions/import/queue-consumer.ts";
import { withStartBackoff } from "../../functions/import/workflow-backoff.ts";
import type { CaseRepository } from "../../functions/ports.ts";
import { lambdaContext } from "../support/lambda-context.ts";
import { memoryHandoffs } from "../support/memory-handoffs.ts";
import { memoryPolicies } from "../support/memory-policies.ts";

const sfn = mockClient(SFNClient);
const STATE_MACHINE = "arn:aws:states:us-east-1:111122223333:stateMachine:loan-dunning-workflow";

/** Cases in memory: enough of the repository for subscription (create, then get on a repeat). */
function memoryCases(): CaseRepository & { stored: Map<string, LoanCase> } {
  const stored = new Map<string, LoanCase>();
  const unused = () => Promise.reject(new Error("not used by subscription"));
  return {
    stored,
    async get(tenantId, loanId) {
      return stored.get(`${tenantId}/${loanId}`) ?? null;
    },
    async create(change) {
      const key = `${change.next.tenantId}/${change.next.loanId}`;
      if (stored.has(key)) return { created: false };
      const loanCase = { ...change.next, version: 1 };
      stored.set(key, loanCase);
      return { created: true, case: loanCase };
    },
    update: unused,
    onceRecord: unused,
    list: unused,
    auditTrail: unused,
    openCases: () => ({
      [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error("not used")) }),
    }),
  };
}

const loan = (loanId: string) => ({
  loanId,
  borrower: { name: "Li Wei", email: "li@example.com", locale: "zh-CN", timeZone: "Asia/Shanghai" },
  amountDue: { amount: "1250.00", currency: "CNY" },
  dueDate: "2026-01-15",
});

const record = (messageId: string, loans: unknown[], tenantId = "demo"): SQSRecord =>
  ({
    messageId,
    body: JSON.stringify({
      v: 1,
      tenantId,
      source: { bucket: "b", key: `imports/${tenantId}/p.jsonl` },
      batch: 0,
      loans,
    }),
  }) as SQSRecord;

const throttled = () => Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" });

function consumer(cases = memoryCases()) {
  const workflow = withStartBackoff(new StepFunctionsWorkflow(new SFNClient({}), STATE_MACHINE), {
    attempts: 3,
    baseMs: 1,
  });
  const handler = makeQueueConsumer({
    cases,
    policies: memoryPolicies(),
    workflow,
    clock: { now: () => new Date("2026-01-05T00:00:00Z") },
    handoffs: memoryHandoffs(),
    horizonDays: 0,
  });
  return { cases, handle: (event: SQSEvent) => handler(event, lambdaContext("import-consumer")) };
}

beforeEach(() => sfn.reset());

describe("import queue consumer", () => {
  it("subscribes each message's loans as the file's tenant and starts their workflows", async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: "arn:x" });
    const { handle, cases } = consumer();
    const event: SQSEvent = {
      Records: [record("m1", [loan("A"), loan("B")]), record("m2", [loan("A")], "other")],
    };
    expect(await handle(event)).toEqual({ batchItemFailures: [] });
    expect([...cases.stored.keys()].sort()).toEqual(["demo/A", "demo/B", "other/A"]);
    expect(cases.stored.get("demo/A")?.audit).toBeDefined();
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(3);
  });

  it("retries throttled starts with back-off, and hands the message back when they stay throttled", async () => {
    // A: throttled once then started. B: throttled every time (ExecutionLimitExceeded / ThrottlingException).
    let aCalls = 0;
    sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => {
      if (input.name.startsWith("A-") && ++aCalls === 1) throw throttled();
      if (input.name.startsWith("B-")) {
        throw Object.assign(new Error("limit"), {
          name: aCalls % 2 ? "ExecutionLimitExceeded" : "ThrottlingException",
        });
      }
      return { executionArn: "arn:x" };
    });
    const { handle, cases } = consumer();
    const result = await handle({
      Records: [record("ok", [loan("A")]), record("throttled", [loan("B"), loan("C")])],
    });
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: "throttled" }] });
    const starts = sfn
      .commandCalls(StartExecutionCommand)
      .map((call) => call.args[0].input.name?.slice(0, 1));
    expect(starts.filter((n) => n === "A")).toHaveLength(2);
    expect(starts.filter((n) => n === "B")).toHaveLength(3);
    // B's case is stored; redelivered once throttling is over, it is `exists` and its workflow starts then.
    expect(cases.stored.has("demo/B")).toBe(true);
    sfn.reset();
    sfn.on(StartExecutionCommand).resolves({ executionArn: "arn:x" });
    expect(await handle({ Records: [record("throttled", [loan("B"), loan("C")])] })).toEqual({
      batchItemFailures: [],
    });
    expect(
      sfn
        .commandCalls(StartExecutionCommand)
        .map((c) => c.args[0].input.name?.slice(0, 1))
        .sort(),
    ).toEqual(["B", "C"]);
  });

  it("does not retry an error that is not throttling, and reports a malformed message as failed", async () => {
    sfn
      .on(StartExecutionCommand)
      .rejects(Object.assign(new Error("denied"), { name: "AccessDeniedException" }));
    const { handle } = consumer();
    const result = await handle({
      Records: [record("denied", [loan("D")]), { messageId: "junk", body: "{" } as SQSRecord],
    });
    expect(result.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(["denied", "junk"]);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);
  });

  it("keeps invalid and conflicting loans final: logged, not redelivered", async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: "arn:x" });
    const { handle } = consumer();
    await handle({ Records: [record("first", [loan("E")])] });
    const changed = { ...loan("E"), dueDate: "2026-02-01" };
    const result = await handle({ Records: [record("second", [changed, { loanId: "bad" }])] });
    expect(result).toEqual({ batchItemFailures: [] });
    expect(IMPORT_KEY_ID).toBe("s3-import");
  });
});
