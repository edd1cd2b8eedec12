import { randomBytes } from "node:crypto";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { DynamoApiKeyStore } from "../../functions/adapters/dynamo/api-key-store.ts";
import { DynamoCaseRepository } from "../../functions/adapters/dynamo/case-repository.ts";
import { makeDocumentClient } from "../../functions/adapters/dynamo/client.ts";
import { MAX_BODY_BYTES, routeTable } from "../../functions/api/app.ts";
import { type AuditEntry, TENANT_SCOPE, verifyChain } from "../../functions/domain/audit-chain.ts";
import { announceEntries } from "../../functions/domain/webhooks/lender-events.ts";
import { NOTHING_ANNOUNCED } from "../../functions/domain/webhooks/types.ts";
import { ROLES } from "../../functions/ports.ts";
import { type LocalStack, startLocalStack } from "../../infra/local/stack.ts";
import { loanRequest } from "./client.ts";
import { fillPath } from "./route-requests.ts";

/**
 * Property-based fuzzing of every route over real HTTP on the local stack (DynamoDB Local, the real handler):
 * random and malicious bodies, headers, path parameters and query strings, with valid and invalid keys. Never a
 * 5xx; every error in the contract's shape as JSON; and afterwards no partial write: every case's audit chain
 * verifies up to the case's stored head, starts with loan_subscribed, and no audit trail lacks its case.
 *
 * FUZZ_RUNS (batches of 8 requests, default 1300) and FUZZ_SEED tune a run; the seed is printed.
 */
const BATCH = 8;
const RUNS = Number(process.env.FUZZ_RUNS ?? 1300);
// CI replays one fixed seed (a red build must be reproducible); local runs explore a new one each time.
const SEED = Number(process.env.FUZZ_SEED ?? (process.env.CI ? 20261123 : Date.now() % 2 ** 31));

let stack: LocalStack;
const suffix = randomBytes(4).toString("hex");
const prefix = `fz-${suffix}-`;
const OTHER_TENANT = `fz-other-${suffix}`;
let client: ReturnType<typeof makeDocumentClient>;
let otherLenderKey: string;
let revokedKey: string;
/** Loans that exist before the run (half of the pool), so events and reads reach real cases. */
const POOL = Array.from({ length: 12 }, (_, i) => `fz-${i}`);

beforeAll(async () => {
  const endpoint = inject("dynamoEndpoint");
  stack = await startLocalStack({
    clockStart: new Date("2026-01-05T00:00:00Z"),
    frozen: true,
    port: 0,
    dynamoEndpoint: endpoint,
    tablePrefix: prefix,
  });
  client = makeDocumentClient({ endpoint });
  const store = new DynamoApiKeyStore(client, { stateTable: `${prefix}dunning-state` });
  otherLenderKey = `dk_other_${randomBytes(12).toString("hex")}`;
  await store.put(otherLenderKey, { tenantId: OTHER_TENANT, role: "lender" });
  revokedKey = `dk_revoked_${randomBytes(12).toString("hex")}`;
  await store.put(revokedKey, { tenantId: "demo", role: "lender" });
  await store.revoke(revokedKey);
  for (const loanId of POOL.slice(0, 6)) {
    const res = await fetch(`${stack.url}/v1/loans`, {
      method: "POST",
      headers: { authorization: `Bearer ${stack.keys.lender}`, "content-type": "application/json" },
      body: JSON.stringify(loanRequest(loanId)),
    });
    expect(res.status).toBe(201);
  }
});

afterAll(async () => {
  await stack?.stop();
});

// ---------------------------------------------------------------------------------------------------------
// Generators

type KeyState = "valid" | "other-tenant" | "none" | "invalid";

interface FuzzCase {
  method: string;
  path: string;
  headers: [string, string][];
  body?: string;
  keyState: KeyState;
}

