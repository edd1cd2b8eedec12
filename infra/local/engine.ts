import { readFileSync } from "node:fs";
import { Worker } from "node:worker_threads";
import type { ExecutionStatus, FromWorker, TaskError, ToWorker } from "./engine-protocol.ts";
import type { VirtualClock } from "./virtual-clock.ts";

/** A task handler as the engine calls it: the Lambda handler with a local invocation context. */
export type LocalTask = (input: unknown) => Promise<unknown>;

export interface ExecutionRecord {
  name: string;
  input: unknown;
  status: ExecutionStatus;
  output?: unknown;
  error?: TaskError;
  /** States entered, in order: the execution history's StateEntered events. */
  states: string[];
  /** Task retries under the ASL's Retry rules (each one a further billed transition on AWS); set at the end. */
  retries: number;
  /** Task resource calls, retries included (Lambda invocations on AWS); set at the end. */
  taskCalls: number;
  /** Virtual-clock instants (epoch ms) it started and ended at: how long it stayed open, which AWS bounds. */
  startedAtMs: number;
  endedAtMs?: number;
}

/** Running totals of the engine's work, for benchmarks and profiling. */
export interface EngineStats {
  /** Task handler calls made on this thread. */
  taskCalls: number;
  /** Real time spent inside task handlers, summed over calls (overlapping calls add up). */
  taskMs: number;
  /** Request/reply round trips to the worker thread (settle, fire). */
  workerRequests: number;
}

/** What an advance of the clock ran into. */
export interface AdvanceResult {
  /** Executions that failed while the clock moved (a step that could not run, after the ASL's retries). */
  failed: ExecutionRecord[];
  /** Where the clock stands: the target, or the instant a failure stopped it at. */
  nowMs: number;
}

/** Work that runs on the virtual clock beside the workflow, such as a scheduled Lambda. */
export interface ScheduledJob {
  /** The next instant (at or after `nowMs`) it has something to do at; null when none is known. */
  nextAt(nowMs: number): Promise<number | null>;
  run(nowMs: number): Promise<void>;
}

/** Loads an ASL file and substitutes `${Name}` placeholders, as CDK's definitionSubstitutions does. */
export function loadDefinition(path: string, substitutions: Record<string, string>): unknown {
  const text = readFileSync(path, "utf8").replace(/\$\{(\w+)\}/g, (_, name: string) => {
    const value = substitutions[name];
    if (value === undefined) throw new Error(`no substitution for \${${name}} in ${path}`);
    return value;
  });
  return JSON.parse(text);
}

/**
 * The local Step Functions: runs the ASL on aws-local-stepfunctions in a worker thread on virtual time,
 * invoking each Task's resource through `tasks` here on the main thread.
 */
export class LocalWorkflowEngine {
  private readonly worker: Worker;
  private readonly replies = new Map<
    number,
    { resolve: (message: FromWorker) => void; reject: (e: Error) => void }
  >();
  private failure: Error | undefined;
  private requestSeq = 0;
  private readonly executions = new Map<string, ExecutionRecord>();
  readonly stats: EngineStats = { taskCalls: 0, taskMs: 0, workerRequests: 0 };
  private advancing: Promise<unknown> = Promise.resolve();
  private driver: NodeJS.Timeout | undefined;
  private driveError: string | undefined;
  private ready: Promise<void>;
  private readonly scheduled: ScheduledJob[] = [];
  /** The executions that ended FAILED during the current advance, in the order they ended. */
  private readonly failures: ExecutionRecord[] = [];

  constructor(
    definition: unknown,
    private readonly tasks: Record<string, LocalTask>,
    private readonly clock: VirtualClock,
  ) {
    this.worker = new Worker(new URL("./engine-worker-entry.mjs", import.meta.url));
    this.worker.on("message", (message: FromWorker) => this.onMessage(message));
    this.worker.on("error", (error) => {
      // The engine cannot go on; every caller waiting on it hears why.
      this.failure = error;
      for (const reply of this.replies.values()) reply.reject(error);
      this.replies.clear();
    });
    this.ready = new Promise((resolve, reject) => this.replies.set(0, { resolve: () => resolve(), reject }));
    this.send({ op: "init", definition, clock: clock.shared });
    if (!clock.frozen) {
      // A running clock: let due steps run as real time passes.
      this.driver = setInterval(() => void this.drive(), 250);
      this.driver.unref();
    }
  }

  /**
   * One round of a running clock. A round that fails (a job's store not answering) is told once, not four times
   * a second, and the next round tries again.
   */
  private async drive(): Promise<void> {
    try {
      await this.advanceTo(this.clock.nowMs());
      this.driveError = undefined;
    } catch (error) {
      const message = (error as Error).message;
      if (message !== this.driveError) process.stderr.write(`local engine: ${message}\n`);
      this.driveError = message;
    }
  }

  private send(message: ToWorker): void {
    this.worker.postMessage(message);
  }

  private request(message: (id: number) => ToWorker): Promise<FromWorker> {
    if (this.failure) return Promise.reject(this.failure);
    const id = ++this.requestSeq;
    this.stats.workerRequests++;
    return new Promise((resolve, reject) => {
      this.replies.set(id, { resolve, reject });
      this.send(message(id));
    });
  }

