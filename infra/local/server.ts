import { randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join, resolve, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";
import { DateTime, Duration } from "luxon";
import { MAX_BODY_BYTES } from "../../functions/api/app.ts";
import { EXPORT_NAME } from "../../functions/ports/export-sink.ts";
import type { ExecutionRecord, LocalWorkflowEngine } from "./engine.ts";
import type { Outbox } from "./outbox.ts";
import type { VirtualClock } from "./virtual-clock.ts";

/** The API function as API Gateway invokes it. */
type ApiHandler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

export interface LocalServerDeps {
  api: ApiHandler;
  /** The borrowers' page function, for /p/. */
  portal: ApiHandler;
  /** The ops console's files, at /console/. */
  console: ApiHandler;
  clock: VirtualClock;
  engine: LocalWorkflowEngine;
  outbox: Outbox;
  /** The folder the local export sink writes to; GET /local/exports/<file> serves it. */
  exportsDir?: string;
  /** Whether the store answers now (GET /health). */
  storeAnswers?: () => Promise<boolean>;
  /** Settles once the stack has created its functions: requests that come before wait for it. */
  ready?: Promise<void>;
}

class LocalRouteError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, statusCode: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(statusCode, { "content-type": "application/json; charset=utf-8", ...headers });
  res.end(JSON.stringify(body));
}

/** Reads the body, refusing (413) as soon as it grows past the limit rather than buffering it all. */
function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new LocalRouteError(413, "PAYLOAD_TOO_LARGE", `the body exceeds ${MAX_BODY_BYTES} bytes`));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** The same event API Gateway's REST proxy integration hands the Lambda. */
function toApiGatewayEvent(req: IncomingMessage, url: URL, body: string): APIGatewayProxyEvent {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(",") : value;
  }
  const query = url.searchParams.size > 0 ? Object.fromEntries(url.searchParams) : null;
  return {
    httpMethod: req.method ?? "GET",
    path: url.pathname,
    resource: "/{proxy+}",
    headers,
    multiValueHeaders: {},
    queryStringParameters: query,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    body: body === "" ? null : body,
    isBase64Encoded: false,
    requestContext: {
      requestId: randomUUID(),
      stage: "local",
      identity: { sourceIp: req.socket.remoteAddress ?? "127.0.0.1" },
    } as APIGatewayProxyEvent["requestContext"],
  };
}

/** The latest instant the clock may be moved to: dates beyond it are not ones a loan can have. */
export const MAX_CLOCK_INSTANT = "2200-01-01T00:00:00Z";

function parseAdvance(body: string, nowMs: number): number {
  const target = parseAdvanceTarget(body, nowMs);
  if (!Number.isFinite(target) || target > Date.parse(MAX_CLOCK_INSTANT)) {
    throw new LocalRouteError(
      400,
      "VALIDATION_FAILED",
      `the clock goes no further than ${MAX_CLOCK_INSTANT}`,
    );
  }
  return target;
}

function parseAdvanceTarget(body: string, nowMs: number): number {
  let request: { by?: unknown; to?: unknown };
  try {
    request = JSON.parse(body || "{}");
  } catch {
    throw new LocalRouteError(400, "INVALID_JSON", "the body is not valid JSON");
  }
  if (typeof request.by === "string") {
    const duration = Duration.fromISO(request.by);
    if (!duration.isValid || duration.toMillis() < 0) {
      throw new LocalRouteError(
        400,
        "VALIDATION_FAILED",
        "by must be a positive ISO 8601 duration such as P3D",
      );
    }
    return DateTime.fromMillis(nowMs, { zone: "utc" }).plus(duration).toMillis();
  }
  if (typeof request.to === "string") {
    const to = DateTime.fromISO(request.to, { setZone: true });
    if (!to.isValid || !/[Zz]|[+-]\d\d:?\d\d$/.test(request.to)) {
      throw new LocalRouteError(400, "VALIDATION_FAILED", "to must be an ISO 8601 timestamp with a zone");
    }
    if (to.toMillis() < nowMs)
      throw new LocalRouteError(409, "CLOCK_BACKWARDS", "the clock never goes backwards");
    return to.toMillis();
  }
  throw new LocalRouteError(400, "VALIDATION_FAILED", 'send {"by": "P3D"} or {"to": "2026-01-20T00:00:00Z"}');
}

/**
 * Steps failed on the way: the clock stays at the instant they failed at rather than passing what fell due
 * after, and the answer names the loans and the state each failed in (each case is flagged for attention
 * once its failure could be recorded). With the store not answering it is a 503 to retry later.
 */
