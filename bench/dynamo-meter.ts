import { Agent, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";

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
}

export interface DynamoMeter {
  endpoint: string;
  snapshot(): MeterSnapshot;
  close(): Promise<void>;
}

export function emptySnapshot(): MeterSnapshot {
  return { calls: {}, writeUnits: 0, readUnits: 0, failedCalls: 0 };
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
  };
}

export function dataPlaneCalls(snapshot: MeterSnapshot): number {
  return Object.entries(snapshot.calls)
    .filter(([op]) => READ_OPERATIONS.has(op) || WRITE_OPERATIONS.has(op))
    .reduce((sum, [, n]) => sum + n, 0);
}

function unitsOf(consumed: unknown): number {
  const list = Array.isArray(consumed) ? consumed : consumed ? [consumed] : [];
  return list.reduce((sum: number, c: { CapacityUnits?: number }) => sum + (c.CapacityUnits ?? 0), 0);
}

export async function startDynamoMeter(target: string): Promise<DynamoMeter> {
  const upstream = new URL(target);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const state = emptySnapshot();

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const operation = String(req.headers["x-amz-target"] ?? "").split(".")[1] ?? "unknown";
      state.calls[operation] = (state.calls[operation] ?? 0) + 1;
      const metered = READ_OPERATIONS.has(operation) || WRITE_OPERATIONS.has(operation);
      let body = Buffer.concat(chunks);
      if (metered) {
        const json = JSON.parse(body.toString("utf8")) as Record<string, unknown>;
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
