import { randomUUID } from "node:crypto";
import { awsHandoffs, awsRepositories, awsSender, awsWorkflow, systemClock } from "../adapters/aws.ts";
import { DynamoBorrowerContactStore } from "../adapters/dynamo/borrower-contacts.ts";
import { DynamoSendPacingStore } from "../adapters/dynamo/send-pacing-store.ts";
import { DynamoStrategyStore } from "../adapters/dynamo/strategy-store.ts";
import { DynamoTenantSettingsStore } from "../adapters/dynamo/tenant-settings-store.ts";
import { DynamoWorkflowWakes } from "../adapters/dynamo/wake-index.ts";
import { readConfig } from "../config.ts";
import { ratesPerContainer } from "../usecases/send-pacing.ts";
import { makeStepHandlers } from "./step-handlers.ts";

/** Lambda entries for the workflow's tasks; the ASL's Task resources point at these three handlers. */
const config = readConfig();
const { client, tables, cases, policies } = awsRepositories(config);

export const { plan, send, handOff, recordFailure } = makeStepHandlers({
  cases,
  policies,
  // The plan and hand-off tasks never send; only the send function is configured with a sender.
  sender:
    config.EMAIL_FROM || config.LOCAL_OUTBOX_URL
      ? awsSender(config)
      : { send: () => Promise.reject(new Error("sender not configured")) },
  clock: systemClock,
  workflow: awsWorkflow(config),
  // Invocations may overlap on AWS (retries, re-plans): only a claim's lease says its sender is gone. Leases are
  // about processes, so they run on real time (`performance`), whatever the business clock says.
  runtime: {
    instanceId: config.LOCAL_INSTANCE_ID ?? randomUUID(),
    exclusive: config.LOCAL_INSTANCE_ID !== undefined,
    realNow: () => performance.timeOrigin + performance.now(),
  },
  // Only the hand-off task publishes (EXPORT_BUCKET, HANDOFF_TOPIC_ARN).
  handoffs: awsHandoffs(config, client, tables),
  // Per-borrower contact records live in the state table, which every step function may already read and write.
  borrowers: new DynamoBorrowerContactStore(client, tables),
  wakes: new DynamoWorkflowWakes(client, tables),
  // Send rates are read once per tenant and container a minute; the places are counted in the state table.
  pacing: {
    rates: ratesPerContainer(new DynamoTenantSettingsStore(client, { stateTable: tables.stateTable })),
    places: new DynamoSendPacingStore(client, tables),
  },
  horizonDays: config.WORKFLOW_HORIZON_DAYS,
  // Planning places a case anew when time moves it into another segment of its tenant's strategy.
  strategies: new DynamoStrategyStore(client, tables),
  // Only the send function is given the portal's address: its messages carry the borrowers' links.
  ...(config.PORTAL_BASE_URL ? { portal: { baseUrl: config.PORTAL_BASE_URL } } : {}),
});
