import { awsHandoffs, awsRepositories, awsWorkflow, systemClock } from "../adapters/aws.ts";
import { DynamoPortalLinkStore } from "../adapters/dynamo/portal-links.ts";
import { DynamoTenantSettingsStore } from "../adapters/dynamo/tenant-settings-store.ts";
import { readConfig } from "../config.ts";
import { makePortalHandler } from "./app.ts";

/** Lambda entry for the borrowers' page (its own API Gateway route, `/p/{proxy+}`). */
const config = readConfig();
const { client, tables, cases, policies } = awsRepositories(config);

export const handler = makePortalHandler(
  {
    cases,
    policies,
    workflow: awsWorkflow(config),
    clock: systemClock,
    // A borrower's action never sends a case to legal; the lender's event use case still takes the port.
    handoffs: awsHandoffs(config, client, tables),
    horizonDays: config.WORKFLOW_HORIZON_DAYS,
    links: new DynamoPortalLinkStore(client, tables),
    // Read only (the payment page): no audit table needed.
    settings: new DynamoTenantSettingsStore(client, { stateTable: tables.stateTable }),
  },
  { secureCookies: config.PORTAL_SECURE_COOKIES },
);
