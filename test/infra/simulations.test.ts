import type { Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { SIMULATION_MAX_RECEIVES } from "../../functions/domain/simulation-job.ts";
import type { DunningApp } from "../../infra/aws/build-app.ts";
import { SIMULATION_MAX_CONCURRENCY } from "../../infra/aws/constructs/simulations.ts";
import type { DunningFunction } from "../../infra/aws/dunning-function.ts";
import { LAMBDA_FUNCTIONS } from "../../infra/lambda-bundles.ts";
import { idOf, logicalId, roleId, synthesizeApp } from "./synthesized-app.ts";
import { actionsOf, resourcesOf, type Statement } from "./template-helpers.ts";

/** Simulations through the API on AWS: the API queues a job, the simulate function runs it in the background. */
let built: DunningApp;
let service: Template;
let serviceRoles: Map<string, Statement[]>;

beforeAll(() => {
  ({ built, service, serviceRoles } = synthesizeApp());
});

const parts = () => built.service.simulations;
const resource = (id: string) => service.toJSON().Resources[id];
const env = (fn: DunningFunction): Record<string, unknown> =>
  resource(logicalId(fn)).Properties.Environment.Variables;
const statementsOf = (fn: DunningFunction) => serviceRoles.get(roleId(fn)) ?? [];
const STATE_TABLE = /:table\/loan-dunning-state$/;

describe("simulations", () => {
  it("run in a function of their own, sized for a large portfolio, one job per message from an encrypted queue", () => {
    const { simulateFunction, queue, deadLetterQueue } = parts();
    const fn = resource(logicalId(simulateFunction)).Properties;
    expect(fn).toMatchObject({
      Timeout: LAMBDA_FUNCTIONS.simulate.timeoutSeconds,
      MemorySize: LAMBDA_FUNCTIONS.simulate.memoryMb,
      Architectures: ["arm64"],
      TracingConfig: { Mode: "Active" },
    });
    expect(fn.Timeout).toBe(900);
    expect(fn.MemorySize).toBeGreaterThan(
      resource(logicalId(built.service.httpApi.apiFunction)).Properties.MemorySize,
    );
    const mappings = Object.values(service.findResources("AWS::Lambda::EventSourceMapping"))
      .map((m) => m.Properties)
      .filter((p) => p.FunctionName?.Ref === logicalId(simulateFunction));
    expect(mappings).toEqual([
      expect.objectContaining({
        EventSourceArn: { "Fn::GetAtt": [idOf(queue), "Arn"] },
        BatchSize: 1,
        FunctionResponseTypes: ["ReportBatchItemFailures"],
        ScalingConfig: { MaximumConcurrency: SIMULATION_MAX_CONCURRENCY },
      }),
    ]);
    const props = resource(idOf(queue)).Properties;
    expect(props.KmsMasterKeyId).toBeDefined();
    expect(props.VisibilityTimeout).toBeGreaterThanOrEqual(6 * fn.Timeout);
    expect(props.RedrivePolicy).toEqual({
      deadLetterTargetArn: { "Fn::GetAtt": [idOf(deadLetterQueue), "Arn"] },
      maxReceiveCount: SIMULATION_MAX_RECEIVES,
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

  it("let the simulate function read policies and open cases and update only its own job items", () => {
    const { simulateFunction } = parts();
    const allows = statementsOf(simulateFunction).filter((s) => s.Effect === "Allow");
    const dynamo = allows.filter((s) => actionsOf(s).some((a) => a.startsWith("dynamodb:")));
    expect(
      dynamo.map((s) => [
        s.Sid,
        actionsOf(s).sort(),
        resourcesOf(s).map((r) => r.replace(/^.*:table\//, "")),
      ]),
    ).toEqual([
      [
        "ReadPoliciesAndCases",
        ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query"],
        ["loan-dunning-state"],
      ],
      ["PageOpenCases", ["dynamodb:Query"], ["loan-dunning-state/index/openByDueDate"]],
      ["RecordSimulationJobs", ["dynamodb:UpdateItem"], ["loan-dunning-state"]],
    ]);
    const update = dynamo.find((s) => s.Sid === "RecordSimulationJobs");
    expect(update?.Condition).toEqual({
      "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["T#*#SIMULATION#*"] },
    });
    // Nothing on the audit table, no workflow, no sending, no S3.
    const everything = allows.flatMap(actionsOf);
    expect(everything.filter((a) => /^(states|ses|sns|s3):/.test(a))).toEqual([]);
    expect(allows.flatMap(resourcesOf).filter((r) => /loan-dunning-audit/.test(r))).toEqual([]);
    expect(everything).not.toEqual(expect.arrayContaining(["dynamodb:PutItem"]));
    expect(
      allows
        .filter((s) => resourcesOf(s).some((r) => STATE_TABLE.test(r) || r.includes("index")))
        .flatMap(actionsOf),
    ).not.toContain("dynamodb:Scan");
    const denies = statementsOf(simulateFunction).filter((s) => s.Effect === "Deny");
    expect(JSON.stringify(denies)).toContain('"dynamodb:LeadingKeys":["KEY#*"]');
  });

  it("tell the API the queue, which it may only send to; the simulate function needs no queue URL", () => {
    const { simulateFunction, queue } = parts();
    const api = built.service.httpApi.apiFunction;
    expect(env(api)).toMatchObject({ SIMULATION_QUEUE_URL: { Ref: idOf(queue) } });
    expect(env(simulateFunction)).toMatchObject({
      STATE_TABLE: "loan-dunning-state",
      AUDIT_TABLE: "loan-dunning-audit",
    });
    expect(env(simulateFunction).SIMULATION_QUEUE_URL).toBeUndefined();
    const onQueue = statementsOf(api)
      .filter((s) => s.Effect === "Allow" && resourcesOf(s).includes(`<${idOf(queue)}.Arn>`))
      .flatMap(actionsOf);
    expect(onQueue).toEqual(["sqs:SendMessage"]);
  });
});
