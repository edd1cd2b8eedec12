import { S3Client } from "@aws-sdk/client-s3";
import { SESClient } from "@aws-sdk/client-ses";
import { SFNClient } from "@aws-sdk/client-sfn";
import { SNSClient } from "@aws-sdk/client-sns";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { LambdaConfig } from "../config.ts";
import type { ExportSink } from "../ports/export-sink.ts";
import type { Handoffs } from "../ports/handoff.ts";
import type { Clock, MessageSender } from "../ports.ts";
import { CLIENT_TIMEOUTS } from "./client-config.ts";
import { DynamoCaseRepository } from "./dynamo/case-repository.ts";
import { makeDocumentClient } from "./dynamo/client.ts";
import { DynamoHandoffStore } from "./dynamo/handoff-store.ts";
import { DynamoPolicyRepository } from "./dynamo/policy-repository.ts";
import { FileExportSink } from "./file-export-sink.ts";
import { FileHandoffPublisher, S3SnsHandoffPublisher } from "./handoff-publishers.ts";
import { S3ExportSink } from "./s3-export-sink.ts";
import { ChannelRouter } from "./senders/channel-router.ts";
import { OutboxSender } from "./senders/outbox-sender.ts";
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

export function awsSender(config: LambdaConfig): MessageSender {
  if (config.LOCAL_OUTBOX_URL) return new OutboxSender(config.LOCAL_OUTBOX_URL);
  if (!config.EMAIL_FROM) throw new Error("invalid configuration: EMAIL_FROM is required to send email");
  return new ChannelRouter({
    email: new SesEmailSender(
      new SESClient(CLIENT_TIMEOUTS),
      config.EMAIL_FROM,
      config.SES_CONFIGURATION_SET,
    ),
    sms: new SnsSmsSender(new SNSClient(CLIENT_TIMEOUTS), config.SMS_SENDER_ID),
  });
}

export function awsWorkflow(config: LambdaConfig) {
  if (!config.STATE_MACHINE_ARN) throw new Error("invalid configuration: STATE_MACHINE_ARN is required");
  return new StepFunctionsWorkflow(new SFNClient(CLIENT_TIMEOUTS), config.STATE_MACHINE_ARN);
}

/**
 * Hand-off records in the state table; packages in the export bucket, announced on the hand-off topic. A
 * function deployed without EXPORT_BUCKET / HANDOFF_TOPIC_ARN fails when it has to publish or read a package,
 * not at cold start (the plan and send tasks share the step module and never publish).
 */
export function awsHandoffs(
  config: LambdaConfig,
  client: DynamoDBDocumentClient,
  tables: { stateTable: string },
): Handoffs {
  const store = new DynamoHandoffStore(client, tables);
  if (config.LOCAL_HANDOFF_DIR)
    return { store, publisher: new FileHandoffPublisher(config.LOCAL_HANDOFF_DIR) };
  const { EXPORT_BUCKET, HANDOFF_TOPIC_ARN } = config;
  if (!EXPORT_BUCKET || !HANDOFF_TOPIC_ARN) {
    const missing = () =>
      Promise.reject(new Error("invalid configuration: EXPORT_BUCKET and HANDOFF_TOPIC_ARN are required"));
    return { store, publisher: { publish: missing, read: missing } };
  }
  return {
    store,
    publisher: new S3SnsHandoffPublisher(
      new S3Client(CLIENT_TIMEOUTS),
      new SNSClient(CLIENT_TIMEOUTS),
      EXPORT_BUCKET,
      HANDOFF_TOPIC_ARN,
    ),
  };
}

/** Where audit exports go: the export bucket on AWS, the embedded stack's folder on one machine; none unset. */
export function awsExportSink(config: LambdaConfig): ExportSink | undefined {
  if (config.LOCAL_EXPORT_DIR && config.LOCAL_EXPORT_BASE_URL) {
    const base = config.LOCAL_EXPORT_BASE_URL;
    return new FileExportSink(config.LOCAL_EXPORT_DIR, () => base);
  }
  return config.EXPORT_BUCKET
    ? new S3ExportSink(new S3Client(CLIENT_TIMEOUTS), config.EXPORT_BUCKET)
    : undefined;
}
