import type { BorrowerLoans, RunSettings, SyntheticSlice } from "./run.ts";
import type { Tally } from "./tally.ts";

/** What a simulation worker is given (as workerData). */
export interface WorkerJob {
  settings: RunSettings;
  input: { kind: "synthetic"; slice: SyntheticSlice } | { kind: "borrowers"; borrowers: BorrowerLoans[] };
}

export type FromSimulationWorker =
  | { type: "progress"; done: number }
  | { type: "done"; tallies: Tally[] }
  | { type: "failed"; message: string };
