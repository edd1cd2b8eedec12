import { randomBytes } from "node:crypto";

/**
 * A what-if simulation run through the API: a job ops start and follow, worked in the background by the simulation
 * function. What is here is the job's bookkeeping and its limits, with no I/O; the run itself is the simulator's.
 */

export type SimulationStatus = "running" | "succeeded" | "failed";

/** Loans simulated so far of the portfolio's total (0 until an open-case portfolio has been read). */
export interface SimulationProgress {
  done: number;
  total: number;
}

/** The one message that sets a job going: which tenant's job. */
export interface SimulationMessage {
  tenantId: string;
  simulationId: string;
}

/** The largest portfolio a job simulates: the synthetic size asked for, or the tenant's open cases. */
export const MAX_SIMULATED_LOANS = 1_000_000;
/** The longest run: a year (the report keeps one line per day and policy). */
export const MAX_SIMULATION_DAYS = 366;
/**
 * Loans on a schedule run through the domain one by one (about 10 ms each, against well under 1 ms for a loan that
 * shares a trajectory): a synthetic portfolio may hold at most this many (loans × installmentShare), so a run of
 * two policies stays well inside the function's 15 minutes.
 */
export const MAX_INSTALLMENT_LOANS = 20_000;
/** Days when a run starts from a request that names none: the simulator's own default. */
export const DEFAULT_SIMULATION_DAYS = 120;
/** Seeds the payment draws (and a synthetic portfolio) when the request names no seed, as `npm run simulate` does. */
export const DEFAULT_SIMULATION_SEED = 1;
/**
 * Receives of a job's message: a run that failed on an unavailable dependency is tried once more; after that the
 * job ends `failed` and the message goes to the dead-letter queue.
 */
export const SIMULATION_MAX_RECEIVES = 2;
/** Days a job (and its report) is kept before DynamoDB's time to live removes it. */
export const SIMULATION_KEEP_DAYS = 30;
/**
 * The stored job must fit a DynamoDB item (400 KB). The report holds summaries and one line per simulated day and
 * policy, whatever the portfolio's size, so it stays far below; a report above this is refused rather than lost.
 */
export const MAX_STORED_RESULT_BYTES = 300_000;

export const newSimulationId = () => `sim_${randomBytes(12).toString("hex")}`;
/** The form every simulation id has, so a path that cannot name one is refused before any read. */
export const SIMULATION_ID = /^sim_[0-9a-f]{24}$/;

/** When a job started at `startedAt` expires (epoch seconds, the table's time-to-live attribute). */
export const expiresAtOf = (startedAt: string) =>
  Math.floor(Date.parse(startedAt) / 1000) + SIMULATION_KEEP_DAYS * 86_400;

/** How the simulation function's failure reads on the job: the error's message, never its stack. */
export function failureOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > 500 ? `${message.slice(0, 497)}...` : message;
}
