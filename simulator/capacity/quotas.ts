/**
 * AWS default quotas the dunning workload runs into, each with the page it comes from and the day it was read
 * there. Defaults change (and new accounts start lower: both the Step Functions and the Lambda pages say so), so
 * the capacity plan prints them beside every figure; check the Service Quotas console of the account itself.
 */

/** The day every figure below was checked against its source. */
export const QUOTAS_CHECKED = "2026-12-06";

/** Step Functions gives three Regions larger API and transition buckets than the rest. */
export const LARGE_SFN_REGIONS: readonly string[] = ["us-east-1", "us-west-2", "eu-west-1"];

export type QuotaId =
  | "openExecutions"
  | "startExecution"
  | "stopExecution"
  | "stateTransitions"
  | "lambdaConcurrency"
  | "smsParts"
  | "emails"
  | "dynamoWrites"
  | "dynamoReads";

export interface Quota {
  id: QuotaId;
  /** As the Service Quotas console or the service's page names it. */
  name: string;
  /** A short name for tables and charts. */
  label: string;
  /** What the figure counts: a level (open executions, concurrency) or a rate per second. */
  unit: string;
  /** The sustained default (a token bucket's refill rate). */
  value: number;
  /** A token bucket's size: how far a burst may go above `value` for a moment. */
  burst?: number;
  /** What to ask AWS for, as "ask for <ask> ≥ N<askUnit> in <region>". */
  ask: string;
  /** Printed after the figure asked for (default "/s" for a rate, nothing for a level). */
  askUnit?: string;
  source: string;
  checked: string;
  note?: string;
}

const SFN_QUOTAS_PAGE = "https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html";
// The live page's opening was readable in the documentation index; its tables were not, so the figures are those of
// the guide's last published source (limits-overview.md), the same tables under the same headings.
const SFN_TABLES =
  "awsdocs/aws-step-functions-developer-guide doc_source/limits-overview.md (commit 28a1c169), tables " +
  '"Quotas related to accounts", "…state throttling", "…API action throttling", "Other quotas"';

/** Step Functions Standard workflows, by Region class. */
function stepFunctionsQuotas(large: boolean): Quota[] {
  const checked = QUOTAS_CHECKED;
  const source = `${SFN_QUOTAS_PAGE}; figures: ${SFN_TABLES}`;
  return [
    {
      id: "openExecutions",
      name: "Step Functions open executions (Standard)",
      label: "open executions",
      unit: "executions",
      value: 1_000_000,
      ask: "open executions",
      source,
      checked,
      note: "per account and Region; past it StartExecution fails with ExecutionLimitExceeded",
    },
    {
      id: "startExecution",
      name: "Step Functions StartExecution",
      label: "StartExecution/s",
      unit: "calls/s",
      value: large ? 300 : 150,
      burst: large ? 1_300 : 800,
      ask: "the StartExecution refill rate",
      source,
      checked,
    },
    {
      id: "stopExecution",
      name: "Step Functions StopExecution",
      label: "StopExecution/s",
      unit: "calls/s",
      value: large ? 200 : 25,
      burst: large ? 1_000 : 500,
      ask: "the StopExecution refill rate",
      source,
      checked,
    },
    {
      id: "stateTransitions",
      name: "Step Functions StateTransition (Standard)",
      label: "state transitions/s",
      unit: "transitions/s",
      value: large ? 5_000 : 800,
      burst: large ? 5_000 : 800,
      ask: "the StateTransition refill rate",
      source,
      checked,
      note:
        "5,000 a second in the three large Regions is the default the product is planned against; an earlier " +
        "edition of the guide's tables gave a refill of 1,500 (500 elsewhere) under the same bucket, so check the " +
        "account's own figure. The page says new accounts start with reduced state-transition quotas that AWS " +
        "raises with use, and " +
        "Step Functions may raise buckets and refill rates at any time: the account's own figure is in Service " +
        "Quotas; throttled transitions show as ExecutionThrottled",
    },
  ];
}

/** The quotas that do not depend on the Region class (Lambda, SMS, SES, DynamoDB). */
const OTHER_QUOTAS: readonly Quota[] = [
  {
    id: "lambdaConcurrency",
    name: "Lambda concurrent executions",
    label: "Lambda concurrency",
    unit: "concurrent",
    value: 1_000,
    ask: "Lambda concurrent executions",
    source: "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html",
    checked: QUOTAS_CHECKED,
    note: "per Region, shared by every function of the account; new accounts start lower",
  },
  {
    id: "smsParts",
    name: "SMS message parts per second (US short code)",
    label: "SMS parts/s (short code)",
    unit: "parts/s",
    value: 100,
    ask: "SMS throughput",
    askUnit: " MPS (message parts/s)",
    source: "https://docs.aws.amazon.com/sms-voice/latest/userguide/sms-limitations-mps.html",
    checked: QUOTAS_CHECKED,
    note:
      "per origination number: a US short code 100 MPS, toll-free 3, 10DLC 1 per number until raised; other " +
      "countries vary. More than one number's worth takes several numbers or a raise",
  },
  {
    id: "emails",
    name: "SES sending rate",
    label: "SES emails/s",
    unit: "emails/s",
    value: 14,
    ask: "the SES maximum sending rate",
    source: "https://docs.aws.amazon.com/ses/latest/dg/quotas.html",
    checked: QUOTAS_CHECKED,
    note:
      "the page states 1 email/s in the sandbox and, out of it, a rate that varies by use case; 14/s is the " +
      "rate production accounts have long started at, assumed here",
  },
  {
    id: "dynamoWrites",
    name: "DynamoDB on-demand write request units per table",
    label: "DynamoDB WRU/s (table)",
    unit: "WRU/s",
    value: 40_000,
    ask: "DynamoDB table-level write throughput",
    source: "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html",
    checked: QUOTAS_CHECKED,
    note: "compared with the units of both tables together (state and audit), so it errs on the safe side",
  },
  {
    id: "dynamoReads",
    name: "DynamoDB on-demand read request units per table",
    label: "DynamoDB RRU/s (table)",
    unit: "RRU/s",
    value: 40_000,
    ask: "DynamoDB table-level read throughput",
    source: "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html",
    checked: QUOTAS_CHECKED,
  },
];

/** Every quota the plan checks, for one Region. */
export function quotasFor(region: string): Quota[] {
  return [...stepFunctionsQuotas(LARGE_SFN_REGIONS.includes(region)), ...OTHER_QUOTAS];
}

/** An AWS Region name, as the CLI accepts it (af-south-1, us-gov-west-1, …). */
export const isRegionName = (region: string): boolean => /^[a-z]{2}(-[a-z]+)+-\d$/.test(region);