const HOSTILE_STRINGS = [
  "__proto__",
  "constructor",
  "prototype",
  "' OR '1'='1",
  "1; DROP TABLE loans; --",
  '{"$gt": ""}',
  "$where",
  "attribute_exists(pk)",
  "T#demo#LOAN#fz-0",
  "KEY#0000",
  "#pk",
  ":pk",
  "NaN",
  "Infinity",
  "-Infinity",
  "-0",
  "1e309",
  "0x10",
  "1_000",
  "null",
  "undefined",
  "true",
  "",
  " ",
  "\u0000",
  "\u202e\u0644\u0627",
  "𝕷𝖔𝖆𝖓",
  "李伟",
  "\ud800",
  "%00",
  "../../etc/passwd",
  "<script>alert(1)</script>",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a log4shell-style probe, not a template
  "${jndi:ldap://x}",
  "{{constructor.constructor('return process')()}}",
];

const hostileString = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 3, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ maxLength: 2000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1000, max: 100_000 }).map((n) => "x".repeat(n)) },
);

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  fc.integer(),
  fc.double(),
  fc.constantFrom(null, true, false, [], {}, 0, -1, 1e308, Number.MAX_SAFE_INTEGER + 2),
  fc.jsonValue({ maxDepth: 3 }),
);

/** Mostly the valid value, sometimes a hostile one: most requests reach the use cases, many get refused. */
const mostly = <T>(valid: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 12, arbitrary: valid as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: hostileValue });

const amountLike = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 2000 }).map((n) => `${n}.00`) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "0.01",
      "1250.00",
      "800",
      "0",
      "-1.00",
      "1.001",
      "999999999999999.9999",
      "1e3",
    ),
  },
  { weight: 1, arbitrary: fc.oneof(fc.double().map(String), fc.integer(), hostileValue) },
);
const dateLike = mostly(
  fc.oneof(
    fc
      .date({ min: new Date("2026-01-01"), max: new Date("2026-12-31"), noInvalidDate: true })
      .map((d) => d.toISOString().slice(0, 10)),
    fc.constantFrom("2026-02-30", "1999-12-31", "2101-01-01", "2026-1-5", "20260115"),
  ),
);
const currencyLike = fc.oneof(
  { weight: 12, arbitrary: fc.constant("CNY") },
  { weight: 1, arbitrary: fc.constantFrom("USD", "JPY", "KWD", "XXX", "cny", "", "CN¥") },
  { weight: 1, arbitrary: hostileValue },
);

/** Loan ids valid subscriptions create during the run; events and reads aim at them too. */
const createdId = fc.integer({ min: 0, max: 400 }).map((n) => `fz-n-${n}`);
const loanIdLike = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...POOL) },
  { weight: 3, arbitrary: createdId },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,20}$/) },
  { weight: 1, arbitrary: hostileString },
);

/** Percent-encodes a path segment; a lone surrogate becomes its (invalid) UTF-8 bytes, which is hostile too. */
function encodeSegment(segment: string): string {
  try {
    return encodeURIComponent(segment);
  } catch {
    return `%ED%A0%80${encodeURIComponent(segment.replace(/[\ud800-\udfff]/g, ""))}`;
  }
}

/** Valid-looking subscriptions and events, some mutated: they reach the use cases and write. */
const subscribeBody = fc
  .record({
    loanId: loanIdLike,
    amount: amountLike,
    currency: currencyLike,
    dueDate: dateLike,
    email: mostly(fc.constantFrom("li.wei@example.com", undefined)),
    phone: mostly(fc.constantFrom("+8613800138000", "+12025550123", undefined)),
    locale: mostly(fc.constantFrom("zh-CN", "en-US")),
    timeZone: mostly(fc.constantFrom("Asia/Shanghai", "America/New_York", "Mars/Olympus")),
    policyId: mostly(fc.constantFrom(undefined, "default")),
  })
  .map((v) => ({
    loanId: v.loanId,
    borrower: { name: "Li Wei", email: v.email, phone: v.phone, locale: v.locale, timeZone: v.timeZone },
    amountDue: { amount: v.amount, currency: v.currency },
    dueDate: v.dueDate,
    ...(v.policyId === undefined ? {} : { policyId: v.policyId }),
  }));

