import { randomUUID } from "node:crypto";
import { Worker } from "node:worker_threads";
import { buildBundle, bundleFile, LAMBDA_FUNCTIONS, type LambdaName } from "../lambda-bundles.ts";
import type { VirtualClock } from "./virtual-clock.ts";

/** How a fault injected by a test plays out in the next invocation of a function. */
export type LambdaFault =
  | { kind: "throw"; errorType: string; message?: string }
  /** The sandbox dies mid-invocation (an out-of-memory kill, a segfault): Lambda.Unknown. */
  | { kind: "crash" }
  /** The handler never returns: the function's timeout ends it, Lambda.Unknown. */
  | { kind: "hang" };

/** An invocation that failed, as Step Functions sees it: `name` is the error type. */
export class LambdaInvocationError extends Error {
  constructor(errorType: string, message: string) {
    super(message);
    this.name = errorType;
  }
}

const MAX_KEPT_LOG_LINES = 2000;

/** Lambda's error type for what the runtime cannot report itself: a timeout, a crash, running out of memory. */
export const UNHANDLED = "Lambda.Unknown";

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export interface LocalLambdaOptions {
  /** The function's environment, as CDK would set it, plus the embedded stack's edge endpoints. */
  environment: Record<string, string>;
  /** Overrides the function's configured timeout (tests of the timeout path). */
  timeoutMs?: number;
}

/**
 * One function of the product on the embedded stack: the deployed bundle (the very files CDK uploads) in a
 * sandbox thread with the function's environment, heap limit and timeout. Invocations run concurrently in the
 * sandbox; a timeout or a crash discards it, fails what was in flight with Lambda.Unknown, and the next
 * invocation starts a fresh one (a cold start), as on AWS.
 */
export class LocalLambda {
  private sandbox: Promise<Worker> | undefined;
  private current: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private readonly timeoutMs: number;
  private closed = false;
  /** Sandboxes started so far: the cold starts. */
  coldStarts = 0;
  invocations = 0;
  /** Invocations that have ended, returned or failed: whatever they wrote is written. */
  completed = 0;
  /** The function's most recent log lines (what CloudWatch Logs would hold), also written to this process's stdout. */
  readonly logs: string[] = [];

  constructor(
    readonly name: LambdaName,
    private readonly clock: VirtualClock,
    private readonly options: LocalLambdaOptions,
  ) {
    this.timeoutMs = options.timeoutMs ?? LAMBDA_FUNCTIONS[name].timeoutSeconds * 1000;
  }

  private start(): Promise<Worker> {
    const spec = LAMBDA_FUNCTIONS[this.name];
    this.coldStarts++;
    const worker = new Worker(new URL("./lambda-sandbox.mjs", import.meta.url), {
      workerData: {
        bundleFile: bundleFile(buildBundle(spec.bundle)),
        handlerName: spec.handler,
        functionName: `dunning-${this.name}`,
        memoryMb: spec.memoryMb,
        clock: this.clock.shared,
      },
      env: this.options.environment,
      resourceLimits: { maxOldGenerationSizeMb: spec.memoryMb },
      stdout: true,
    });
    this.keepLogs(worker);
    this.current = worker;
    const ready = new Promise<Worker>((resolve, reject) => {
      worker.once("message", () => resolve(worker));
      worker.once("error", reject);
      worker.once("exit", (code) =>
        reject(new Error(`sandbox of ${this.name} exited during init (${code})`)),
      );
    });
    worker.on("message", (message: SandboxMessage) => this.onResult(message));
    worker.on("error", () => this.discard(worker, "the sandbox crashed"));
    worker.on("exit", () => this.discard(worker, "the sandbox exited"));
    return ready;
  }

  private keepLogs(worker: Worker): void {
    let partial = "";
    worker.stdout.on("data", (chunk: Buffer) => {
      process.stdout.write(chunk);
      const lines = (partial + chunk.toString("utf8")).split("\n");
      partial = lines.pop() ?? "";
      this.logs.push(...lines.filter((line) => line !== ""));
      if (this.logs.length > MAX_KEPT_LOG_LINES) this.logs.splice(0, this.logs.length - MAX_KEPT_LOG_LINES);
    });
  }

  private onResult(message: SandboxMessage): void {
    if (message.op !== "result") return;
    const call = this.pending.get(message.id);
    if (!call) return;
    this.pending.delete(message.id);
    clearTimeout(call.timer);
    if (message.ok) call.resolve(message.result);
    else call.reject(new LambdaInvocationError(message.errorType, message.errorMessage));
  }

  /** The sandbox is gone: everything in flight in it failed as Lambda reports an unhandled error. */
  private discard(worker: Worker, why: string): void {
    if (this.current === worker) {
      this.current = undefined;
      this.sandbox = undefined;
    }
    for (const [id, call] of this.pending) {
      clearTimeout(call.timer);
      call.reject(new LambdaInvocationError(UNHANDLED, `${this.name}: ${why}`));
      this.pending.delete(id);
    }
    void worker.terminate();
  }

  async invoke(event: unknown): Promise<unknown> {
    if (this.closed) throw new LambdaInvocationError(UNHANDLED, `${this.name}: the runtime is stopped`);
    this.sandbox ??= this.start();
    const worker = await this.sandbox;
    const id = ++this.seq;
    this.invocations++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        // Lambda stops the sandbox at the timeout; Step Functions sees Lambda.Unknown.
        this.discard(worker, `timed out after ${this.timeoutMs} ms`);
      }, this.timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      worker.postMessage({
        op: "invoke",
        id,
        requestId: randomUUID(),
        event,
        deadline: performance.timeOrigin + performance.now() + this.timeoutMs,
      });
    }).finally(() => {
      this.completed++;
    });
  }

  /** Makes the next invocation fail in the given way (tests of the workflow's error paths). */
  async injectFault(fault: LambdaFault): Promise<void> {
    this.sandbox ??= this.start();
    (await this.sandbox).postMessage({ op: "fault", fault });
  }

  async close(): Promise<void> {
    this.closed = true;
    const sandbox = this.sandbox;
    this.sandbox = undefined;
    if (sandbox) await (await sandbox.catch(() => undefined))?.terminate();
  }
}

type SandboxMessage =
  | { op: "ready" }
  | { op: "result"; id: number; ok: true; result: unknown }
  | { op: "result"; id: number; ok: false; errorType: string; errorMessage: string };
