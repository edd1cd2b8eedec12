import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { OutgoingMessage } from "../../functions/ports.ts";
import type { LocalWorkflowEngine } from "./engine.ts";
import { LOCAL_ACCOUNT, type LocalQueue } from "./local-queue.ts";
import type { Outbox } from "./outbox.ts";
import { listen } from "./server.ts";
import type { VirtualClock } from "./virtual-clock.ts";

/**
 * The AWS edge of the embedded stack, on loopback, for the bundles in their sandboxes:
 * - the Step Functions API the production adapter calls (StartExecution, StopExecution; JSON 1.0 protocol,
 *   the errors by the names AWS gives them), in front of the local engine;
 * - the outbox, where SES and SNS would take a message on AWS;
 * - SQS's SendMessage and SendMessageBatch (JSON 1.0 protocol) into the stack's queues, on its virtual clock.
 */
export interface AwsEdge {
  /** Endpoint for the Step Functions client (AWS_ENDPOINT_URL_SFN). */
  stepFunctionsUrl: string;
  /** Endpoint for the SQS client (AWS_ENDPOINT_URL_SQS). */
  sqsUrl: string;
  /** Where OutboxSender posts messages (LOCAL_OUTBOX_URL). */
  outboxUrl: string;
  /** The URL of one of the stack's queues, as SQS names it (`<endpoint>/<account>/<name>`). */
  queueUrl(queue: LocalQueue): string;
  close(): Promise<void>;
}

/** What the edge serves besides the workflow engine and the outbox. */
export interface EdgeQueues {
  queues: LocalQueue[];
  clock: VirtualClock;
}

class AwsApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
}

function answer(res: ServerResponse, status: number, body: unknown, type = "application/x-amz-json-1.0") {
  res.writeHead(status, { "content-type": type });
  res.end(JSON.stringify(body));
}

async function stepFunctions(engine: LocalWorkflowEngine, target: string, body: Record<string, unknown>) {
  switch (target) {
    case "AWSStepFunctions.StartExecution": {
      const { stateMachineArn, name, input } = body as {
        stateMachineArn: string;
        name: string;
        input?: string;
      };
      const outcome = await engine.start(name, JSON.parse(input ?? "{}"));
      if (outcome === "exists") {
        throw new AwsApiError("ExecutionAlreadyExists", `Execution Already Exists: '${name}'`);
      }
      return {
        executionArn: `${stateMachineArn.replace(":stateMachine:", ":execution:")}:${name}`,
        startDate: Date.now() / 1000,
      };
    }
    case "AWSStepFunctions.StopExecution": {
      const name = String(body.executionArn).split(":").pop() ?? "";
      if (!(await engine.stop(name))) {
        throw new AwsApiError("ExecutionDoesNotExist", `Execution Does Not Exist: '${body.executionArn}'`);
      }
      return { stopDate: Date.now() / 1000 };
    }
    default:
      throw new AwsApiError("UnknownOperationException", `${target} is not served by the embedded stack`);
  }
}

/** Entries SQS takes in one SendMessageBatch. */
const MAX_BATCH_ENTRIES = 10;

function queueOf(sqs: EdgeQueues, queueUrl: unknown): LocalQueue {
  const name = typeof queueUrl === "string" ? queueUrl.split("/").pop() : undefined;
  const queue = sqs.queues.find((candidate) => candidate.name === name);
  if (!queue) throw new AwsApiError("QueueDoesNotExist", "The specified queue does not exist.");
  return queue;
}

/** One message into a queue; a bad DelaySeconds is the sender's fault, as SQS answers it. */
function sendOne(queue: LocalQueue, sqs: EdgeQueues, entry: Record<string, unknown>) {
  if (typeof entry.MessageBody !== "string" || entry.MessageBody === "") {
    throw new AwsApiError("MissingParameter", "The request must contain the parameter MessageBody.");
  }
  try {
    const sent = queue.send(entry.MessageBody, Number(entry.DelaySeconds ?? 0), sqs.clock.nowMs());
    return { MessageId: sent.messageId, MD5OfMessageBody: sent.md5OfBody };
  } catch (error) {
    if (error instanceof RangeError) throw new AwsApiError("InvalidParameterValue", error.message);
    throw error;
  }
}

function sqsApi(sqs: EdgeQueues, target: string, body: Record<string, unknown>) {
  const queue = queueOf(sqs, body.QueueUrl);
  switch (target) {
    case "AmazonSQS.SendMessage":
      return sendOne(queue, sqs, body);
    case "AmazonSQS.SendMessageBatch": {
      const entries = Array.isArray(body.Entries) ? (body.Entries as Record<string, unknown>[]) : [];
      if (entries.length === 0)
        throw new AwsApiError("EmptyBatchRequest", "There should be at least one entry.");
      if (entries.length > MAX_BATCH_ENTRIES) {
        throw new AwsApiError(
          "TooManyEntriesInBatchRequest",
          `Maximum number of entries per request are ${MAX_BATCH_ENTRIES}.`,
        );
      }
      if (new Set(entries.map((entry) => entry.Id)).size !== entries.length) {
        throw new AwsApiError("BatchEntryIdsNotDistinct", "Two or more batch entries have the same Id.");
      }
      const Successful: unknown[] = [];
      const Failed: unknown[] = [];
      for (const entry of entries) {
        try {
          Successful.push({ Id: entry.Id, ...sendOne(queue, sqs, entry) });
        } catch (error) {
          if (!(error instanceof AwsApiError)) throw error;
          Failed.push({ Id: entry.Id, SenderFault: true, Code: error.type, Message: error.message });
        }
      }
      return { Successful, Failed };
    }
    default:
      throw new AwsApiError("UnsupportedOperation", `${target} is not served by the embedded stack`);
  }
}

export async function startAwsEdge(
  engine: LocalWorkflowEngine,
  outbox: Outbox,
  sqs: EdgeQueues,
): Promise<AwsEdge> {
  const server: Server = createServer(async (req, res) => {
    try {
      const body = await readJson(req);
      if (req.url === "/outbox") {
        return answer(res, 200, await outbox.send(body as unknown as OutgoingMessage), "application/json");
      }
      const target = String(req.headers["x-amz-target"]);
      if (target.startsWith("AmazonSQS.")) return answer(res, 200, sqsApi(sqs, target, body));
      answer(res, 200, await stepFunctions(engine, target, body));
    } catch (error) {
      if (error instanceof AwsApiError)
        return answer(res, 400, { __type: error.type, message: error.message });
      answer(res, 500, { __type: "InternalFailure", message: (error as Error).message });
    }
  });
  const url = await listen(server, 0);
  return {
    stepFunctionsUrl: url,
    sqsUrl: url,
    outboxUrl: `${url}/outbox`,
    queueUrl: (queue) => `${url}/${LOCAL_ACCOUNT}/${queue.name}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
