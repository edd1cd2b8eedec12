import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import { describe, expect, it } from "vitest";
import { buildApp } from "../../infra/aws/build-app.ts";
import { SKIP_BUNDLING } from "./template-helpers.ts";

// service-stack.test.ts shows the real app synthesises with zero unacknowledged findings; this shows that a passing
// synth means something: buildApp wires cdk-nag into synthesis, so one new unacknowledged finding fails it.
describe("cdk-nag during synth", () => {
  it("fails the app's synth on an unacknowledged finding", () => {
    const { app, service } = buildApp({ context: SKIP_BUNDLING });
    service.httpApi.apiFunction.addToRolePolicy(
      new PolicyStatement({ actions: ["dynamodb:*"], resources: ["*"] }),
    );
    expect(() => app.synth()).toThrow(/AwsSolutions-IAM5\[Action::dynamodb:\*\]/);
  });
});

describe("buildApp settings", () => {
  it("rejects an emailFrom that is not an address", () => {
    expect(() => buildApp({ context: SKIP_BUNDLING, emailFrom: "no-reply" })).toThrow(/emailFrom/);
  });

  it("rejects a policy application rate above the Step Functions quotas allow", () => {
    expect(() => buildApp({ context: SKIP_BUNDLING, policyApplyRate: 150 })).toThrow(/policyApplyRate/);
    expect(() => buildApp({ context: { ...SKIP_BUNDLING, policyApplyRate: "fast" } })).toThrow(
      /policyApplyRate/,
    );
  });

  it("rejects an SMS sender id longer than 11 characters", () => {
    expect(() => buildApp({ context: SKIP_BUNDLING, smsSenderId: "TwelveChars1" })).toThrow(/smsSenderId/);
  });
});
