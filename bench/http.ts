import { request } from "node:http";

/** A minimal JSON client for the bench's calls to the public API and the local routes. */
export interface JsonResponse {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: the bench reads a few known fields of API answers
  body: any;
  ms: number;
}

export function jsonClient(baseUrl: string, key?: string) {
  return async (method: string, path: string, body?: unknown): Promise<JsonResponse> => {
    const began = performance.now();
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null, ms: performance.now() - began };
  };
}

export function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/**
 * A JSON call that waits as long as the server takes: `fetch` gives up on an answer whose headers take more
 * than five minutes, and advancing the local clock through a burst of thousands of loans can take longer.
 */
export function patientClient(baseUrl: string) {
  return (method: string, path: string, body?: unknown): Promise<JsonResponse> =>
    new Promise((resolve, reject) => {
      const began = performance.now();
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        new URL(path, baseUrl),
        { method, headers: payload ? { "content-type": "application/json" } : {}, timeout: 0 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            resolve({
              status: res.statusCode ?? 0,
              body: text ? JSON.parse(text) : null,
              ms: performance.now() - began,
            });
          });
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(payload);
    });
}
