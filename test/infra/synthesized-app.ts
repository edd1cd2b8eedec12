import { type CfnElement, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import type { IConstruct } from "constructs";
import { buildApp, type DunningApp } from "../../infra/aws/build-app.ts";
import type { DunningFunction } from "../../infra/aws/dunning-function.ts";
import { SKIP_BUNDLING, type Statement, statementsByRole } from "./template-helpers.ts";

/** Physical names and ARNs of the default app (prefix `loan-dunning`), as `flat` renders them. */
export const EXPORT_BUCKET_NAME = "loan-dunning-exports-<AWS::AccountId>-<AWS::Region>";
export const HANDOFF_TOPIC_ARN =
  "arn:<AWS::Partition>:sns:<AWS::Region>:<AWS::AccountId>:loan-dunning-legal-handoffs";
export const CONFIGURATION_SET_NAME = "loan-dunning-email";
export const CONFIGURATION_SET_ARN = `arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:configuration-set/${CONFIGURATION_SET_NAME}`;
export const DELIVERY_TOPIC_ARN =
  "arn:<AWS::Partition>:sns:<AWS::Region>:<AWS::AccountId>:loan-dunning-delivery-events";

/** The default app, synthesised, with its templates and every role's statements. */
export interface SynthesizedApp {
  built: DunningApp;
  data: Template;
  service: Template;
  serviceRoles: Map<string, Statement[]>;
  dataRoles: Map<string, Statement[]>;
}

export function synthesizeApp(): SynthesizedApp {
  const built = buildApp({ context: SKIP_BUNDLING });
  // Synthesis runs the cdk-nag AwsSolutions plugin and throws on any unacknowledged finding.
  built.app.synth();
  const data = Template.fromStack(built.data);
  const service = Template.fromStack(built.service);
  return { built, data, service, serviceRoles: statementsByRole(service), dataRoles: statementsByRole(data) };
}

/** Logical id of an L2 construct's CloudFormation resource. */
export const idOf = (construct: IConstruct) =>
  Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnElement);
export const logicalId = (fn: DunningFunction) => idOf(fn);
export const roleId = (fn: DunningFunction) => idOf(fn.executionRole);

/** The API function, the four workflow tasks and the delivery function. */
export function dunningFunctions(built: DunningApp) {
  const { httpApi, workflow, deliveryEvents } = built.service;
  return {
    api: httpApi.apiFunction,
    plan: workflow.planFunction,
    send: workflow.sendFunction,
    handOff: workflow.handOffFunction,
    recordFailure: workflow.recordFailureFunction,
    delivery: deliveryEvents.deliveryFunction,
  };
}
