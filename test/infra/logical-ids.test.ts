import { App, type CfnElement, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { Topic } from "aws-cdk-lib/aws-sns";
import { SqsSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import { Queue } from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../infra/aws/build-app.ts";
import { flatLogicalId, StackPart } from "../../infra/aws/constructs/stack-part.ts";
import { SKIP_BUNDLING } from "./template-helpers.ts";

/** A stack that allocates logical IDs the way the service stack does. */
class PartedStack extends Stack {
  protected override allocateLogicalId(element: CfnElement): string {
    return flatLogicalId(this, element);
  }
}

/** A topic and a queue subscribed to it: the subscription's construct id embeds the topic's unique id. */
function subscribedQueue(topicScope: Construct, queueScope: Construct): void {
  const topic = new Topic(topicScope, "Events");
  topic.addSubscription(new SqsSubscription(new Queue(queueScope, "Inbox")));
}

const resourcesOf = (stack: Stack) => {
  const template = Template.fromStack(stack).toJSON() as {
    Resources: Record<string, Record<string, unknown>>;
  };
  for (const resource of Object.values(template.Resources)) delete resource.Metadata;
  return template.Resources;
};

describe("stack parts", () => {
  it("leave logical IDs as they are without the parts, including ids that embed another construct's", () => {
    const flat = new Stack(new App(), "Service");
    subscribedQueue(flat, flat);
    const parted = new PartedStack(new App(), "Service");
    subscribedQueue(new StackPart(parted, "Publishing"), new StackPart(parted, "Receiving"));
    const expected = resourcesOf(flat);
    expect(Object.keys(expected)).toHaveLength(4);
    expect(resourcesOf(parted)).toEqual(expected);
  });

  it("fail synthesis when two parts would give two resources the same logical ID", () => {
    const stack = new PartedStack(new App(), "Service");
    new Queue(new StackPart(stack, "One"), "Inbox");
    new Queue(new StackPart(stack, "Two"), "Inbox");
    expect(() => Template.fromStack(stack)).toThrow(/Inbox/);
  });
});

describe("data stack logical IDs", () => {
  let resources: Record<string, { Type: string }>;
  beforeAll(() => {
    resources = Template.fromStack(buildApp({ context: SKIP_BUNDLING }).data).toJSON().Resources;
  });

  // A new logical ID would create a new key: whatever the old one encrypts or seals could no longer be opened.
  it.each([
    ["AWS::KMS::Key", "DataKey17AFBB84"],
    // Endpoint secrets are sealed with this key.
    ["AWS::KMS::Key", "WebhookSecretsKey5C1E05FC"],
  ])("%s %s stays", (type, logicalId) => {
    expect(resources[logicalId]?.Type).toBe(type);
  });
});

describe("service stack logical IDs", () => {
  let resources: Record<string, { Type: string }>;
  beforeAll(() => {
    resources = Template.fromStack(buildApp({ context: SKIP_BUNDLING }).service).toJSON().Resources;
  });

  // What deployed stacks hold. A new logical ID replaces the resource on deploy: executions, queued imports and
  // subscriptions would be lost, and a resource with a fixed name cannot be replaced at all (the name is taken).
  it.each([
    ["AWS::StepFunctions::StateMachine", "DunningWorkflow06B70141"],
    ["AWS::ApiGateway::RestApi", "ApiF70053CD"],
    ["AWS::ApiGateway::Stage", "ApiDeploymentStageprod3EB9684E"],
    ["AWS::SES::ConfigurationSet", "EmailConfigurationSet096C0FB5"],
    ["AWS::SNS::Topic", "DeliveryEventsTopicD588C0C8"],
    ["AWS::KMS::Key", "DeliveryEventsKey764AD7F3"],
    ["AWS::SNS::Topic", "OperationsOpsAlarms042B87EC"],
    ["AWS::SQS::Queue", "ImportQueueB0839EEE"],
    ["AWS::SQS::Queue", "ImportDeadLetterQueue8CEE3CE0"],
    ["AWS::SQS::Queue", "TrailMetricsDeadLetterQueueF44FF3A5"],
    ["AWS::SQS::Queue", "WebhookDeliveryQueue2A244492"],
    ["AWS::SQS::Queue", "WebhookDeadLetterQueue6DD1CE59"],
    ["AWS::SQS::Queue", "WebhookAnnounceDeadLetterQueue9693E914"],
    [
      "AWS::Lambda::EventSourceMapping",
      "ImportConsumerFunctionSqsEventSourceServiceImportQueue8601C583DFA80138",
    ],
    [
      "AWS::Lambda::EventSourceMapping",
      "TrailMetricsFunctionDynamoDBEventSourceServiceAuditTableStream28D41898F25B24AF",
    ],
    [
      "AWS::Lambda::EventSourceMapping",
      "WebhookAnnounceFunctionDynamoDBEventSourceServiceWebhookAuditStreamDF39ECFF0DF7C91F",
    ],
    [
      "AWS::Lambda::EventSourceMapping",
      "WebhookDeliverFunctionSqsEventSourceServiceWebhookDeliveryQueueA976731DE8C64997",
    ],
    ["AWS::Events::Rule", "ReconcileSchedule3E7728F7"],
    ["AWS::Events::Rule", "PortfolioUploadedA4B602CC"],
  ])("%s %s stays", (type, logicalId) => {
    expect(resources[logicalId]?.Type).toBe(type);
  });
});
