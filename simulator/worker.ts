import { parentPort, workerData } from "node:worker_threads";
import type { FromSimulationWorker, WorkerJob } from "./protocol.ts";
import { runBorrowers, runSynthetic } from "./run.ts";
import { memoiseDateMath, memoiseIsoParsing, memoiseZoneOffsets } from "./zone-offsets.ts";

/** One simulation worker: runs its share of the borrowers and posts one tally per policy. */
const port = parentPort;
if (!port) throw new Error("the simulation worker runs in a worker thread");
const send = (message: FromSimulationWorker) => port.postMessage(message);

memoiseZoneOffsets();
memoiseIsoParsing();
memoiseDateMath();
const job = workerData as WorkerJob;
try {
  const progress = (done: number) => send({ type: "progress", done });
  const tallies =
    job.input.kind === "synthetic"
      ? runSynthetic(job.input.slice, job.settings, progress)
      : runBorrowers(job.input.borrowers, job.settings, progress);
  send({ type: "done", tallies });
} catch (error) {
  send({ type: "failed", message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
}
