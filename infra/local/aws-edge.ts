import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { OutgoingMessage } from "../../functions/ports.ts";
import type { LocalWorkflowEngine } from "./engine.ts";
import type { Outbox } from "./outbox.ts";
import { listen } from "./server.ts";

/**
 * The AWS edge of the embedded stack, on loopback, for the bundles in their sandboxes:
 * - the Step Functions API the production adapter calls (StartExecution, StopExecution; JSON 1.0 protocol,
 *   the errors by the names AWS gives them), in front of the local engine;
 * - the outbox, where SES and SNS would take a message on AWS.
 */
export interface AwsEdge {
  /** Endpoint for the Step Functions client (AWS_ENDPOINT_URL_SFN). */
  stepFunctionsUrl: string;
  /** Where OutboxSender posts messages (LOCAL_OUTBOX_URL). */
  outboxUrl: string;
  close(): Promise<void>;
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

export async function startAwsEdge(engine: LocalWorkflowEngine, outbox: Outbox): Promise<AwsEdge> {
  const server: Server = createServer(async (req, res) => {
    try {
      const body = await readJson(req);
      if (req.url === "/outbox") {
        return answer(res, 200, await outbox.send(body as unknown as OutgoingMessage), "application/json");
      }
      answer(res, 200, await stepFunctions(engine, String(req.headers["x-amz-target"]), body));
    } catch (error) {
      if (error instanceof AwsApiError)
        return answer(res, 400, { __type: error.type, message: error.message });
      answer(res, 500, { __type: "InternalFailure", message: (error as Error).message });
    }
  });
  const url = await listen(server, 0);
  return {
    stepFunctionsUrl: url,
    outboxUrl: `${url}/outbox`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
