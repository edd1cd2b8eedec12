import { Match, Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { buildApp, type DunningApp } from "../../infra/aws/build-app.ts";
import { SKIP_BUNDLING } from "./template-helpers.ts";

let built: DunningApp;
let service: Template;

beforeAll(() => {
  built = buildApp({ context: SKIP_BUNDLING, namePrefix: "ops-test" });
  service = Template.fromStack(built.service);
});

const alarms = () =>
  Object.values(service.findResources("AWS::CloudWatch::Alarm")) as {
    Properties: { AlarmName: string; AlarmActions: unknown[]; TreatMissingData?: string };
  }[];

describe("operability", () => {
  it("raises the alarms an operator needs, every one into the ops topic", () => {
    const names = alarms().map((a) => a.Properties.AlarmName);
    expect(names).toEqual(
      expect.arrayContaining([
        "ops-test-executions-failed",
        "ops-test-executions-timed-out",
        "ops-test-executions-aborted-outside-product",
        "ops-test-stalled-workflows-restarted",
        "ops-test-api-5xx",
        "ops-test-ses-bounce-rate",
        "ops-test-ses-complaint-rate",
        "ops-test-sms-success-rate",
        "ops-test-sms-spend",
        "ops-test-import-dead-letters",
        "ops-test-trail-metrics-dead-letters",
        "ops-test-webhook-announce-dead-letters",
        "ops-test-webhook-deliveries-dead-letters",
        "ops-test-send-error-rate",
        "ops-test-api-errors",
        "ops-test-reconciler-errors",
        "ops-test-portal-errors",
      ]),
    );
    for (const fn of [
      "api",
      "plan",
      "send",
      "hand-off",
      "record-failure",
      "delivery",
      "reconciler",
      "trail-metrics",
      "webhook-announce",
      "webhook-deliver",
      "portal",
    ]) {
      expect(names, fn).toContain(`ops-test-${fn}-throttles`);
    }
    const topic = built.service.getLogicalId(built.service.operations.opsTopic.node.defaultChild as never);
    for (const alarm of alarms()) {
      expect(alarm.Properties.AlarmActions, alarm.Properties.AlarmName).toEqual([{ Ref: topic }]);
    }
    // The reconciler reports every run: silence means it stopped running.
    const stalled = alarms().find((a) => a.Properties.AlarmName === "ops-test-stalled-workflows-restarted");
    expect(stalled?.Properties.TreatMissingData).toBe("breaching");
  });

  it("sends alarms to an encrypted topic CloudWatch may use, and has a dashboard", () => {
    service.hasResourceProperties("AWS::SNS::Topic", {
      TopicName: "ops-test-ops-alarms",
      KmsMasterKeyId: Match.anyValue(),
    });
    service.hasResourceProperties("AWS::CloudWatch::Dashboard", { DashboardName: "ops-test-operations" });
  });

  it("derives business metrics from the audit stream: inserts only, failed batches to a dead-letter queue", () => {
    service.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      FunctionName: {
        Ref: built.service.getLogicalId(
          built.service.trailMetrics?.trailMetricsFunction.node.defaultChild as never,
        ),
      },
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify({ eventName: ["INSERT"] }) }] },
      BisectBatchOnFunctionError: true,
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
    Template.fromStack(built.data).hasResourceProperties("AWS::DynamoDB::Table", {
      TableName: "ops-test-audit",
      StreamSpecification: { StreamViewType: "NEW_IMAGE" },
    });
  });
});