function sendStoppedAdvance(
  res: ServerResponse,
  failed: ExecutionRecord[],
  nowMs: number,
  storeAnswers: boolean,
) {
  const now = new Date(nowMs).toISOString();
  const loans = failed.map((execution) => {
    const input = execution.input as { loanId?: string };
    const failedState = execution.states.find((state) => state.endsWith(" (failed)"));
    return {
      loanId: input.loanId ?? null,
      execution: execution.name,
      state: failedState?.slice(0, -" (failed)".length) ?? execution.states.at(-1) ?? null,
    };
  });
  const message =
    `${failed.length} workflow(s) failed, so the clock stopped at ${now}: ` +
    (storeAnswers
      ? "see GET /v1/loans?attention=true, remove the cause, restart them and advance again"
      : "the store is not answering; advance again once it is back");
  const body = { error: { code: "STEPS_FAILED", message }, now, failed: loans };
  return storeAnswers ? send(res, 500, body) : send(res, 503, body, { "retry-after": "5" });
}

const EXPORTS_PREFIX = "/local/exports/";

/** Streams one export file of the exports folder; a name that is not one safe path segment is refused. */
async function serveExport(dir: string | undefined, url: URL, res: ServerResponse) {
  let name: string;
  try {
    name = decodeURIComponent(url.pathname.slice(EXPORTS_PREFIX.length));
  } catch {
    throw new LocalRouteError(400, "VALIDATION_FAILED", "not a valid export file name");
  }
  if (!EXPORT_NAME.test(name))
    throw new LocalRouteError(400, "VALIDATION_FAILED", "not a valid export file name");
  if (!dir) throw new LocalRouteError(404, "NOT_FOUND", "no such export");
  const root = resolve(dir);
  const path = resolve(join(root, name));
  if (!path.startsWith(`${root}${sep}`)) {
    throw new LocalRouteError(404, "NOT_FOUND", "no such export");
  }
  const info = await stat(path).catch(() => null);
  if (!info?.isFile()) throw new LocalRouteError(404, "NOT_FOUND", "no such export");
  const type = name.endsWith(".json")
    ? "application/json; charset=utf-8"
    : name.endsWith(".csv")
      ? "text/csv; charset=utf-8"
      : "application/x-ndjson; charset=utf-8";
  res.writeHead(200, { "content-type": type, "content-length": String(info.size) });
  try {
    await pipeline(createReadStream(path), res);
  } catch {
    res.destroy(); // the status line is sent: all that is left is to cut the response short
  }
}

async function handleLocal(deps: LocalServerDeps, req: IncomingMessage, url: URL, res: ServerResponse) {
  const route = `${req.method} ${url.pathname}`;
  if (req.method === "GET" && url.pathname.startsWith(EXPORTS_PREFIX)) {
    return serveExport(deps.exportsDir, url, res);
  }
  switch (route) {
    case "GET /health": {
      if (!deps.storeAnswers || (await deps.storeAnswers())) return send(res, 200, { status: "ok" });
      return send(res, 503, { status: "unavailable", store: "not answering" }, { "retry-after": "5" });
    }
    case "GET /local/clock":
      return send(res, 200, { now: deps.clock.now().toISOString(), frozen: deps.clock.frozen });
    case "POST /local/clock/advance": {
      const target = parseAdvance(await readBody(req), deps.clock.nowMs());
      const { failed, nowMs } = await deps.engine.advanceTo(target, { stopOnFailure: true });
      if (failed.length > 0) {
        const storeAnswers = deps.storeAnswers ? await deps.storeAnswers() : true;
        return sendStoppedAdvance(res, failed, nowMs, storeAnswers);
      }
      return send(res, 200, { now: deps.clock.now().toISOString() });
    }
    case "GET /local/outbox": {
      const filter = {
        ...(url.searchParams.get("loanId") ? { loanId: url.searchParams.get("loanId") as string } : {}),
        ...(url.searchParams.get("channel") ? { channel: url.searchParams.get("channel") as string } : {}),
      };
      return send(res, 200, { messages: deps.outbox.list(filter) });
    }
    default:
      throw new LocalRouteError(404, "ROUTE_NOT_FOUND", "no such route");
  }
}

export function createLocalServer(deps: LocalServerDeps): Server {
  return createServer(async (req, res) => {
    try {
      await deps.ready;
      const url = new URL(req.url ?? "/", "http://localhost");
      const target = url.pathname.startsWith("/v1/")
        ? deps.api
        : url.pathname.startsWith("/p/")
          ? deps.portal
          : url.pathname === "/console" || url.pathname.startsWith("/console/")
            ? deps.console
            : null;
      if (!target) return await handleLocal(deps, req, url, res);
      const event = toApiGatewayEvent(req, url, await readBody(req));
      const result = await target(event);
      res.writeHead(result.statusCode, (result.headers ?? {}) as Record<string, string>);
      res.end(result.body);
    } catch (error) {
      if (error instanceof LocalRouteError) {
        return send(res, error.statusCode, { error: { code: error.code, message: error.message } });
      }
      process.stderr.write(`local server error: ${(error as Error).stack}\n`);
      send(res, 500, { error: { code: "INTERNAL", message: "something went wrong on our side" } });
    }
  });
}

/** Stops listening and drops the connections still open. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export async function listen(server: Server, port: number, host = "127.0.0.1"): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return `http://${host}:${address.port}`;
}