const EVENT_TYPES = [
  "payment",
  "payment_reversed",
  "promise_to_pay",
  "grace_extension",
  "installment_plan",
  "settlement",
  "dispute_opened",
  "dispute_resolved",
  "bankruptcy",
  "deceased",
  "cease_contact",
  "opt_out",
  "opt_in",
  "withdrawn",
];
const moneyLike = fc.oneof(
  { weight: 4, arbitrary: fc.record({ amount: amountLike, currency: fc.constant("CNY") }) },
  { weight: 1, arbitrary: fc.record({ amount: amountLike, currency: currencyLike }) },
  { weight: 1, arbitrary: hostileValue },
);
const EVENT_FIELDS: Record<string, string[]> = {
  payment: ["amount"],
  payment_reversed: ["amount"],
  promise_to_pay: ["amount", "promisedDate"],
  grace_extension: ["newDueDate"],
  installment_plan: ["installments"],
  settlement: ["amount", "payBy"],
  opt_out: ["channel"],
  opt_in: ["channel"],
};
/** An event with the fields its type takes (sometimes every field, which strict schemas refuse). */
const eventBody = fc
  .record({
    type: fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom(...EVENT_TYPES) },
      { weight: 1, arbitrary: hostileValue },
    ),
    amount: moneyLike,
    promisedDate: dateLike,
    newDueDate: dateLike,
    payBy: dateLike,
    channel: mostly(fc.constantFrom("sms", "email")),
    installments: fc.oneof(
      fc.array(fc.record({ dueDate: dateLike, amount: moneyLike }), { maxLength: 4 }),
      hostileValue,
    ),
    occurredAt: mostly(
      fc.constantFrom("2026-01-05T00:00:00Z", "2026-01-04T00:00:00+08:00", "2026-13-01T00:00:00Z"),
    ),
    eventId: fc.option(mostly(fc.stringMatching(/^[a-z0-9-]{1,12}$/)), { nil: undefined }),
    withOccurredAt: fc.boolean(),
    everyField: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
  })
  .map(({ everyField, withOccurredAt, ...fields }) => {
    const keep = new Set([
      "type",
      "eventId",
      // `type` may be any hostile value (an object without a prototype cannot even be stringified).
      ...(typeof fields.type === "string" && Object.hasOwn(EVENT_FIELDS, fields.type)
        ? (EVENT_FIELDS[fields.type] ?? [])
        : []),
    ]);
    if (withOccurredAt) keep.add("occurredAt");
    const picked: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(fields)) if (everyField || keep.has(key)) picked[key] = value;
    return picked;
  });

/** A JSON value serialised, or text that is not JSON at all. */
const rawBody: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: subscribeBody.map((b) => JSON.stringify(b)) },
  { weight: 8, arbitrary: eventBody.map((b) => JSON.stringify(b)) },
  { weight: 3, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
  {
    weight: 2,
    arbitrary: fc.constant(JSON.stringify(loanRequest("fz-batch"))).map((l) => `{"loans":[${l}]}`),
  },
  {
    // Prototype pollution: keys JSON.stringify would never write.
    weight: 3,
    arbitrary: fc
      .tuple(fc.constantFrom("__proto__", "constructor", "prototype"), fc.constantFrom(...EVENT_TYPES))
      .map(
        ([key, type]) =>
          `{"type":"${type}","channel":"sms","${key}":{"isAdmin":true,"role":"ops","tenantId":"other","polluted":1},"amount":{"amount":"1.00","currency":"CNY","${key}":{"x":1}}}`,
      ),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom("[", '{"a":', '{"type":'), fc.integer({ min: 100, max: 100_000 }))
      .map(([open, depth]) => {
        const close = open === "[" ? "]" : "}";
        return `${open.repeat(depth)}1${close.repeat(depth)}`;
      }),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "",
      "{",
      "}",
      "{'type': 'payment'}",
      '{"type": "payment",}',
      "NaN",
      "[1, 2, NaN]",
      '{"amount": Infinity}',
      "\ufeff{}",
      "null",
      '"just a string"',
      "0",
      "true",
      "<xml/>",
      "type=payment&amount=1",
      '{"type":"payment"}{"type":"payment"}',
      "\u0000",
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 300 }) },
);

/** Sizes around and past the limit: only these must be 413. */
const oversizedBody = fc
  .integer({ min: MAX_BODY_BYTES + 1, max: MAX_BODY_BYTES + 4096 })
  .map((size) => `{"loanId":"${"x".repeat(size - 13)}"}`);

