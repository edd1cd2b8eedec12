/**
 * The AWS cost model: what one loan costs on each service, from the counts measured on the local stack.
 * Pure arithmetic; the prices are facts kept in the one constant below.
 */

/**
 * AWS list prices, US East (N. Virginia, us-east-1), on-demand, no free tier, as published on the AWS
 * pricing pages of each service (state as of the date below; re-check before quoting).
 */
export const PRICES = {
  region: "us-east-1",
  asOf: "2025-06",
  source: "aws.amazon.com/<service>/pricing (us-east-1 list prices)",
  /** Step Functions Standard: $0.025 per 1,000 state transitions. */
  stepFunctionsPerTransition: 0.025 / 1_000,
  /** Lambda: $0.20 per 1M requests. */
  lambdaPerRequest: 0.2 / 1_000_000,
  /** Lambda on arm64 (the product's architecture), first pricing tier: $0.0000133334 per GB-second. */
  lambdaArmPerGbSecond: 0.0000133334,
  /** DynamoDB on-demand, Standard table class (since the 2024-11-01 price cut): $0.625 per 1M WRU. */
  dynamoPerWriteUnit: 0.625 / 1_000_000,
  /** DynamoDB on-demand, Standard table class: $0.125 per 1M RRU. */
  dynamoPerReadUnit: 0.125 / 1_000_000,
  /** SES outbound email: $0.10 per 1,000 messages (attachments and dedicated IPs aside). */
  sesPerEmail: 0.1 / 1_000,
  /**
   * SNS SMS (delivered by AWS End User Messaging SMS), assumed destination United States: $0.00581 base
   * price per message part; carrier fees and registration fees are not included.
   */
  smsPerPart: 0.00581,
  smsCountry: "United States (base price; carrier fees excluded)",
  /** API Gateway REST API: $3.50 per 1M requests (first 333M a month). */
  apiGatewayPerRequest: 3.5 / 1_000_000,
} as const;

export type Prices = typeof PRICES;

/** What one loan uses on one workflow path, as measured. */
export interface LoanUsage {
  /** Billed state transitions: states entered plus task retries, over every execution of the loan. */
  transitions: number;
  /** Workflow Lambda invocations (plan, send, hand-off). */
  taskInvocations: number;
  /** API calls (subscribe, events): an API Gateway request and an API Lambda invocation each. */
  apiCalls: number;
  /** Delivery-function invocations: one per SES delivery event (one per email sent). */
  deliveryInvocations: number;
  /** Billed duration per workflow Lambda invocation, ms (Lambda bills per 1 ms). */
  taskMs: number;
  /** Billed duration per API Lambda invocation, ms. */
  apiMs: number;
  writeUnits: number;
  readUnits: number;
  emails: number;
  smsParts: number;
}

export interface CostBreakdown {
  stepFunctions: number;
  lambdaRequests: number;
  lambdaCompute: number;
  dynamoWrites: number;
  dynamoReads: number;
  ses: number;
  sms: number;
  apiGateway: number;
  total: number;
}

export const COST_LINES: readonly (keyof Omit<CostBreakdown, "total">)[] = [
  "stepFunctions",
  "lambdaRequests",
  "lambdaCompute",
  "dynamoWrites",
  "dynamoReads",
  "ses",
  "sms",
  "apiGateway",
];

/** Configured memory of the functions, MB: workflow tasks (and delivery) and the API. */
export interface FunctionMemory {
  taskMb: number;
  apiMb: number;
}

/** The cost of `loans` loans that each use `usage`. Lambda bills whole milliseconds per invocation. */
export function costOf(
  usage: LoanUsage,
  memory: FunctionMemory,
  loans: number,
  prices: Prices = PRICES,
): CostBreakdown {
  const billedSeconds = (ms: number) => Math.max(1, Math.ceil(ms)) / 1000;
  const gbSeconds =
    (usage.taskInvocations + usage.deliveryInvocations) *
      billedSeconds(usage.taskMs) *
      (memory.taskMb / 1024) +
    usage.apiCalls * billedSeconds(usage.apiMs) * (memory.apiMb / 1024);
  const lines = {
    stepFunctions: usage.transitions * prices.stepFunctionsPerTransition,
    lambdaRequests:
      (usage.taskInvocations + usage.deliveryInvocations + usage.apiCalls) * prices.lambdaPerRequest,
    lambdaCompute: gbSeconds * prices.lambdaArmPerGbSecond,
    dynamoWrites: usage.writeUnits * prices.dynamoPerWriteUnit,
    dynamoReads: usage.readUnits * prices.dynamoPerReadUnit,
    ses: usage.emails * prices.sesPerEmail,
    sms: usage.smsParts * prices.smsPerPart,
    apiGateway: usage.apiCalls * prices.apiGatewayPerRequest,
  };
  const scaled = Object.fromEntries(COST_LINES.map((line) => [line, lines[line] * loans])) as Omit<
    CostBreakdown,
    "total"
  >;
  return { ...scaled, total: COST_LINES.reduce((sum, line) => sum + scaled[line], 0) };
}

/** The weighted mix of per-path costs; weights need not sum to 1 (they are normalised). */
export function mixCost(parts: readonly { weight: number; cost: CostBreakdown }[]): CostBreakdown {
  const totalWeight = parts.reduce((sum, p) => sum + p.weight, 0);
  if (totalWeight <= 0) throw new Error("a cost mix needs a positive weight");
  const mixed = Object.fromEntries(
    COST_LINES.map((line) => [
      line,
      parts.reduce((sum, p) => sum + (p.weight / totalWeight) * p.cost[line], 0),
    ]),
  ) as Omit<CostBreakdown, "total">;
  return { ...mixed, total: COST_LINES.reduce((sum, line) => sum + mixed[line], 0) };
}

/**
 * SMS parts a text is sent as: 160 GSM-7 characters in one part (153 per part when split), otherwise
 * UCS-2 with 70 characters in one part (67 per part when split).
 */
export function smsParts(text: string): number {
  const gsm =
    /^[A-Za-z0-9 \r\n@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ!"#¤%&'()*+,\-./:;<=>?¡ÄÖÑÜ§¿äöñüà^{}\\[~\]|€]*$/u.test(
      text,
    );
  const length = [...text].length;
  const [single, multi] = gsm ? [160, 153] : [70, 67];
  return length <= single ? 1 : Math.ceil(length / multi);
}
