/**
 * The names of the metrics the functions publish that alarms watch by name: the contract between the functions
 * and the operations stack. The metrics client itself is the shared one in powertools.ts.
 */

/** Executions the product stopped itself (a payment, a re-plan): the aborted-executions alarm discounts them. */
export const EXECUTIONS_STOPPED_BY_PRODUCT = "ExecutionsStoppedByProduct";
/** The metric the stalled-workflow alarm watches. */
export const WORKFLOWS_RESTARTED = "StalledWorkflowsRestarted";
/** Parked cases the waker started an execution for: how much of the book is entering the horizon. */
export const PARKED_WORKFLOWS_WOKEN = "ParkedWorkflowsWoken";
