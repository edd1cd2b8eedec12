/** Messages between the local workflow engine (main thread) and its worker. */

export interface TaskError {
  name: string;
  message: string;
}

export type ToWorker =
  | { op: "init"; definition: unknown; clock: Float64Array }
  | { op: "start"; name: string; input: unknown }
  | { op: "stop"; name: string }
  | { op: "settle"; id: number }
  | { op: "fire"; id: number; upTo: number }
  | { op: "taskResult"; callId: number; ok: true; value: unknown }
  | { op: "taskResult"; callId: number; ok: false; error: TaskError };

export type ExecutionStatus = "RUNNING" | "SUCCEEDED" | "FAILED" | "ABORTED";

export type FromWorker =
  | { op: "invoke"; callId: number; resource: string; stateName: string; input: unknown }
  | { op: "settled"; id: number; nextTimerAt: number | null }
  | { op: "fired"; id: number }
  | {
      op: "ended";
      name: string;
      status: Exclude<ExecutionStatus, "RUNNING">;
      output?: unknown;
      error?: TaskError;
      transitions: number;
      states: string[];
      /** Task attempts made again under a Retry rule: billed as transitions on AWS, absent from `states`. */
      retries: number;
      /** Task resource calls (Lambda invocations on AWS), retries included. */
      taskCalls: number;
    };
