/**
 * One Lambda sandbox of the embedded stack, in a worker thread: loads a deployed bundle as the Node.js runtime
 * would, with the function's environment, and answers invocations the way the runtime reports them — a result,
 * or an error whose type is `error.name`. The only thing that differs from AWS is time: `Date` follows the
 * embedded stack's virtual clock (timers stay real, so I/O never waits on virtual time).
 *
 * Plain JavaScript on purpose: nothing of the product's sources is loaded here, only the bundle.
 */

import { pathToFileURL } from "node:url";
import { parentPort, workerData } from "node:worker_threads";

const { bundleFile, handlerName, functionName, memoryMb, clock } = workerData;

// The same reading as VirtualClock's sharedNow: [instant, real time at that instant, frozen].
const realEpochMs = () => performance.timeOrigin + performance.now();
const virtualNow = () => (clock[2] === 1 ? clock[0] : clock[0] + (realEpochMs() - clock[1]));

const RealDate = Date;
globalThis.Date = new Proxy(RealDate, {
  construct: (target, args, newTarget) =>
    Reflect.construct(target, args.length === 0 ? [virtualNow()] : args, newTarget),
  apply: () => new RealDate(virtualNow()).toString(),
  get: (target, property, receiver) =>
    property === "now" ? virtualNow : Reflect.get(target, property, receiver),
});

const module = await import(pathToFileURL(bundleFile).href);
const handler = module[handlerName];
if (typeof handler !== "function") throw new Error(`${bundleFile} exports no handler ${handlerName}`);

/** Faults a test asked for, applied to the next invocations in order. */
const faults = [];

function context(requestId, deadline) {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: String(memoryMb),
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "local",
    getRemainingTimeInMillis: () => Math.max(0, deadline - realEpochMs()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

async function invoke({ id, requestId, event, deadline }) {
  const fault = faults.shift();
  if (fault?.kind === "crash") process.exit(1);
  if (fault?.kind === "hang") return; // never answers: the runtime's timeout ends it
  try {
    if (fault?.kind === "throw") {
      const error = new Error(fault.message ?? "injected fault");
      error.name = fault.errorType;
      throw error;
    }
    const result = await handler(event, context(requestId, deadline));
    parentPort.postMessage({ op: "result", id, ok: true, result: result ?? null });
  } catch (error) {
    const errorType = error instanceof Error ? error.name : typeof error;
    const errorMessage = error instanceof Error ? error.message : String(error);
    parentPort.postMessage({ op: "result", id, ok: false, errorType, errorMessage });
  }
}

parentPort.on("message", (message) => {
  if (message.op === "invoke") void invoke(message);
  else if (message.op === "fault") faults.push(message.fault);
});
parentPort.postMessage({ op: "ready" });
