import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { WORKFLOW_ASL_PATH } from "../../infra/aws/constructs/workflow.ts";

type AslValidator = (
  definition: unknown,
  options?: { checkPaths?: boolean; checkArn?: boolean },
) => { isValid: boolean; errors: unknown[]; errorsText: (separator?: string) => string };
// asl-validator ships no type declarations.
const validate = createRequire(import.meta.url)("asl-validator") as AslValidator;

interface State {
  Type: string;
  Resource?: string;
  Retry?: unknown[];
  Catch?: unknown[];
  Seconds?: number;
  SecondsPath?: string;
  Timestamp?: string;
  TimestampPath?: string;
}

const SAMPLE_ARNS: Record<string, string> = {
  PlanFunctionArn: "arn:aws:lambda:eu-west-1:123456789012:function:loan-dunning-plan",
  SendStepFunctionArn: "arn:aws:lambda:eu-west-1:123456789012:function:loan-dunning-send",
  HandOffFunctionArn: "arn:aws:lambda:eu-west-1:123456789012:function:loan-dunning-hand-off",
  RecordFailureFunctionArn: "arn:aws:lambda:eu-west-1:123456789012:function:loan-dunning-record-failure",
};

/** The transient Lambda service errors AWS recommends retrying on every Lambda task. */
const LAMBDA_TRANSIENT = [
  "Lambda.ServiceException",
  "Lambda.AWSLambdaException",
  "Lambda.SdkClientException",
  "Lambda.TooManyRequestsException",
  "Lambda.ClientExecutionTimeoutException",
];

const raw = readFileSync(WORKFLOW_ASL_PATH, "utf8");
const substituted = raw.replace(/\$\{(\w+)\}/g, (_, name: string) => {
  const arn = SAMPLE_ARNS[name];
  if (!arn) throw new Error(`no sample ARN for placeholder ${name}`);
  return arn;
});
const definition = JSON.parse(substituted) as { States: Record<string, State> };
const states = Object.entries(definition.States);

describe("workflows/dunning.asl.json", () => {
  it("validates with asl-validator once its placeholders are substituted", () => {
    const result = validate(JSON.parse(substituted));
    expect(result.errorsText()).toBe("");
    expect(result.isValid).toBe(true);
  });

  it("uses only the Lambda placeholders the CDK stack substitutes", () => {
    const used = new Set([...raw.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]));
    expect([...used].sort()).toEqual(Object.keys(SAMPLE_ARNS).sort());
  });

  it.each(states.filter(([, s]) => s.Type === "Task"))(
    "Task %s retries AWS's transient errors with jitter and has a path for any error left",
    (_, state) => {
      const retries = (state.Retry ?? []) as { ErrorEquals: string[]; JitterStrategy?: string }[];
      const retried = retries.flatMap((r) => r.ErrorEquals);
      expect(retried).toEqual(
        expect.arrayContaining([...LAMBDA_TRANSIENT, "Lambda.Unknown", "States.Timeout"]),
      );
      expect(retried).toContain("DependencyUnavailableError");
      for (const retry of retries.filter((r) => r.ErrorEquals.some((e) => e.startsWith("Lambda.")))) {
        expect(retry.JitterStrategy).toBe("FULL");
      }
      const catches = (state.Catch ?? []) as { ErrorEquals: string[]; Next: string }[];
      expect(catches.at(-1)?.ErrorEquals).toEqual(["States.ALL"]);
      expect(Object.values(SAMPLE_ARNS)).toContain(state.Resource);
    },
  );

  it("ends every failure that is not a send in the failure record, then a Fail state", () => {
    const fails = states.filter(([, s]) => (s as { Next?: string }).Next === "Workflow failed: record");
    expect(fails.map(([name]) => name).sort()).toEqual(
      [
        "Continue: start the next execution (failed)",
        "Legal hand-off: hand over (failed)",
        "On hold: review (failed)",
        "Plan next action (failed)",
      ].sort(),
    );
    expect(definition.States["Workflow failed"]?.Type).toBe("Fail");
  });

  it.each(states.filter(([, s]) => s.Type === "Wait"))("Wait %s waits until a TimestampPath", (_, state) => {
    expect(state.TimestampPath).toMatch(/^\$\./);
    expect([state.Seconds, state.SecondsPath, state.Timestamp]).toEqual([undefined, undefined, undefined]);
  });
});