const CONTENT_TYPES = [
  "application/json",
  "application/json; charset=utf-8",
  "APPLICATION/JSON",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/xml",
  "",
  "application/jsonx",
  "json",
];

/** Header values fetch can send: printable Latin-1, no surrounding whitespace. */
const headerValue = fc
  .oneof(
    hostileString,
    fc.string({ maxLength: 300 }),
    fc.integer({ min: 250, max: 5000 }).map((n) => "k".repeat(n)),
  )
  .map((s) =>
    s
      .replace(/[^\x21-\x7e\xa0-\xff ]/g, "")
      .trim()
      .slice(0, 8000),
  );

const authArb = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...ROLES).map((role) => ({ role, state: "valid" as const })) },
  { weight: 2, arbitrary: fc.constant({ role: "other-lender", state: "other-tenant" as const }) },
  {
    weight: 4,
    arbitrary: fc
      .constantFrom(
        "none",
        "unknown",
        "revoked",
        "basic",
        "empty-bearer",
        "two-keys",
        "duplicate",
        "lowercase",
        "long",
        "garbage",
      )
      .map((role) => ({ role, state: "invalid" as const })),
  },
);

const pathArb = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      route: fc.integer({ min: 0, max: 1000 }),
      loanId: fc.oneof(
        { weight: 4, arbitrary: loanIdLike.map((id) => encodeSegment(String(id))) },
        {
          weight: 2,
          arbitrary: fc.constantFrom(
            "a%2Fb",
            "%2F",
            "..%2F..%2Flocal%2Fclock",
            "fz-0%2Fevents",
            "%252F",
            "%00",
            "%C0%AF",
            "%E2%80%AE",
            "fz-0%20",
            "%20fz-0",
            "__proto__",
            "constructor",
            "hasOwnProperty",
            "fz-0;x=1",
            "fz-0%3Bx",
          ),
        },
        { weight: 1, arbitrary: fc.integer({ min: 129, max: 6000 }).map((n) => `L${"1".repeat(n)}`) },
        { weight: 1, arbitrary: fc.string({ maxLength: 50 }).map(encodeSegment) },
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc
      .array(
        fc.oneof(
          fc.constantFrom("loans", "audit", "events", "v1", "policies", "handoffs", "export", "ack"),
          hostileString,
        ),
        { maxLength: 4 },
      )
      .map((segments) => ({ raw: `/v1/${segments.map((s) => encodeSegment(String(s))).join("/")}` })),
  },
);

const queryArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant("") },
  {
    weight: 2,
    arbitrary: fc
      .array(
        fc.tuple(
          fc.oneof(
            fc.constantFrom(
              "status",
              "stage",
              "limit",
              "cursor",
              "from",
              "to",
              "format",
              "loanId",
              "__proto__",
            ),
            fc.string({ maxLength: 10 }),
          ),
          fc.oneof(
            fc.constantFrom(
              "active",
              "legal",
              "0",
              "-1",
              "101",
              "1e3",
              "NaN",
              "jsonl",
              "csv",
              "xml",
              "eyJ2IjoxfQ",
            ),
            hostileString.map((s) => s.slice(0, 3000)),
          ),
        ),
        { maxLength: 4 },
      )
      .map(
        (pairs) =>
          `?${new URLSearchParams(pairs.map(([k, v]) => [String(k), String(v)] as [string, string]))}`,
      ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom("?limit=1&limit=2", "?%zz", "?a[b]=1&a[__proto__][x]=1", "?&&&", "?="),
  },
);

