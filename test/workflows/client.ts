/* biome-ignore-all lint/suspicious/noExplicitAny: test responses are checked field by field */
/** A small JSON client for the public contract, used by the workflow and e2e tests. */
export interface ApiResponse<T = any> {
  status: number;
  body: T;
}

export function apiClient(baseUrl: string, key?: string) {
  async function call<T = any>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null } as ApiResponse<T>;
  }
  return {
    get: <T = any>(path: string) => call<T>("GET", path),
    post: <T = any>(path: string, body?: unknown, headers?: Record<string, string>) =>
      call<T>("POST", path, body, headers),
    call,
  };
}

export function loanRequest(loanId: string, overrides: Record<string, unknown> = {}) {
  return {
    loanId,
    borrower: {
      name: "Li Wei",
      email: "li.wei@example.com",
      phone: "+8613800138000",
      locale: "zh-CN",
      timeZone: "Asia/Shanghai",
    },
    amountDue: { amount: "1250.00", currency: "CNY" },
    dueDate: "2026-01-15",
    policyId: "default",
    ...overrides,
  };
}
