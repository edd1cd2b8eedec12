import { Agent, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { keys } from "../functions/adapters/dynamo/schema.ts";

/**
 * A metering proxy in front of DynamoDB Local: the stack under test points its endpoint here, and every
 * request is forwarded with `ReturnConsumedCapacity: TOTAL` added, so DynamoDB Local reports the capacity
 * units each call consumes (it applies the on-demand rules: 1 KB write units, 4 KB read units, transactions
 * at twice the rate). The product code is untouched; DynamoDB Local checks no signature, so the changed
 * body is accepted.
 */

const READ_OPERATIONS = new Set(["GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"]);
const WRITE_OPERATIONS = new Set([
  "PutItem",
  "UpdateItem",
  "DeleteItem",
  "BatchWriteItem",
  "TransactWriteItems",
]);

export interface MeterSnapshot {
  /** Calls per DynamoDB operation (control-plane calls included). */
  calls: Record<string, number>;
  writeUnits: number;
  readUnits: number;
  /** Data-plane calls that failed (conditional checks, cancelled transactions): they report no capacity. */
  failedCalls: number;
  /** The size of every case item written whole (Put), in DynamoDB's bytes, in the order they were sent. */
  caseItemBytes: number[];
}

export interface DynamoMeter {
  endpoint: string;
  snapshot(): MeterSnapshot;
  close(): Promise<void>;
}

export function emptySnapshot(): MeterSnapshot {
  return { calls: {}, writeUnits: 0, readUnits: 0, failedCalls: 0, caseItemBytes: [] };
}

/** What happened between two snapshots. */
export function diffSnapshots(after: MeterSnapshot, before: MeterSnapshot): MeterSnapshot {
  const calls: Record<string, number> = {};
  for (const [op, n] of Object.entries(after.calls)) {
    const delta = n - (before.calls[op] ?? 0);
    if (delta > 0) calls[op] = delta;
  }
  return {
    calls,
    writeUnits: after.writeUnits - before.writeUnits,
    readUnits: after.readUnits - before.readUnits,
    failedCalls: after.failedCalls - before.failedCalls,
    caseItemBytes: after.caseItemBytes.slice(before.caseItemBytes.length),
  };
}

export function dataPlaneCalls(snapshot: MeterSnapshot): number {
  return Object.entries(snapshot.calls)
    .filter(([op]) => READ_OPERATIONS.has(op) || WRITE_OPERATIONS.has(op))
    .reduce((sum, [, n]) => sum + n, 0);
}

type AttributeValue = Record<string, unknown>;

/**
 * An item's size as DynamoDB counts it for capacity: each attribute's name plus its value — strings and
 * binaries by their bytes, numbers by about one byte per two digits plus one, 1 byte for a boolean or null,
 * 3 bytes plus one per element for a map or list.
 */
export function itemBytes(item: Record<string, AttributeValue>): number {
  return Object.entries(item).reduce(
    (sum, [name, value]) => sum + Buffer.byteLength(name) + valueBytes(value),
    0,
  );
}

function valueBytes(value: AttributeValue): number {
  const [type, content] = Object.entries(value)[0] ?? ["NULL", true];
  const number = (n: string) => {
    const digits = (n.toLowerCase().split("e")[0] ?? "").replace(/[-+.]/g, "").replace(/^0+|0+$/g, "");
    return Math.ceil(Math.max(digits.length, 1) / 2) + 1;
  };
  switch (type) {
    case "S":
      return Buffer.byteLength(content as string);
    case "N":
      return number(content as string);
    case "B":
      return Buffer.from(content as string, "base64").length;
    case "SS":
      return (content as string[]).reduce((sum, s) => sum + Buffer.byteLength(s), 0);
    case "NS":
      return (content as string[]).reduce((sum, n) => sum + number(n), 0);
    case "M":
      return (
        3 +
        Object.entries(content as Record<string, AttributeValue>).reduce(
          (sum, [name, v]) => sum + Buffer.byteLength(name) + valueBytes(v) + 1,
          0,
        )
      );
    case "L":
      return 3 + (content as AttributeValue[]).reduce((sum, v) => sum + valueBytes(v) + 1, 0);
    default:
      return 1;
  }
}

const CASE_SORT_KEY = keys.loanCase("", "").sk;

/** The case items a request writes whole: a PutItem's, or the Puts of a TransactWriteItems. */
function caseItemsOf(operation: string, body: Record<string, unknown>): Record<string, AttributeValue>[] {
  const puts =
    operation === "PutItem"
      ? [body]
      : operation === "TransactWriteItems"
        ? ((body.TransactItems as { Put?: Record<string, unknown> }[]) ?? []).flatMap((t) =>
            t.Put ? [t.Put] : [],
          )
        : [];
  return puts
    .map((put) => put.Item as Record<string, AttributeValue> | undefined)
    .filter(
      (item): item is Record<string, AttributeValue> => (item?.sk as { S?: string })?.S === CASE_SORT_KEY,
    );
}

function unitsOf(consumed: unknown): number {
  const list = Array.isArray(consumed) ? consumed : consumed ? [consumed] : [];
  return list.reduce((sum: number, c: { CapacityUnits?: number }) => sum + (c.CapacityUnits ?? 0), 0);
}

/** How the audit stream's writes of the portfolio's daily counters are named among the calls. */
export const PROJECTION_CALL = "TransactWriteItems (daily counters)";

export async function startDynamoMeter(target: string): Promise<DynamoMeter> {
  const upstream = new URL(target);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const state = emptySnapshot();

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const operation = String(req.headers["x-amz-target"] ?? "").split(".")[1] ?? "unknown";
      // The portfolio's daily counters are written by the audit stream's consumer, on its own schedule: counted
      // apart from the workflow's own item calls (their write units still count).
      const projection = operation === "TransactWriteItems" && Buffer.concat(chunks).includes('"PROJECTED"');
      const counted = projection ? PROJECTION_CALL : operation;
      state.calls[counted] = (state.calls[counted] ?? 0) + 1;
      const metered = READ_OPERATIONS.has(operation) || WRITE_OPERATIONS.has(operation);
      let body = Buffer.concat(chunks);
      if (metered) {
        const json = JSON.parse(body.toString("utf8")) as Record<string, unknown>;
        for (const item of caseItemsOf(operation, json)) state.caseItemBytes.push(itemBytes(item));
        json.ReturnConsumedCapacity ??= "TOTAL";
        body = Buffer.from(JSON.stringify(json));
      }
      const headers = { ...req.headers, "content-length": String(body.length), host: upstream.host };
      delete headers["transfer-encoding"];
      const forward = request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent },
        (answer) => {
          const parts: Buffer[] = [];
          answer.on("data", (chunk: Buffer) => parts.push(chunk));
          answer.on("end", () => {
            const text = Buffer.concat(parts);
            if (metered) {
              if ((answer.statusCode ?? 500) >= 400) state.failedCalls++;
              else {
                const units = unitsOf(
                  (JSON.parse(text.toString("utf8")) as { ConsumedCapacity?: unknown }).ConsumedCapacity,
                );
                if (WRITE_OPERATIONS.has(operation)) state.writeUnits += units;
                else state.readUnits += units;
              }
            }
            res.writeHead(answer.statusCode ?? 500, answer.headers);
            res.end(text);
          });
        },
      );
      forward.on("error", (error) => {
        res.writeHead(502);
        res.end(String(error));
      });
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    snapshot: () => structuredClone(state),
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
