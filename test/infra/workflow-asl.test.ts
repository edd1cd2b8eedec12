import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { WORKFLOW_ASL_PATH } from "../../infra/aws/service-stack.ts";

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
};

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

  it("uses only the three Lambda placeholders the CDK stack substitutes", () => {
    const used = new Set([...raw.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]));
    expect([...used].sort()).toEqual(Object.keys(SAMPLE_ARNS).sort());
  });

  it.each(states.filter(([, s]) => s.Type === "Task"))("Task %s has Retry and Catch", (_, state) => {
    expect(state.Retry?.length).toBeGreaterThan(0);
    expect(state.Catch?.length).toBeGreaterThan(0);
    expect(Object.values(SAMPLE_ARNS)).toContain(state.Resource);
  });

  it.each(states.filter(([, s]) => s.Type === "Wait"))("Wait %s waits until a TimestampPath", (_, state) => {
    expect(state.TimestampPath).toMatch(/^\$\./);
    expect([state.Seconds, state.SecondsPath, state.Timestamp]).toEqual([undefined, undefined, undefined]);
  });
});
