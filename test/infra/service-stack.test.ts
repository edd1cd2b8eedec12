import { readFileSync } from "node:fs";
import { Validations } from "aws-cdk-lib";
import { Match, type Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import type { IConstruct } from "constructs";
import { beforeAll, describe, expect, it } from "vitest";
import type { DunningApp } from "../../infra/aws/build-app.ts";
import { WORKFLOW_ASL_PATH } from "../../infra/aws/constructs/workflow.ts";
import type { DunningFunction } from "../../infra/aws/dunning-function.ts";
import {
  CONFIGURATION_SET_NAME,
  dunningFunctions,
  EXPORT_BUCKET_NAME,
  HANDOFF_TOPIC_ARN,
  idOf,
  logicalId,
  roleId,
  synthesizeApp,
} from "./synthesized-app.ts";
import { actionsOf, flat, resourcesOf, type Statement } from "./template-helpers.ts";

let built: DunningApp;
let service: Template;
let serviceRoles: Map<string, Statement[]>;

beforeAll(() => {
  ({ built, service, serviceRoles } = synthesizeApp());
});
const functions = () => dunningFunctions(built);

describe("functions", () => {
  it("are the six dunning functions, the two import functions, the reconciler and the trail metrics, all with the defaults", () => {
    const lambdas = service.findResources("AWS::Lambda::Function");
    const dunning = new Set(Object.values(functions()).map(logicalId));
    const imports = [
      built.service.portfolioImport?.importFunction,
      built.service.portfolioImport?.consumerFunction,
      built.service.reconciler.reconcilerFunction,
      built.service.trailMetrics?.trailMetricsFunction,
    ].map((fn) => logicalId(fn as DunningFunction));
    expect(Object.keys(lambdas).sort()).toEqual([...dunning, ...imports].sort());
    const logGroups = service.findResources("AWS::Logs::LogGroup");
    for (const [id, fn] of Object.entries(lambdas)) {
      const props = fn.Properties;
      expect(Number(/^nodejs(\d+)\.x$/.exec(props.Runtime)?.[1])).toBeGreaterThanOrEqual(22);
      expect(props.Architectures).toEqual(["arm64"]);
      expect(props.TracingConfig).toEqual({ Mode: "Active" });
      expect(props.Environment.Variables).toMatchObject({
        NODE_OPTIONS: "--enable-source-maps",
        POWERTOOLS_SERVICE_NAME: "loan-dunning",
      });
      if (dunning.has(id)) {
        expect(props.MemorySize).toBe(512);
        expect(props.Timeout).toBeLessThanOrEqual(90);
        expect(props.Environment.Variables).toMatchObject({
          STATE_TABLE: "loan-dunning-state",
          AUDIT_TABLE: "loan-dunning-audit",
        });
      }
      const logGroup = logGroups[props.LoggingConfig.LogGroup.Ref];
      expect(logGroup?.Properties.RetentionInDays).toBe(30);
    }
  });

  it("map to the api and steps handlers", () => {
    const handlers = Object.fromEntries(
      Object.entries(functions()).map(([name, fn]) => [
        name,
        service.toJSON().Resources[logicalId(fn)].Properties.Handler,
      ]),
    );
    expect(handlers).toEqual({
      api: "index.handler",
      plan: "index.plan",
      send: "index.send",
      handOff: "index.handOff",
      recordFailure: "index.recordFailure",
      delivery: "index.handler",
    });
  });
});

describe("function environments", () => {
  it("give the API function the state machine ARN and only the send function a sender", () => {
    const env = (fn: DunningFunction) =>
      service.toJSON().Resources[logicalId(fn)].Properties.Environment.Variables;
    const { api, plan, send, handOff, delivery } = functions();
    const stateMachineId = idOf(built.service.workflow.stateMachine);
    expect(env(api).STATE_MACHINE_ARN).toEqual({ Ref: stateMachineId });
    expect(env(send).EMAIL_FROM).toBe("no-reply@example.com");
    expect(env(send).SES_CONFIGURATION_SET).toBe(CONFIGURATION_SET_NAME);
    for (const fn of [api, plan, handOff, delivery]) {
      expect(env(fn).EMAIL_FROM).toBeUndefined();
      expect(env(fn).SES_CONFIGURATION_SET).toBeUndefined();
    }
  });

  it("give every function the export bucket, and only the API and hand-off functions the hand-off topic", () => {
    const env = (fn: DunningFunction) =>
      service.toJSON().Resources[logicalId(fn)].Properties.Environment.Variables;
    const { api, plan, send, handOff, delivery } = functions();
    for (const fn of [api, plan, send, handOff]) expect(flat(env(fn).EXPORT_BUCKET)).toBe(EXPORT_BUCKET_NAME);
    for (const fn of [api, handOff]) expect(flat(env(fn).HANDOFF_TOPIC_ARN)).toBe(HANDOFF_TOPIC_ARN);
    for (const fn of [plan, send]) expect(env(fn).HANDOFF_TOPIC_ARN).toBeUndefined();
    // The delivery function records events against the case: the tables, nothing else.
    expect(env(delivery)).toEqual({
      STATE_TABLE: "loan-dunning-state",
      AUDIT_TABLE: "loan-dunning-audit",
      POWERTOOLS_SERVICE_NAME: "loan-dunning",
      NODE_OPTIONS: "--enable-source-maps",
    });
  });
});

describe("workflow", () => {
  const asl = readFileSync(WORKFLOW_ASL_PATH, "utf8");

  it("is a Standard state machine defined by workflows/dunning.asl.json", () => {
    const [machine] = Object.values(service.findResources("AWS::StepFunctions::StateMachine"));
    expect(machine?.Properties.StateMachineType).toBe("STANDARD");
    const definition = JSON.parse(machine?.Properties.DefinitionString);
    expect(definition).toEqual(JSON.parse(asl));
    expect(Object.keys(definition.States)).toEqual(
      expect.arrayContaining([
        "Pre-due reminders: send",
        "Soft collection: send",
        "Legal hand-off: hand over",
      ]),
    );
  });

  it("substitutes every placeholder with the matching task function", () => {
    const placeholders = [...new Set([...asl.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]))].sort();
    const { plan, send, handOff, recordFailure } = functions();
    const expected = {
      PlanFunctionArn: { "Fn::GetAtt": [logicalId(plan), "Arn"] },
      SendStepFunctionArn: { "Fn::GetAtt": [logicalId(send), "Arn"] },
      HandOffFunctionArn: { "Fn::GetAtt": [logicalId(handOff), "Arn"] },
      RecordFailureFunctionArn: { "Fn::GetAtt": [logicalId(recordFailure), "Arn"] },
    };
    expect(placeholders).toEqual(Object.keys(expected).sort());
    service.hasResourceProperties("AWS::StepFunctions::StateMachine", { DefinitionSubstitutions: expected });
  });

  it("logs every event without execution data, and is traced", () => {
    const [machine] = Object.values(service.findResources("AWS::StepFunctions::StateMachine"));
    const logging = machine?.Properties.LoggingConfiguration;
    expect(logging).toMatchObject({ Level: "ALL", IncludeExecutionData: false });
    const destination = logging.Destinations[0].CloudWatchLogsLogGroup.LogGroupArn["Fn::GetAtt"][0];
    expect(service.toJSON().Resources[destination].Properties.RetentionInDays).toBe(30);
    expect(machine?.Properties.TracingConfiguration).toEqual({ Enabled: true });
  });

  it("has a role that can invoke exactly the four task functions, and nothing else in Lambda", () => {
    const role = idOf(built.service.workflow.stateMachine.role);
    const lambdaStatements = (serviceRoles.get(role) ?? []).filter((s) =>
      actionsOf(s).some((a) => a.startsWith("lambda:") || a === "*"),
    );
    expect(lambdaStatements.flatMap(actionsOf)).toEqual(["lambda:InvokeFunction"]);
    const { plan, send, handOff, recordFailure } = functions();
    expect(lambdaStatements.flatMap(resourcesOf).sort()).toEqual(
      [plan, send, handOff, recordFailure].map((fn) => `<${logicalId(fn)}.Arn>`).sort(),
    );
  });
});