const hostileCase = fc
  .record({
    path: pathArb,
    query: queryArb,
    method: fc.oneof(
      { weight: 6, arbitrary: fc.constant("route") },
      { weight: 1, arbitrary: fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD") },
    ),
    auth: authArb,
    body: fc.oneof(
      { weight: 20, arbitrary: rawBody },
      { weight: 3, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: oversizedBody },
    ),
    contentType: fc.oneof(
      { weight: 8, arbitrary: fc.constant("application/json") },
      { weight: 2, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
      { weight: 1, arbitrary: fc.constant(undefined) },
    ),
    idempotencyKey: fc.oneof(
      { weight: 3, arbitrary: fc.constant(undefined) },
      { weight: 2, arbitrary: fc.stringMatching(/^[a-z0-9]{1,6}$/) },
      { weight: 1, arbitrary: headerValue },
    ),
    extraHeaders: fc.array(
      fc.tuple(
        fc.constantFrom(
          "x-forwarded-for",
          "x-tenant-id",
          "x-role",
          "x-amz-security-token",
          "cookie",
          "accept",
          "x-api-key",
        ),
        headerValue,
      ),
      { maxLength: 3 },
    ),
  })
  .map((c): FuzzCase => {
    const table = routeTable();
    let method: string;
    let path: string;
    if ("raw" in c.path) {
      path = c.path.raw;
      method = c.method === "route" ? "POST" : c.method;
    } else {
      const row = table[c.path.route % table.length] as (typeof table)[number];
      method = c.method === "route" ? row.method : c.method;
      // The loan id goes in as generated (already percent-encoded, or deliberately not).
      path = fillPath(row.path.replaceAll("{loanId}", "\u0001"), {}).replaceAll("\u0001", c.path.loanId);
    }
    // Very long ids, but within what Node's HTTP server reads at all (see below).
    path = path.slice(0, 8000);
    // Never let dot segments walk the URL out of /v1 (onto the local clock routes).
    const normalised = new URL(path, "http://x").pathname;
    if (!normalised.startsWith("/v1/")) path = "/v1/loans";
    path += c.query;

    const headers: [string, string][] = [];
    let keyState: KeyState;
    switch (c.auth.state) {
      case "valid":
        keyState = "valid";
        headers.push(["authorization", `Bearer ${stack.keys[c.auth.role as (typeof ROLES)[number]]}`]);
        break;
      case "other-tenant":
        keyState = "other-tenant";
        headers.push(["authorization", `Bearer ${otherLenderKey}`]);
        break;
      default: {
        keyState = c.auth.role === "none" ? "none" : "invalid";
        const lender = stack.keys.lender;
        const invalid: Record<string, string[]> = {
          none: [],
          unknown: [`Bearer dk_unknown_${lender.slice(3)}`],
          revoked: [`Bearer ${revokedKey}`],
          basic: [`Basic ${Buffer.from(`x:${lender}`).toString("base64")}`],
          "empty-bearer": ["Bearer"],
          "two-keys": [`Bearer ${lender} ${lender}`],
          duplicate: [`Bearer ${lender}`, `Bearer ${stack.keys.ops}`],
          lowercase: [`bearer${lender}`],
          long: [`Bearer ${"k".repeat(6000)}`],
          garbage: [`Bearer ${lender}\u00ff`],
        };
        for (const value of invalid[c.auth.role] ?? []) headers.push(["authorization", value]);
      }
    }
    if (c.body !== undefined && c.contentType !== undefined) headers.push(["content-type", c.contentType]);
    if (c.idempotencyKey !== undefined && c.idempotencyKey !== "")
      headers.push(["idempotency-key", c.idempotencyKey]);
    for (const [name, value] of c.extraHeaders) if (value !== "") headers.push([name, value]);
    // Node's HTTP server answers a request line plus headers over 16 KiB with a bare 431 before any of our
    // code runs (API Gateway has its own limits): stay below it.
    const headerBytes = () => path.length + headers.reduce((sum, [n, v]) => sum + n.length + v.length + 4, 0);
    while (headerBytes() > 12_000 && headers.length > 1) headers.pop();
    if (headerBytes() > 12_000) path = path.split("?")[0] as string;
    const withBody = c.body !== undefined && method !== "GET" && method !== "HEAD";
    return {
      method,
      path,
      headers,
      ...(withBody ? { body: c.body } : {}),
      keyState,
    };
  });

/**
 * Writes that mostly pass validation (a lender key, JSON, a subscription or an event on a loan of the pool), so
 * the use cases, the conditional writes and the transactions run under concurrency and mutation.
 */
const writeCase = fc
  .record({
    subscribe: fc.boolean(),
    subscription: subscribeBody,
    event: eventBody,
    loanId: fc.oneof(fc.constantFrom(...POOL), createdId),
    otherTenant: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
    idempotencyKey: fc.option(fc.stringMatching(/^[a-z0-9]{1,4}$/), { nil: undefined }),
  })
  .map((c): FuzzCase => {
    const key = c.otherTenant ? otherLenderKey : stack.keys.lender;
    const headers: [string, string][] = [
      ["authorization", `Bearer ${key}`],
      ["content-type", "application/json"],
    ];
    if (c.idempotencyKey) headers.push(["idempotency-key", c.idempotencyKey]);
    return {
      method: "POST",
      path: c.subscribe ? "/v1/loans" : `/v1/loans/${c.loanId}/events`,
      headers,
      body: JSON.stringify(c.subscribe ? c.subscription : c.event),
      keyState: c.otherTenant ? "other-tenant" : "valid",
    };
  });

const caseArb = fc.oneof({ weight: 7, arbitrary: hostileCase }, { weight: 3, arbitrary: writeCase });

// ---------------------------------------------------------------------------------------------------------
// Checks

/** The property of the contract a response broke. */
type ProblemKind = "unanswered" | "server-error" | "status" | "error-shape" | "stack-trace";

interface Problem {
  kind: ProblemKind;
  text: string;
}

interface Outcome {
  status: number;
  problems: Problem[];
}

const ERROR_KEYS = new Set(["code", "message", "details"]);

/** What the contract fixes before any route runs: size first (the server reads the body), then the key, then the media type and JSON. */
function demanded(c: FuzzCase): number | undefined {
  const size = c.body === undefined ? 0 : Buffer.byteLength(c.body);
  if (size > MAX_BODY_BYTES) return 413;
  if (c.keyState === "none" || c.keyState === "invalid") return 401;
  if (c.body === undefined || c.body === "") return undefined;
  const type = c.headers.find(([name]) => name === "content-type")?.[1] ?? "";
  if (!/^application\/json\b/i.test(type)) return 415;
  try {
    JSON.parse(c.body);
  } catch (error) {
    if (error instanceof RangeError) return undefined;
    return 400;
  }
  return undefined;
}

async function send(c: FuzzCase): Promise<Outcome> {
  const headers = new Headers();
  for (const [name, value] of c.headers) headers.append(name, value);
  const problems: Problem[] = [];
  let res: Response;
  try {
    res = await fetch(`${stack.url}${c.path}`, {
      method: c.method,
      headers,
      ...(c.body !== undefined ? { body: c.body } : {}),
    });
  } catch (error) {
    return {
      status: 0,
      problems: [
        {
          kind: "unanswered",
          text: `request failed: ${(error as Error).message} ${(error as Error).cause ?? ""}`,
        },
      ],
    };
  }
  const text = await res.text();
  const status = res.status;
  if (status >= 500) problems.push({ kind: "server-error", text: `5xx ${status}: ${text.slice(0, 300)}` });
  const expected = demanded(c);
  if (expected !== undefined && status !== expected) {
    problems.push({ kind: "status", text: `expected ${expected}, got ${status}` });
  }
  if (status >= 400 && c.method !== "HEAD") {
    const type = res.headers.get("content-type") ?? "";
    if (!/^application\/json/i.test(type))
      problems.push({ kind: "error-shape", text: `error content-type ${type}` });
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      problems.push({ kind: "error-shape", text: `error body is not JSON: ${text.slice(0, 200)}` });
    }
    if (body !== undefined && !isContractError(body)) {
      problems.push({ kind: "error-shape", text: `error shape: ${text.slice(0, 300)}` });
    }
  }
  if (status >= 400 && /\.(ts|js|mjs):\d+:\d+/.test(text)) {
    problems.push({ kind: "stack-trace", text: `stack trace: ${text.slice(0, 300)}` });
  }
  return { status, problems };
}

function isContractError(body: unknown): boolean {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return false;
  if (Object.keys(body).join() !== "error") return false;
  const error = (body as { error: unknown }).error;
  if (typeof error !== "object" || error === null) return false;
  const e = error as Record<string, unknown>;
  if (!Object.keys(e).every((k) => ERROR_KEYS.has(k))) return false;
  if (typeof e.code !== "string" || typeof e.message !== "string") return false;
  if (e.details === undefined) return true;
  return (
    Array.isArray(e.details) &&
    e.details.every(
      (d) =>
        typeof d === "object" &&
        d !== null &&
        typeof (d as Record<string, unknown>).path === "string" &&
        typeof (d as Record<string, unknown>).message === "string",
    )
  );
}

function describeCase(c: FuzzCase): string {
  const headers = c.headers.map(([n, v]) => `${n}: ${v.length > 80 ? `${v.slice(0, 80)}…(${v.length})` : v}`);
  const body =
    c.body === undefined
      ? "-"
      : c.body.length > 200
        ? `${c.body.slice(0, 200)}…(${c.body.length} chars)`
        : c.body;
  const path = c.path.length > 200 ? `${c.path.slice(0, 200)}…(${c.path.length})` : c.path;
  return `${c.method} ${path} [${headers.join("; ")}] body=${body}`;
}

// ---------------------------------------------------------------------------------------------------------
// The run, once for every property below

interface Finding {
  kind: ProblemKind;
  count: number;
  example: string;
}

interface FuzzRun {
  cases: number;
  /** Problems grouped by what they say (ids and hashes left out), each with one request that showed it. */
  findings: Map<string, Finding>;
  aftermath: Aftermath;
}

let run: FuzzRun;

/** Sends every batch, tallying statuses and problems; then reads what the run left in the tables. */
async function fuzz(): Promise<FuzzRun> {
  const started = Date.now();
  const statuses = new Map<number, number>();
  const findings = new Map<string, Finding>();
  let cases = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(caseArb, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
      const outcomes = await Promise.all(batch.map(send));
      for (const [i, outcome] of outcomes.entries()) {
        cases++;
        statuses.set(outcome.status, (statuses.get(outcome.status) ?? 0) + 1);
        for (const problem of outcome.problems) {
          const signature = problem.text.replace(/[0-9a-f]{8,}/g, "…").slice(0, 120);
          const seen = findings.get(signature);
          if (seen) seen.count++;
          else
            findings.set(signature, {
              kind: problem.kind,
              count: 1,
              example: `${problem.text}\n    ${describeCase(batch[i] as FuzzCase)}`,
            });
        }
      }
    }),
    { numRuns: RUNS, seed: SEED, endOnFailure: true },
  );
  const fuzzMs = Date.now() - started;
  const aftermath = await readAftermath();
  console.log(
    `fuzz: ${cases} cases in ${(fuzzMs / 1000).toFixed(1)} s (seed ${SEED}); statuses ${JSON.stringify(
      Object.fromEntries([...statuses].sort(([a], [b]) => a - b)),
    )}; ${aftermath.cases} cases and ${aftermath.trails.size} audit trails checked`,
  );
  const report = [...findings.values()].map(({ kind, count, example }) => `${count}× [${kind}] ${example}`);
  if (report.length > 0) console.log(`fuzz findings:\n${report.join("\n")}`);
  return { cases, findings, aftermath };
}

