import type { PaymentModel } from "../../simulator/payments.ts";
import type { SimulationReport } from "../../simulator/report.ts";
import type { LoanCase } from "../domain/loan-case.ts";
import type { Policy } from "../domain/policy.ts";
import type { SimulationMessage, SimulationProgress, SimulationStatus } from "../domain/simulation-job.ts";

/** Ports of simulations run through the API: the job records, the queue that starts them, the open cases. */

/** The portfolio a job runs: a synthetic one (as `npm run simulate` makes it), or the tenant's open cases. */
export type SimulationPortfolio =
  | { kind: "synthetic"; loans: number; seed: number; dueDays?: number; installmentShare?: number }
  | { kind: "openCases"; seed: number };

/** Everything the run needs, fixed when the job is started (a stored policy is its version then). */
export interface SimulationInput {
  /** The policy simulated, then the one it is compared with; without their message texts (nothing is sent). */
  policies: { label: string; policy: Policy }[];
  portfolio: SimulationPortfolio;
  /** First simulated day (YYYY-MM-DD, from 00:00 UTC) and the number of days. */
  start: string;
  days: number;
  payments: PaymentModel;
}

/** A job as it is stored. */
export interface SimulationJob {
  id: string;
  status: SimulationStatus;
  progress: SimulationProgress;
  /** Business-clock instants. */
  startedAt: string;
  finishedAt: string | null;
  /** `ops:<key id>` of the key that started it. */
  requestedBy: string;
  input: SimulationInput;
  /** Once succeeded: the simulator's JSON report (per policy) and its chart of messages per day. */
  report?: SimulationReport;
  chartSvg?: string;
  /** Once failed: why. */
  failure?: string;
}

export interface SimulationRef {
  tenantId: string;
  id: string;
}

/** The job records, in the state table under the tenant's key. */
export interface SimulationStore {
  /** Stores a new job (its id is fresh: never overwrites one). */
  create(tenantId: string, job: SimulationJob): Promise<void>;
  get(ref: SimulationRef): Promise<SimulationJob | null>;
  /** Notes how far a running job is (nothing, once it has ended). */
  progress(ref: SimulationRef, progress: SimulationProgress): Promise<void>;
  /** Ends a running job with its report; false when it had ended already (nothing written). */
  succeed(
    ref: SimulationRef,
    outcome: { report: SimulationReport; chartSvg: string; progress: SimulationProgress; at: string },
  ): Promise<boolean>;
  /** Ends a running job as failed, with why (nothing, once it has ended). */
  fail(ref: SimulationRef, failure: string, at: string): Promise<void>;
}

/** Where a job's message goes: an SQS queue on AWS, the embedded stack's queue on one machine. */
export interface SimulationQueue {
  send(message: SimulationMessage): Promise<void>;
}

/** The tenant's open cases, read whole a page at a time from the open-case index (never a scan). */
export interface OpenCaseSource {
  pages(tenantId: string): AsyncIterable<LoanCase[]>;
}
