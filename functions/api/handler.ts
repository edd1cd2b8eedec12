import { awsExportSink, awsHandoffs, awsRepositories, awsWorkflow, systemClock } from "../adapters/aws.ts";
import { DynamoApiKeyStore } from "../adapters/dynamo/api-key-store.ts";
import { DynamoAuditReader } from "../adapters/dynamo/audit-reader.ts";
import { DynamoPortfolioReadModel } from "../adapters/dynamo/daily-counters.ts";
import { DynamoIdempotencyStore } from "../adapters/dynamo/idempotency-store.ts";
import { DynamoStrategyStore } from "../adapters/dynamo/strategy-store.ts";
import { DynamoTenantSettingsStore } from "../adapters/dynamo/tenant-settings-store.ts";
import { DynamoPlacementStore, DynamoWorkItemStore } from "../adapters/dynamo/work-store.ts";
import { policyApplications } from "../adapters/policies/wiring.ts";
import { simulationJobs } from "../adapters/simulations/wiring.ts";
import { allowsLoopback, webhookAdmin } from "../adapters/webhooks/wiring.ts";
import { readConfig } from "../config.ts";
import { makeApiHandler } from "./app.ts";

/** Lambda entry for the HTTP API (API Gateway REST proxy integration). */
const config = readConfig();
const { client, tables, cases, policies } = awsRepositories(config);
const exportSink = awsExportSink(config);
const webhooks = webhookAdmin(config, client, tables, systemClock);
const applications = policyApplications(config, client, tables);
const simulations = simulationJobs(config, client, tables);

export const handler = makeApiHandler({
  cases,
  policies,
  workflow: awsWorkflow(config),
  clock: systemClock,
  keys: new DynamoApiKeyStore(client, tables),
  idempotency: new DynamoIdempotencyStore(client, tables),
  settings: new DynamoTenantSettingsStore(client, tables),
  strategies: new DynamoStrategyStore(client, tables),
  work: new DynamoWorkItemStore(client, tables),
  placements: new DynamoPlacementStore(client, tables),
  portfolio: new DynamoPortfolioReadModel(client, tables),
  allowLoopback: allowsLoopback(config),
  handoffs: awsHandoffs(config, client, tables),
  horizonDays: config.WORKFLOW_HORIZON_DAYS,
  // Without an export sink the export route answers 422 EXPORT_NOT_CONFIGURED; the rest of the API is unaffected.
  ...(webhooks ? { webhooks } : {}),
  ...(applications ? { applications } : {}),
  ...(simulations ? { simulations } : {}),
  ...(exportSink ? { exports: { reader: new DynamoAuditReader(client, tables), sink: exportSink } } : {}),
});
