import { parentPort, workerData } from "node:worker_threads";
import { memoiseDateMath, memoiseIsoParsing, memoiseZoneOffsets } from "../zone-offsets.ts";
import type { MonthLoadData } from "./load.ts";
import type { SampleShare } from "./plan.ts";
import { type CapacityInput, loadShare } from "./share.ts";

/** What a capacity worker is given, and what it answers. */
export interface CapacityJob {
  input: CapacityInput;
  share: SampleShare;
}
export type FromCapacityWorker =
  | { type: "progress"; done: number }
  | { type: "done"; load: MonthLoadData; planned: number; distinctPlans: number; individual: number }
  | { type: "failed"; message: string };

/** One capacity worker: plans its share of the sample and posts the month's counts. */
const port = parentPort;
if (!port) throw new Error("the capacity worker runs in a worker thread");
const send = (message: FromCapacityWorker) => port.postMessage(message);

memoiseZoneOffsets();
memoiseIsoParsing();
memoiseDateMath();
const job = workerData as CapacityJob;
try {
  const { load, ...counts } = loadShare(job.input, job.share, (done) => send({ type: "progress", done }));
  send({ type: "done", load: load.toData(), ...counts });
} catch (error) {
  send({ type: "failed", message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
}
