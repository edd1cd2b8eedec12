import type { Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import type { DunningApp } from "../../infra/aws/build-app.ts";
import { DELIVERY_EVENT_TYPES } from "../../infra/aws/constructs/delivery-events.ts";
import type { DunningFunction } from "../../infra/aws/dunning-function.ts";
import {
  CONFIGURATION_SET_ARN,
  CONFIGURATION_SET_NAME,
  DELIVERY_TOPIC_ARN,
  dunningFunctions,
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
