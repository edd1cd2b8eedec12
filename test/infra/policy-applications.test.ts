import type { Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { APPLY_MAX_RECEIVES } from "../../functions/domain/policy-application.ts";
import type { DunningApp } from "../../infra/aws/build-app.ts";
import { APPLY_MAX_CONCURRENCY } from "../../infra/aws/constructs/policy-applications.ts";
import type { DunningFunction } from "../../infra/aws/dunning-function.ts";
import { idOf, logicalId, roleId, synthesizeApp } from "./synthesized-app.ts";
import { actionsOf, resourcesOf, type Statement } from "./template-helpers.ts";

/** In-flight policy changes on AWS: the API queues a job's first page, the apply function works page after page. */
let built: DunningApp;
let service: Template;
let serviceRoles: Map<string, Statement[]>;

beforeAll(() => {
  ({ built, service, serviceRoles } = synthesizeApp());
});

const parts = () => built.service.policyApplications;
const resource = (id: string) => service.toJSON().Resources[id];
const env = (fn: DunningFunction): Record<string, unknown> =>
  resource(logicalId(fn)).Properties.Environment.Variables;
/** Every Allow a function's role holds on the resources `matches` picks, as sorted actions. */
const allowedOn = (fn: DunningFunction, matches: (resource: string) => boolean) =>
  (serviceRoles.get(roleId(fn)) ?? [])
    .filter((s) => s.Effect === "Allow" && resourcesOf(s).some(matches))
    .flatMap(actionsOf)
    .sort();
const AUDIT_TABLE = /:table\/loan-dunning-audit(\/|$)/;

describe("policy applications", () => {
  it("feed the apply function one page at a time, two jobs at once, from an encrypted queue with a DLQ", () => {
    const { applyFunction, queue, deadLetterQueue } = parts();
    const mappings = Object.values(service.findResources("AWS::Lambda::EventSourceMapping"))
      .map((m) => m.Properties)
      .filter((p) => p.FunctionName?.Ref === logicalId(applyFunction));
    expect(mappings).toEqual([
      expect.objectContaining({
        EventSourceArn: { "Fn::GetAtt": [idOf(queue), "Arn"] },
        BatchSize: 1,
        FunctionResponseTypes: ["ReportBatchItemFailures"],
        ScalingConfig: { MaximumConcurrency: APPLY_MAX_CONCURRENCY },
      }),
    ]);
    const timeout = resource(logicalId(applyFunction)).Properties.Timeout as number;
    const props = resource(idOf(queue)).Properties;
    expect(props.KmsMasterKeyId).toBeDefined();
    expect(props.VisibilityTimeout).toBeGreaterThanOrEqual(6 * timeout);
    expect(props.RedrivePolicy).toEqual({
      deadLetterTargetArn: { "Fn::GetAtt": [idOf(deadLetterQueue), "Arn"] },
      maxReceiveCount: APPLY_MAX_RECEIVES,
    });
    const alarms = Object.values(service.findResources("AWS::CloudWatch::Alarm")).map((a) => a.Properties);
    expect(
      alarms.filter(
        (a) =>
          a.MetricName === "ApproximateNumberOfMessagesVisible" &&
          JSON.stringify(a.Dimensions).includes(idOf(deadLetterQueue)),
      ),
    ).toHaveLength(1);
  });

  it("let the apply function move cases (state table, audit append) and stop and start executions only", () => {
    const { applyFunction, queue } = parts();
    const stateMachineId = idOf(built.service.workflow.stateMachine);
    const states = (serviceRoles.get(roleId(applyFunction)) ?? []).filter((s) =>
      actionsOf(s).some((a) => a.startsWith("states:")),
    );
    expect(states.map((s) => [actionsOf(s), resourcesOf(s)])).toEqual([
      [["states:StartExecution"], [`<${stateMachineId}>`]],
      [
        ["states:StopExecution"],
        [`arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<${stateMachineId}.Name>:*`],
      ],
    ]);
    expect(allowedOn(applyFunction, (r) => AUDIT_TABLE.test(r))).toEqual([
      "dynamodb:PutItem",
      "dynamodb:Query",
    ]);
    expect(allowedOn(applyFunction, (r) => r.endsWith(":table/loan-dunning-state"))).toEqual(
      expect.arrayContaining(["dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem"]),
    );
    expect(allowedOn(applyFunction, (r) => r === `<${idOf(queue)}.Arn>`)).toEqual(
      expect.arrayContaining(["sqs:DeleteMessage", "sqs:ReceiveMessage", "sqs:SendMessage"]),
    );
    expect(allowedOn(applyFunction, (r) => /:(ses|sns):/.test(r) || r === "*")).toEqual([
      "xray:PutTelemetryRecords",
      "xray:PutTraceSegments",
    ]);
  });

  it("tell the API and the apply function the queue; the API may only send to it", () => {
    const { applyFunction, queue } = parts();
    const api = built.service.httpApi.apiFunction;
    const queueUrl = { Ref: idOf(queue) };
    expect(env(api)).toMatchObject({ POLICY_APPLY_QUEUE_URL: queueUrl });
    expect(env(applyFunction)).toMatchObject({
      STATE_TABLE: "loan-dunning-state",
      AUDIT_TABLE: "loan-dunning-audit",
      STATE_MACHINE_ARN: { Ref: idOf(built.service.workflow.stateMachine) },
      POLICY_APPLY_QUEUE_URL: queueUrl,
    });
    expect(allowedOn(api, (r) => r === `<${idOf(queue)}.Arn>`)).toEqual(["sqs:SendMessage"]);
  });
});
