import { SESClient } from "@aws-sdk/client-ses";
import { SFNClient } from "@aws-sdk/client-sfn";
import { SNSClient } from "@aws-sdk/client-sns";
import type { LambdaConfig } from "../config.ts";
import type { Clock } from "../ports.ts";
import { DynamoCaseRepository } from "./dynamo/case-repository.ts";
import { makeDocumentClient } from "./dynamo/client.ts";
import { DynamoPolicyRepository } from "./dynamo/policy-repository.ts";
import { ChannelRouter } from "./senders/channel-router.ts";
import { SesEmailSender } from "./senders/ses-sender.ts";
import { SnsSmsSender } from "./senders/sns-sender.ts";
import { StepFunctionsWorkflow } from "./step-functions.ts";

/** Production wiring of the ports, built once per Lambda container. */
export const systemClock: Clock = { now: () => new Date() };

export function awsRepositories(config: LambdaConfig) {
  const client = makeDocumentClient({});
  const tables = { stateTable: config.STATE_TABLE, auditTable: config.AUDIT_TABLE };
  return {
    client,
    tables,
    cases: new DynamoCaseRepository(client, tables),
    policies: new DynamoPolicyRepository(client, tables),
  };
}

export function awsSender(config: LambdaConfig) {
  if (!config.EMAIL_FROM) throw new Error("invalid configuration: EMAIL_FROM is required to send email");
  return new ChannelRouter({
    email: new SesEmailSender(new SESClient({}), config.EMAIL_FROM),
    sms: new SnsSmsSender(new SNSClient({}), config.SMS_SENDER_ID),
  });
}

export function awsWorkflow(config: LambdaConfig) {
  if (!config.STATE_MACHINE_ARN) throw new Error("invalid configuration: STATE_MACHINE_ARN is required");
  return new StepFunctionsWorkflow(new SFNClient({}), config.STATE_MACHINE_ARN);
}
