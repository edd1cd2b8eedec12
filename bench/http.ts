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
