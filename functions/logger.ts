import { Logger } from "@aws-lambda-powertools/logger";

/**
 * One logger per process, created once. Log lines carry ids (tenant, loan, step, execution), never
 * names, phone numbers, email addresses or message bodies.
 */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? "loan-dunning" });
