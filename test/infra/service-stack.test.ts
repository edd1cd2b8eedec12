import { readFileSync } from "node:fs";
import { Validations } from "aws-cdk-lib";
import { Match, type Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import type { IConstruct } from "constructs";
import { beforeAll, describe, expect, it } from "vitest";
import type { DunningApp } from "../../infra/aws/build-app.ts";
import { DELIVERY_EVENT_TYPES } from "../../infra/aws/constructs/delivery-events.ts";
import { WORKFLOW_ASL_PATH } from "../../infra/aws/constructs/workflow.ts";
import type { DunningFunction } from "../../infra/aws/dunning-function.ts";
import {
  CONFIGURATION_SET_ARN,
  CONFIGURATION_SET_NAME,
  DELIVERY_TOPIC_ARN,
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
  it("are the six dunning functions, the two import functions, the reconciler, the trail metrics, the two webhook functions, the policy apply function, the portal function, the console function and the simulate function, all with the defaults", () => {
    const lambdas = service.findResources("AWS::Lambda::Function");
    const dunning = new Set(Object.values(functions()).map(logicalId));
    const imports = [
      built.service.portfolioImport?.importFunction,
      built.service.portfolioImport?.consumerFunction,
      built.service.reconciler.reconcilerFunction,
      built.service.trailMetrics?.trailMetricsFunction,
      built.service.webhooks?.announceFunction,
      built.service.webhooks?.deliverFunction,
      built.service.policyApplications.applyFunction,
      built.service.portal.portalFunction,
      built.service.console.consoleFunction,
      built.service.simulations.simulateFunction,
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

  it("is a regional REST API without binary media types, proxying everything but /p/ and /console to the API function", () => {
    service.hasResourceProperties("AWS::ApiGateway::RestApi", {
      EndpointConfiguration: { Types: ["REGIONAL"] },
      BinaryMediaTypes: Match.absent(),
    });
    service.hasResourceProperties("AWS::ApiGateway::Resource", { PathPart: "{proxy+}" });
    const methods = Object.values(service.findResources("AWS::ApiGateway::Method"));
    const reaches = (fn: DunningFunction) =>
      methods.filter((m) => flat(m.Properties.Integration.Uri).includes(`<${logicalId(fn)}.Arn>`));
    expect(reaches(functions().api).map((m) => m.Properties.HttpMethod)).toEqual(["ANY", "ANY"]);
    // The borrowers' page and the ops console have their own routes (portal.test.ts, console.test.ts).
    const portal = reaches(built.service.portal.portalFunction);
    const opsConsole = reaches(built.service.console.consoleFunction);
    expect(methods.length).toBe(2 + portal.length + opsConsole.length);
    for (const method of methods) expect(method.Properties.Integration.Type).toBe("AWS_PROXY");
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

const topicId = () => idOf(built.service.deliveryEvents.topic);
const keyId = () => idOf(built.service.deliveryEvents.key);

describe("email delivery events: configuration set and topic", () => {
  it("has a configuration set whose only event destination is the topic, for exactly the four event types", () => {
    service.resourceCountIs("AWS::SES::ConfigurationSet", 1);
    service.hasResourceProperties("AWS::SES::ConfigurationSet", { Name: CONFIGURATION_SET_NAME });
    const destinations = Object.values(service.findResources("AWS::SES::ConfigurationSetEventDestination"));
    expect(destinations).toHaveLength(1);
    const [destination] = destinations;
    expect(destination?.Properties.ConfigurationSetName).toEqual({
      Ref: idOf(built.service.deliveryEvents.configurationSet),
    });
    const event = destination?.Properties.EventDestination;
    expect(event).toMatchObject({ Enabled: true, SnsDestination: { TopicARN: { Ref: topicId() } } });
    expect([...event.MatchingEventTypes].sort()).toEqual(["bounce", "complaint", "delivery", "reject"]);
    expect([...DELIVERY_EVENT_TYPES].sort()).toEqual([...event.MatchingEventTypes].sort());
    for (const other of ["CloudWatchDestination", "EventBridgeDestination", "KinesisFirehoseDestination"])
      expect(event[other]).toBeUndefined();
  });

  it("publishes to a topic encrypted with its own rotated key, that refuses publishing without TLS", () => {
    // This topic and the ops alarms topic.
    service.resourceCountIs("AWS::SNS::Topic", 2);
    expect(service.toJSON().Resources[topicId()].Properties).toMatchObject({
      TopicName: "loan-dunning-delivery-events",
      KmsMasterKeyId: { "Fn::GetAtt": [keyId(), "Arn"] },
    });
    service.hasResourceProperties("AWS::KMS::Key", { EnableKeyRotation: true });
    const [policy] = Object.values(service.findResources("AWS::SNS::TopicPolicy"));
    expect(policy?.Properties.Topics).toEqual([{ Ref: topicId() }]);
    expect(policy?.Properties.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({
        Effect: "Deny",
        Principal: "*",
        Action: "sns:Publish",
        Resource: { Ref: topicId() },
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      }),
    );
  });

  it("lets SES publish to the topic for this configuration set only, and use the topic's key", () => {
    const [policy] = Object.values(service.findResources("AWS::SNS::TopicPolicy"));
    const statements: Statement[] = policy?.Properties.PolicyDocument.Statement ?? [];
    const allows = statements.filter((s) => s.Effect === "Allow");
    expect(allows).toHaveLength(1);
    const [allow] = allows;
    expect(allow).toMatchObject({ Action: "sns:Publish", Principal: { Service: "ses.amazonaws.com" } });
    const conditions = allow?.Condition?.StringEquals as Record<string, unknown>;
    // CDK names the configuration set by its Ref, which is its (fixed) name.
    expect(flat(conditions["AWS:SourceArn"])).toBe(
      CONFIGURATION_SET_ARN.replace(
        CONFIGURATION_SET_NAME,
        `<${idOf(built.service.deliveryEvents.configurationSet)}>`,
      ),
    );
    expect(flat(conditions["AWS:SourceAccount"])).toBe("<AWS::AccountId>");
    // The key: SES may generate data keys and decrypt, and only in the encryption context of this topic.
    const keyStatements = service.toJSON().Resources[keyId()].Properties.KeyPolicy.Statement as (Statement & {
      Principal: unknown;
    })[];
    const forSes = keyStatements.filter((s) => JSON.stringify(s.Principal).includes("ses.amazonaws.com"));
    expect(forSes).toHaveLength(1);
    expect(forSes[0]?.Effect).toBe("Allow");
    expect(actionsOf(forSes[0] as Statement).sort()).toEqual(["kms:Decrypt", "kms:GenerateDataKey*"]);
    const context = (forSes[0]?.Condition?.StringEquals ?? {}) as Record<string, unknown>;
    expect(flat(context["kms:EncryptionContext:aws:sns:topicArn"])).toBe(DELIVERY_TOPIC_ARN);
    expect(DELIVERY_TOPIC_ARN).toBe(
      `arn:<AWS::Partition>:sns:<AWS::Region>:<AWS::AccountId>:${service.toJSON().Resources[topicId()].Properties.TopicName}`,
    );
  });
});

describe("email delivery events: the delivery function", () => {
  it("delivers the topic's events to the delivery function, and only to it", () => {
    const delivery = logicalId(functions().delivery);
    const subscriptions = Object.values(service.findResources("AWS::SNS::Subscription"));
    expect(subscriptions.map((s) => s.Properties)).toEqual([
      expect.objectContaining({
        Protocol: "lambda",
        TopicArn: { Ref: topicId() },
        Endpoint: { "Fn::GetAtt": [delivery, "Arn"] },
      }),
    ]);
    service.hasResourceProperties("AWS::Lambda::Permission", {
      Action: "lambda:InvokeFunction",
      FunctionName: { "Fn::GetAtt": [delivery, "Arn"] },
      Principal: "sns.amazonaws.com",
      SourceArn: { Ref: topicId() },
    });
  });

  it("gives the delivery function the case data of the workflow tasks: state read/write, audit append and query, data key", () => {
    const { delivery, plan } = functions();
    const shape = (fn: DunningFunction) =>
      (serviceRoles.get(roleId(fn)) ?? [])
        .filter((s) => actionsOf(s).some((a) => a.startsWith("dynamodb:") || a.startsWith("kms:")))
        .map((s) => [s.Effect, actionsOf(s).sort(), resourcesOf(s).sort()]);
    expect(shape(delivery).length).toBeGreaterThan(0);
    expect(shape(delivery)).toEqual(shape(plan));
  });
});