  private onMessage(message: FromWorker): void {
    switch (message.op) {
      case "invoke":
        void this.invoke(message.callId, message.resource, message.input);
        return;
      case "ended": {
        const record = this.executions.get(message.name);
        if (record) {
          const { status, output, error, states, retries, taskCalls } = message;
          const endedAtMs = this.clock.nowMs();
          Object.assign(record, { status, output, error, states, retries, taskCalls, endedAtMs });
          if (status === "FAILED") this.failures.push(record);
        }
        return;
      }
      default: {
        const reply = this.replies.get(message.id);
        this.replies.delete(message.id);
        reply?.resolve(message);
      }
    }
  }

  private async invoke(callId: number, resource: string, input: unknown): Promise<void> {
    const task = this.tasks[resource];
    const began = performance.now();
    this.stats.taskCalls++;
    try {
      if (!task) throw new Error(`no local handler for ${resource}`);
      const value = await task(input);
      this.stats.taskMs += performance.now() - began;
      this.send({ op: "taskResult", callId, ok: true, value });
    } catch (error) {
      this.stats.taskMs += performance.now() - began;
      const err = error instanceof Error ? error : new Error(String(error));
      this.send({ op: "taskResult", callId, ok: false, error: { name: err.name, message: err.message } });
    }
  }

  /**
   * Starts an execution under a name, as StartExecution does for a Standard workflow: the same name with the
   * same input while it runs is the same execution ("started" again); any other reuse of a name is "exists".
   */
  async start(name: string, input: unknown): Promise<"started" | "exists"> {
    await this.ready;
    const existing = this.executions.get(name);
    if (existing) {
      const same = existing.status === "RUNNING" && JSON.stringify(existing.input) === JSON.stringify(input);
      return same ? "started" : "exists";
    }
    const startedAtMs = this.clock.nowMs();
    this.executions.set(name, {
      name,
      input,
      status: "RUNNING",
      states: [],
      retries: 0,
      taskCalls: 0,
      startedAtMs,
    });
    this.send({ op: "start", name, input });
    return "started";
  }

  /** Stops a running execution; false when no execution has that name. */
  async stop(name: string): Promise<boolean> {
    await this.ready;
    if (!this.executions.has(name)) return false;
    this.send({ op: "stop", name });
    return true;
  }

  execution(name: string): ExecutionRecord | undefined {
    return this.executions.get(name);
  }

  allExecutions(): ExecutionRecord[] {
    return [...this.executions.values()];
  }

  /**
   * Moves virtual time to `targetMs`, running every due Wait → Task in time order and returning only
   * when the engine is idle at the target. Calls are serialised. With `stopOnFailure`, an instant at which
   * an execution failed is as far as the clock goes: what fell due after it is left for the next advance.
   */
  advanceTo(targetMs: number, options: { stopOnFailure?: boolean } = {}): Promise<AdvanceResult> {
    const run = this.advancing.then(async (): Promise<AdvanceResult> => {
      await this.ready;
      // Only what fails during this advance counts (and the list stays as short as one advance's failures).
      this.failures.length = 0;
      const failedSince = () => [...this.failures];
      const stopped = () => options.stopOnFailure === true && this.failures.length > 0;
      let atTarget = false;
      for (;;) {
        const settled = await this.request((id) => ({ op: "settle", id }));
        if (stopped()) return { failed: failedSince(), nowMs: this.clock.nowMs() };
        const nextTimer = settled.op === "settled" ? settled.nextTimerAt : null;
        const due = await this.dueJobs();
        const next = [nextTimer, due.at].filter((t): t is number => t !== null).sort((a, b) => a - b)[0];
        // A running clock has moved past the target meanwhile: what fell due on the way is due too.
        const horizon = Math.max(targetMs, this.clock.nowMs());
        if (next === undefined || next > horizon) {
          // What settling at the target set off (a step's writes, work queued by it) runs before returning.
          if (atTarget) break;
          atTarget = true;
          this.clock.set(targetMs);
          continue;
        }
        this.clock.set(next);
        if (due.at !== null && (nextTimer === null || due.at < nextTimer)) {
          for (const job of due.jobs) await job.run(next);
          continue;
        }
        await this.request((id) => ({ op: "fire", id, upTo: this.clock.nowMs() }));
      }
      return { failed: failedSince(), nowMs: this.clock.nowMs() };
    });
    this.advancing = run.catch(() => {});
    return run;
  }

  /** The jobs beside the workflow (the reconciler, webhooks) due soonest, and when. */
  private async dueJobs(): Promise<{ at: number | null; jobs: ScheduledJob[] }> {
    const nowMs = this.clock.nowMs();
    let at: number | null = null;
    let jobs: ScheduledJob[] = [];
    for (const job of this.scheduled) {
      const jobAt = await job.nextAt(nowMs);
      if (jobAt === null || (at !== null && jobAt > at)) continue;
      if (at === null || jobAt < at) {
        at = jobAt;
        jobs = [];
      }
      jobs.push(job);
    }
    return { at, jobs };
  }

  /**
   * Runs `job` at the instants it names, in time order with the workflow's timers; jobs due at the same instant
   * run in the order they were scheduled.
   */
  schedule(job: ScheduledJob): void {
    this.scheduled.push(job);
  }

  /** Waits until every started execution is idle (waiting on time or finished). */
  async settle(): Promise<void> {
    await this.advanceTo(this.clock.nowMs());
  }

  async close(): Promise<void> {
    if (this.driver) clearInterval(this.driver);
    await this.worker.terminate();
  }
}
