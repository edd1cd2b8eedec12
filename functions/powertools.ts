import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";

/**
 * The process's one Powertools logger and one metrics client, created once when the bundle loads and imported by
 * every handler, use case and adapter that logs or counts. Each handler attaches the invocation to them with the
 * middy middlewares (injectLambdaContext, logMetrics where it adds metrics); nothing else constructs a Logger or
 * a Metrics.
 *
 * Settings come from the environment as Powertools reads it (POWERTOOLS_SERVICE_NAME, POWERTOOLS_LOG_LEVEL,
 * POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_METRICS_DISABLED); the fallbacks name the service where none is set.
 * The embedded stack and the tests disable metrics.
 */
const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? "loan-dunning";

/** Log lines carry ids (tenant, loan, step, execution), never names, phone numbers, email addresses or message bodies. */
export const logger = new Logger({ serviceName });

/**
 * CloudWatch embedded metric format, written with the logs. Its own warnings (e.g. an invocation that published no
 * metric) go through the logger, as structured lines with the invocation's context, rather than bare stdout.
 */
export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? "LoanDunning",
  serviceName,
  logger,
});
