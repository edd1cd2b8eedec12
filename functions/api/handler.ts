import { awsRepositories, awsWorkflow, systemClock } from "../adapters/aws.ts";
import { DynamoApiKeyStore } from "../adapters/dynamo/api-key-store.ts";
import { DynamoIdempotencyStore } from "../adapters/dynamo/idempotency-store.ts";
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
});
