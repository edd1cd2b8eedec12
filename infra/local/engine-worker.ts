/**
 * Runs the real ASL on aws-local-stepfunctions in a worker thread whose timers and Date.now follow the
 * virtual clock. The engine's Wait states (and its retry back-offs and task timeouts) are therefore
 * virtual, while the task handlers run on the main thread in real time with real I/O: nothing real ever
 * waits on virtual time.
 */
import { parentPort } from "node:worker_threads";
import type { FromWorker, TaskError, ToWorker } from "./engine-protocol.ts";
import { sharedNow } from "./virtual-clock.ts";

// aws-local-stepfunctions calls Promise.withResolvers (Node 22+); Node 20 needs it provided.
if (!("withResolvers" in Promise)) {
  Object.defineProperty(Promise, "withResolvers", {
    value<T>() {
      let resolve!: (value: T) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

const port = parentPort;
if (!port) throw new Error("engine-worker must run in a worker thread");
const post = (message: FromWorker) => port.postMessage(message);

let clock: Float64Array = new Float64Array(1);
const virtualNow = () => sharedNow(clock);

/** Timers ordered by virtual due time, then by creation. */
interface VirtualTimer {
  id: number;
  at: number;
  callback: () => void;
}
const timers = new Map<number, VirtualTimer>();
let timerSeq = 0;

function installVirtualTimers(): void {
  const realSetImmediate = globalThis.setImmediate;
  Date.now = () => virtualNow();
  const setTimeoutVirtual = (callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const id = ++timerSeq;
    timers.set(id, { id, at: virtualNow() + Math.max(0, ms ?? 0), callback: () => callback(...args) });
    return { id, ref: () => {}, unref: () => {}, hasRef: () => false, [Symbol.toPrimitive]: () => id };
  };
  const clearTimeoutVirtual = (handle: unknown) => {
    const id = typeof handle === "object" && handle !== null ? (handle as { id: number }).id : Number(handle);
    timers.delete(id);
  };
  Object.assign(globalThis, { setTimeout: setTimeoutVirtual, clearTimeout: clearTimeoutVirtual });
  tick = () => new Promise<void>((resolve) => realSetImmediate(resolve));
}
let tick: () => Promise<void> = () => new Promise<void>((resolve) => setImmediate(resolve));

function nextTimerAt(): number | null {
  let next: number | null = null;
  for (const timer of timers.values()) if (next === null || timer.at < next) next = timer.at;
  return next;
}

function fireUpTo(upTo: number): void {
  const due = [...timers.values()].filter((t) => t.at <= upTo).sort((a, b) => a.at - b.at || a.id - b.id);
  for (const timer of due) {
    timers.delete(timer.id);
    timer.callback();
  }
}

// Task calls waiting for the main thread.
const pendingCalls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
let callSeq = 0;

function toError(error: TaskError): Error {
  const err = new Error(error.message);
  err.name = error.name;
  return err;
}

/** Resolves once no task call is outstanding and the engine's microtasks have drained. */
async function settle(): Promise<void> {
  for (;;) {
    await tick();
    await tick();
    if (pendingCalls.size === 0) return;
    await new Promise<void>((resolve) => idleWaiters.push(resolve));
  }
}
const idleWaiters: (() => void)[] = [];

type Engine = typeof import("aws-local-stepfunctions");
let engine: { machine: InstanceType<Engine["StateMachine"]>; taskStates: Map<string, string> } | undefined;
const running = new Map<string, { abort: () => void }>();
const started = new Set<string>();

async function init(definition: { States: Record<string, { Type: string; Resource?: string }> }) {
  const { StateMachine } = await import("aws-local-stepfunctions");
  const taskStates = new Map<string, string>();
  for (const [name, state] of Object.entries(definition.States)) {
    if (state.Type === "Task" && state.Resource) taskStates.set(name, state.Resource);
  }
  // Built once: validation costs ~90 ms per build.
  engine = { machine: new StateMachine(definition as never, { validationOptions: {} }), taskStates };
}

function startExecution(name: string, input: unknown): void {
  if (!engine) throw new Error("engine not initialised");
  if (started.has(name)) return; // same name: idempotent, as StartExecution is
  started.add(name);
  // Counted for the execution history the engine reports at the end (transitions and Lambda invocations).
  const counts = { retries: 0, taskCalls: 0 };
  const localHandlers: Record<string, (input: unknown) => Promise<unknown>> = {};
  for (const [stateName, resource] of engine.taskStates) {
    localHandlers[stateName] = (taskInput) =>
      new Promise((resolve, reject) => {
        const callId = ++callSeq;
        counts.taskCalls++;
        pendingCalls.set(callId, { resolve, reject });
        post({ op: "invoke", callId, resource, stateName, input: taskInput });
      });
  }
  const execution = engine.machine.run(input as never, {
    overrides: { taskResourceLocalHandlers: localHandlers as never },
    noThrowOnAbort: true,
  });
  running.set(name, execution);
  const states: string[] = [];
  void (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type === "StateEntered") states.push(event.state.name);
      else if (event.type === "StateRetried") counts.retries++;
    }
  })();
  execution.result.then(
    async (output) => {
      await tick();
      running.delete(name);
      const aborted = abortedNames.delete(name);
      post({
        op: "ended",
        name,
        status: aborted ? "ABORTED" : "SUCCEEDED",
        output,
        transitions: states.length,
        states,
        ...counts,
      });
    },
    async (error: Error) => {
      await tick();
      running.delete(name);
      post({
        op: "ended",
        name,
        status: "FAILED",
        error: { name: error.name, message: error.message },
        transitions: states.length,
        states,
        ...counts,
      });
    },
  );
}
const abortedNames = new Set<string>();

port.on("message", (message: ToWorker) => {
  switch (message.op) {
    case "init":
      clock = message.clock;
      installVirtualTimers();
      void init(message.definition as never).then(() => post({ op: "settled", id: 0, nextTimerAt: null }));
      return;
    case "start":
      startExecution(message.name, message.input);
      return;
    case "stop": {
      const execution = running.get(message.name);
      if (execution) {
        abortedNames.add(message.name);
        execution.abort();
      }
      return;
    }
    case "settle":
      void settle().then(() => post({ op: "settled", id: message.id, nextTimerAt: nextTimerAt() }));
      return;
    case "fire":
      fireUpTo(message.upTo);
      post({ op: "fired", id: message.id });
      return;
    case "taskResult": {
      const call = pendingCalls.get(message.callId);
      if (!call) return;
      pendingCalls.delete(message.callId);
      if (message.ok) call.resolve(message.value);
      else call.reject(toError(message.error));
      if (pendingCalls.size === 0) for (const wake of idleWaiters.splice(0)) wake();
      return;
    }
  }
});
