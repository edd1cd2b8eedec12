import { awsRepositories, systemClock } from "../adapters/aws.ts";
import { readConfig } from "../config.ts";
import { makeDeliveryHandler } from "./delivery-handler.ts";

/** Lambda entry for SES delivery events (configuration set → SNS topic → here); needs STATE_TABLE, AUDIT_TABLE. */
const config = readConfig();
const { cases } = awsRepositories(config);

export const handler = makeDeliveryHandler({ cases, clock: systemClock });
