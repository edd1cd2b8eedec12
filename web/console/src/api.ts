/**
 * The console talks to the API it is served beside (same origin, so no CORS and the key never leaves it). The API
 * key is kept in the tab's sessionStorage only: closing the tab signs out.
 */
const KEY = "dunning.apiKey";

export type Role = "lender" | "ops" | "compliance" | "legal" | "agent";
export interface Me {
  tenantId: string;
  role: Role;
  keyId: string;
}

/** The API's base: the console lives at `<base>/console/`, the API at `<base>/v1/`. */
export function apiBase(): string {
  // The first `/console` segment: what follows it (a loan id, say) may contain the word again.
  const match = /^(.*?)\/console(?:\/|$)/.exec(window.location.pathname);
  return match?.[1] ?? "";
}

export const storedKey = (): string | null => sessionStorage.getItem(KEY);
export const forgetKey = (): void => sessionStorage.removeItem(KEY);
export const keepKey = (key: string): void => sessionStorage.setItem(KEY, key);

/** An API error as the contract shapes it: status, code, message and the fields it names. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: { path: string; message: string }[] = [],
  ) {
    super(message);
  }
}

/** Calls the API with the stored key; answers the parsed JSON or throws an ApiError. */
export async function api<T>(method: string, path: string, body?: unknown, key = storedKey()): Promise<T> {
  const response = await fetch(`${apiBase()}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key ?? ""}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  const parsed = text ? (JSON.parse(text) as unknown) : null;
  if (!response.ok) {
    const error = (parsed as { error?: { code?: string; message?: string; details?: [] } } | null)?.error;
    throw new ApiError(
      response.status,
      error?.code ?? "ERROR",
      error?.message ?? response.statusText,
      error?.details,
    );
  }
  return parsed as T;
}

/** Who the key belongs to: its tenant and role. */
export const whoAmI = (key?: string) => api<Me>("GET", "/v1/me", undefined, key);

/**
 * Fetches a document the API serves as a file (not JSON) with the stored key, and hands it to the browser as a
 * download: the file is saved and opened on its own, never rendered inside the console's origin.
 */
export async function download(path: string, filename: string): Promise<void> {
  const response = await fetch(`${apiBase()}${path}`, {
    headers: { authorization: `Bearer ${storedKey() ?? ""}` },
  });
  if (!response.ok) {
    const error = (
      (await response.json().catch(() => null)) as { error?: { code?: string; message?: string } }
    )?.error;
    throw new ApiError(response.status, error?.code ?? "ERROR", error?.message ?? response.statusText);
  }
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
