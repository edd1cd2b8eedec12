import { Metrics } from "@aws-lambda-powertools/metrics";

/**
 * One metrics client per process (CloudWatch embedded metric format, written with the logs). The namespace and
 * service come from POWERTOOLS_METRICS_NAMESPACE and POWERTOOLS_SERVICE_NAME; the embedded stack disables it.
 */
export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? "LoanDunning",
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? "loan-dunning",
});

/** Executions the product stopped itself (a payment, a re-plan): the aborted-executions alarm discounts them. */
export const EXECUTIONS_STOPPED_BY_PRODUCT = "ExecutionsStoppedByProduct";
/** The metric the stalled-workflow alarm watches. */
export const WORKFLOWS_RESTARTED = "StalledWorkflowsRestarted";
