import { S3Client } from "@aws-sdk/client-s3";
import { awsHandoffs, awsRepositories, awsWorkflow, systemClock } from "../adapters/aws.ts";
import { DynamoApiKeyStore } from "../adapters/dynamo/api-key-store.ts";
import { DynamoAuditReader } from "../adapters/dynamo/audit-reader.ts";
import { DynamoIdempotencyStore } from "../adapters/dynamo/idempotency-store.ts";
import { S3ExportSink } from "../adapters/s3-export-sink.ts";
import { readConfig } from "../config.ts";
import { makeApiHandler } from "./app.ts";

/** Lambda entry for the HTTP API (API Gateway REST proxy integration). */
const config = readConfig();
const { client, tables, cases, policies } = awsRepositories(config);

export const handler = makeApiHandler({
  cases,
  policies,
  workflow: awsWorkflow(config),
  clock: systemClock,
  keys: new DynamoApiKeyStore(client, tables),
  idempotency: new DynamoIdempotencyStore(client, tables),
  handoffs: awsHandoffs(config, client, tables),
  // Without EXPORT_BUCKET the export route answers 422 EXPORT_NOT_CONFIGURED; the rest of the API is unaffected.
  ...(config.EXPORT_BUCKET
    ? {
        exports: {
          reader: new DynamoAuditReader(client, tables),
          sink: new S3ExportSink(new S3Client({}), config.EXPORT_BUCKET),
        },
      }
    : {}),
});