describe("the reconciler", () => {
  it("runs every five minutes, may start and stop this workflow's executions, and reports its metric", () => {
    const reconciler = built.service.reconciler.reconcilerFunction;
    service.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: "rate(5 minutes)",
      State: "ENABLED",
      Targets: [{ Arn: { "Fn::GetAtt": [logicalId(reconciler), "Arn"] } }],
    });
    const statements = serviceRoles.get(roleId(reconciler)) ?? [];
    const states = statements.filter((s) => actionsOf(s).some((a) => a.startsWith("states:")));
    expect(states.flatMap(actionsOf).sort()).toEqual(["states:StartExecution", "states:StopExecution"]);
    const env = service.toJSON().Resources[logicalId(reconciler)].Properties.Environment.Variables;
    expect(env).toMatchObject({
      POWERTOOLS_METRICS_NAMESPACE: "LoanDunning",
      STATE_TABLE: "loan-dunning-state",
    });
  });
});

describe("API", () => {
  it("has a stage with throttling, access logging, execution logging metrics and tracing", () => {
    const [stage] = Object.values(service.findResources("AWS::ApiGateway::Stage"));
    expect(stage?.Properties.MethodSettings).toEqual([
      expect.objectContaining({
        HttpMethod: "*",
        ResourcePath: "/*",
        ThrottlingRateLimit: 200,
        ThrottlingBurstLimit: 400,
        LoggingLevel: "ERROR",
        MetricsEnabled: true,
        DataTraceEnabled: false,
      }),
    ]);
    expect(stage?.Properties.TracingEnabled).toBe(true);
    const access = stage?.Properties.AccessLogSetting;
    expect(access.Format).toContain("$context.requestId");
    const logGroup = /:log-group:<(\w+)>$/.exec(flat(access.DestinationArn))?.[1] ?? "";
    expect(service.toJSON().Resources[logGroup].Type).toBe("AWS::Logs::LogGroup");
    expect(service.toJSON().Resources[logGroup].Properties.RetentionInDays).toBe(30);
  });

  it("is a regional REST API without binary media types, proxying everything to the API function", () => {
    service.hasResourceProperties("AWS::ApiGateway::RestApi", {
      EndpointConfiguration: { Types: ["REGIONAL"] },
      BinaryMediaTypes: Match.absent(),
    });
    service.hasResourceProperties("AWS::ApiGateway::Resource", { PathPart: "{proxy+}" });
    const methods = Object.values(service.findResources("AWS::ApiGateway::Method"));
    expect(methods.map((m) => m.Properties.HttpMethod)).toEqual(["ANY", "ANY"]);
    for (const method of methods) {
      expect(method.Properties.Integration.Type).toBe("AWS_PROXY");
      expect(flat(method.Properties.Integration.Uri)).toContain(`<${logicalId(functions().api)}.Arn>`);
    }
  });

  it("has a WAF web ACL on its stage", () => {
    const stageId = idOf(built.service.httpApi.api.deploymentStage);
    const [association] = Object.values(service.findResources("AWS::WAFv2::WebACLAssociation"));
    expect(flat(association?.Properties.ResourceArn)).toContain(`/stages/<${stageId}>`);
    service.hasResourceProperties("AWS::WAFv2::WebACL", { Scope: "REGIONAL", DefaultAction: { Allow: {} } });
  });
});

describe("cdk-nag", () => {
  it("finds nothing unacknowledged in either stack", () => {
    const report = new AwsSolutionsChecks().validateScope(built.app);
    const findings = report.violations.map((v) => ({
      rule: v.ruleName,
      at: v.violatingResources.map((r) => r.constructPath),
    }));
    expect(findings).toEqual([]);
  });

  it("has a specific reason for every acknowledgement", () => {
    const acknowledgements: { id: string; reason: string }[] = [];
    const visit = (construct: IConstruct) => {
      for (const entry of construct.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const [id, reason] of Object.entries(entry.data as Record<string, string>))
          acknowledgements.push({ id, reason });
      }
      for (const child of construct.node.children) visit(child);
    };
    visit(built.app);
    expect(acknowledgements.length).toBeGreaterThan(0);
    for (const { id, reason } of acknowledgements) {
      expect(id).toMatch(/AwsSolutions-[A-Z]+\d+/);
      expect(reason.length, id).toBeGreaterThan(40);
    }
  });
});