/** The findings of some kinds, as `count× example` lines (empty when the contract held). */
function findingsOf(...kinds: ProblemKind[]): string[] {
  return [...run.findings.values()]
    .filter((finding) => kinds.includes(finding.kind))
    .map(({ count, example }) => `${count}× ${example}`);
}

describe(`fuzzing every route over HTTP (${RUNS * BATCH} hostile requests)`, () => {
  beforeAll(async () => {
    run = await fuzz();
  }, 240_000);

  it("sends every generated request", () => {
    expect(run.cases).toBe(RUNS * BATCH);
  });

  it("answers every request, and never with a 5xx", () => {
    expect(findingsOf("unanswered", "server-error")).toEqual([]);
  });

  it("answers 413, 401, 415 or 400 wherever the contract fixes the status before any route runs", () => {
    expect(findingsOf("status")).toEqual([]);
  });

  it("shapes every error as the contract's JSON error", () => {
    expect(findingsOf("error-shape")).toEqual([]);
  });

  it("never shows a stack trace in an error", () => {
    expect(findingsOf("stack-trace")).toEqual([]);
  });

  it("leaves every case's audit chain verifying up to the case's stored head", () => {
    expect(run.aftermath.cases).toBeGreaterThan(0);
    expect(run.aftermath.brokenChains).toEqual([]);
  });

  it("leaves every case's audit trail starting with loan_subscribed", () => {
    expect(run.aftermath.notSubscribed).toEqual([]);
  });

  it("leaves every trail announcing, as lender events numbered 1..n, the status its case has", () => {
    expect(run.aftermath.foldMismatches).toEqual([]);
  });

  it("leaves no audit trail without its case", () => {
    const orphans = [...run.aftermath.trails].filter(
      (pk) => !pk.endsWith(`#LOAN#${TENANT_SCOPE}`) && !run.aftermath.casePartitions.has(pk),
    );
    expect(orphans.map((pk) => `audit trail ${pk} without its case`)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------
// The aftermath: no partial write

interface Aftermath {
  cases: number;
  /** Partitions (`T#tenant#LOAN#loan`) of every stored case. */
  casePartitions: Set<string>;
  /** Partitions of every audit trail, tenant-scope trails included. */
  trails: Set<string>;
  brokenChains: string[];
  notSubscribed: string[];
  /** Cases whose trail, folded into lender events, shows another status or numbers the events with gaps. */
  foldMismatches: string[];
}

/**
 * Which cases and trails exist, whatever tenant or loan id the requests made up, takes a Scan of the keys: the
 * repository reads known loans only. Each case and its trail are then read through the repository, as the
 * service reads them.
 */
async function readAftermath(): Promise<Aftermath> {
  const tables = { stateTable: `${prefix}dunning-state`, auditTable: `${prefix}dunning-audit` };
  const repository = new DynamoCaseRepository(client, tables);
  const caseKeys = (await scanKeys(tables.stateTable, ["pk", "sk", "tenantId", "loanId"])).filter(
    (item) => item.sk === "CASE",
  );
  const aftermath: Aftermath = {
    cases: caseKeys.length,
    casePartitions: new Set(caseKeys.map((item) => String(item.pk))),
    trails: new Set((await scanKeys(tables.auditTable, ["pk"])).map((item) => String(item.pk))),
    brokenChains: [],
    notSubscribed: [],
    foldMismatches: [],
  };
  for (const item of caseKeys) {
    const [tenantId, loanId] = [String(item.tenantId), String(item.loanId)];
    const [stored, entries] = await Promise.all([
      repository.get(tenantId, loanId),
      repository.auditTrail(tenantId, loanId),
    ]);
    const head = stored?.audit;
    const verdict = verifyChain({ tenantId, loanId }, entries);
    if (!verdict.valid)
      aftermath.brokenChains.push(`${tenantId}/${loanId}: chain broken at ${verdict.seq}: ${verdict.reason}`);
    else if (verdict.head.seq !== head?.seq || verdict.head.hash !== head.hash)
      aftermath.brokenChains.push(
        `${tenantId}/${loanId}: stored head ${head?.seq} but the trail ends at ${verdict.head.seq}`,
      );
    if (entries[0]?.type !== "loan_subscribed")
      aftermath.notSubscribed.push(`${tenantId}/${loanId}: no loan_subscribed entry`);
    const folded = foldedStatus(tenantId, loanId, entries);
    if (folded !== stored?.status)
      aftermath.foldMismatches.push(
        `${tenantId}/${loanId}: the trail shows ${folded}, the case is ${stored?.status}`,
      );
  }
  return aftermath;
}

/** The status a trail's lender events end at, or why they could not be announced. */
function foldedStatus(tenantId: string, loanId: string, entries: AuditEntry[]): string | null {
  try {
    const { events, state } = announceEntries({ tenantId, loanId }, NOTHING_ANNOUNCED, entries);
    const gap = events.findIndex((event, i) => event.sequence !== i + 1);
    return gap < 0 ? state.status : `event ${gap + 1} numbered ${events[gap]?.sequence}`;
  } catch (error) {
    return `no announcement: ${(error as Error).message}`;
  }
}

/** The named attributes of every item of a table, read consistently page after page. */
async function scanKeys(table: string, attributes: string[]): Promise<Record<string, unknown>[]> {
  const names = Object.fromEntries(attributes.map((name, i) => [`#a${i}`, name]));
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: table,
        ConsistentRead: true,
        ProjectionExpression: Object.keys(names).join(", "),
        ExpressionAttributeNames: names,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}
