import { KMSClient } from "@aws-sdk/client-kms";
import { SQSClient } from "@aws-sdk/client-sqs";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { LambdaConfig } from "../../config.ts";
import type { DeliveryQueue, SecretBox } from "../../ports/webhooks.ts";
import type { Clock } from "../../ports.ts";
import { CLIENT_TIMEOUTS } from "../client-config.ts";
import type { TableNames } from "../dynamo/tables.ts";
import { TenantAuditLog } from "../dynamo/tenant-audit.ts";
import { DynamoWebhookStore } from "../dynamo/webhook-store.ts";
import { HttpWebhookTransport } from "./http-transport.ts";
import { CachingSecretBox, KmsSecretBox, LocalSecretBox } from "./secret-boxes.ts";
import { SqsDeliveryQueue } from "./sqs-delivery-queue.ts";

/** Where endpoint secrets are sealed: the KMS key on AWS, the embedded stack's own key on one machine. */
function secretBox(config: LambdaConfig): SecretBox | undefined {
  if (config.LOCAL_WEBHOOK_SECRET_KEY) return new LocalSecretBox(config.LOCAL_WEBHOOK_SECRET_KEY);
  if (config.WEBHOOK_SECRET_KEY_ARN) {
    return new KmsSecretBox(new KMSClient(CLIENT_TIMEOUTS), config.WEBHOOK_SECRET_KEY_ARN);
  }
  return undefined;
}

function deliveryQueue(config: LambdaConfig, clock: Clock): DeliveryQueue | undefined {
  if (!config.WEBHOOK_QUEUE_URL) return undefined;
  return new SqsDeliveryQueue(new SQSClient(CLIENT_TIMEOUTS), config.WEBHOOK_QUEUE_URL, () => clock.now());
}

export const allowsLoopback = (config: LambdaConfig) => config.WEBHOOK_ALLOW_LOOPBACK === "true";

export function webhookStore(client: DynamoDBDocumentClient, tables: TableNames, clock: Clock) {
  return new DynamoWebhookStore(
    client,
    tables,
    new TenantAuditLog(client, tables, { now: () => clock.now() }),
    clock,
  );
}

/** What the API needs for webhooks; undefined where the deployment configures none (the routes answer 422). */
export function webhookAdmin(
  config: LambdaConfig,
  client: DynamoDBDocumentClient,
  tables: TableNames,
  clock: Clock,
) {
  const secrets = secretBox(config);
  const queue = deliveryQueue(config, clock);
  if (!secrets || !queue) return undefined;
  return {
    webhooks: webhookStore(client, tables, clock),
    secrets,
    queue,
    clock,
    allowLoopback: allowsLoopback(config),
  };
}

/** The announcer: the store and the queue. */
export function webhookAnnouncer(
  config: LambdaConfig,
  client: DynamoDBDocumentClient,
  tables: TableNames,
  clock: Clock,
) {
  const queue = deliveryQueue(config, clock);
  if (!queue) throw new Error("invalid configuration: WEBHOOK_QUEUE_URL is required");
  return { webhooks: webhookStore(client, tables, clock), queue };
}

/** The sender: store, queue, secrets and the HTTP transport with the deployment's address rules. */
export function webhookSender(
  config: LambdaConfig,
  client: DynamoDBDocumentClient,
  tables: TableNames,
  clock: Clock,
) {
  const admin = webhookAdmin(config, client, tables, clock);
  if (!admin) throw new Error("invalid configuration: WEBHOOK_QUEUE_URL and a secret key are required");
  return {
    ...admin,
    secrets: new CachingSecretBox(admin.secrets),
    transport: new HttpWebhookTransport({ allowLoopback: admin.allowLoopback }),
    // The sending machine's own clock, not a business clock that may be virtual (see DeliverDeps.wallClockMs).
    wallClockMs: () => performance.timeOrigin + performance.now(),
  };
}
