import { startDynamoDbLocal } from "../infra/local/dynamodb-local.ts";
import { type DeployedFunction, deployedFunctions } from "./bundles.ts";
import type { PathName } from "./path-scripts.ts";
import type { Check, Section } from "./report.ts";
import { measurePaths, type PathResult } from "./workflow.ts";

export const SECTION_IDS = [
  "paths",
  "cost",
  "throughput",
  "ingest",
  "latency",
  "simulate",
  "bundles",
  "installments",
  "paced",
  "horizon",
  "apply",
] as const;
export type SectionId = (typeof SECTION_IDS)[number];

export interface SectionContext {
  quick: boolean;
  ingestLoans: number;
  simulateLoans: number;
  /** Loans of the paced-sending section (its full check is 20,000). */
  pacedLoans: number;
  /** Where the paced section's contact window ends (default the policy's 21:00). */
  pacedWindowEnd?: string;
  /** Open cases of the policy-application section (its full check is 100,000). */
  applyCases: number;
  scratch: string;
  /** Results later sections build on (the cost model and the profile use the path counts). */
  results: { paths?: PathResult[] };
  functions: DeployedFunction[] | undefined;
  cleanups: (() => Promise<void>)[];
  dynamoEndpoint?: string;
}

/** The performance targets the product commits to (README, Benchmarks). */
export const TARGETS = {
  transitionsPerStep: 3,
  transitionsPerLoan: 5,
  invocationsPerStep: 1,
  throughputRatio: 0.5,
  subscribeP99Ms: 30,
  ingestLoansPerSecond: 1000,
  bundleBytes: 1024 * 1024,
  coldInitMs: 200,
  /** The most of Step Functions' 25,000 history events one execution may use. */
  executionHistoryShare: 0.1,
} as const;

/** The share of each path in the stated portfolio mix of the cost section. */
export const PATH_MIX: Record<PathName, number> = {
  paid_before_due: 0.5,
  paid_in_soft_collection: 0.3,
  promise_kept: 0.1,
  to_legal: 0.1,
};

export const check = (c: Check): Check => c;

/** One DynamoDB Local for the in-process sections, started on first use. */
export async function dynamoEndpoint(ctx: SectionContext): Promise<string> {
  if (!ctx.dynamoEndpoint) {
    const dynamo = await startDynamoDbLocal();
    ctx.cleanups.push(() => dynamo.stop());
    ctx.dynamoEndpoint = dynamo.endpoint;
  }
  return ctx.dynamoEndpoint;
}

export async function paths(ctx: SectionContext): Promise<PathResult[]> {
  ctx.results.paths ??= await measurePaths(await dynamoEndpoint(ctx));
  return ctx.results.paths;
}

export async function functionsOf(ctx: SectionContext): Promise<DeployedFunction[]> {
  ctx.functions ??= await deployedFunctions();
  return ctx.functions;
}

export function skipped(id: SectionId, title: string, note: string): Section {
  return {
    id,
    title,
    status: "skipped",
    columns: [],
    rows: [],
    checks: [],
    notes: [note],
    data: null,
    seconds: 0,
  };
}
