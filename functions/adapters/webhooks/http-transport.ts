import { promises as dns } from "node:dns";
import { request as httpRequest, type IncomingMessage, type RequestOptions } from "node:http";
import { request as httpsRequest } from "node:https";
import { isIP, type LookupFunction } from "node:net";
import { performance } from "node:perf_hooks";
import {
  type EndpointRules,
  type EndpointTarget,
  inspectEndpointUrl,
  isAllowedAddress,
  isLoopbackAddress,
} from "../../domain/webhooks/endpoint-url.ts";
import type { TransportResult, WebhookTransport } from "../../ports/webhooks.ts";

export interface ResolvedAddress {
  address: string;
  family: number;
}

export interface HttpTransportOptions extends EndpointRules {
  /** The whole exchange, name resolution included (10 s). */
  timeoutMs?: number;
  /** Every address the name resolves to (dns.promises.lookup with all: true). */
  lookup?: (hostname: string) => Promise<ResolvedAddress[]>;
}

/** How much of the receiver's answer is kept: enough to show why it refused, not a page it streams forever. */
const MAX_ANSWER_BYTES = 1024;

type Answer = Omit<TransportResult, "durationMs">;
type Refusal = { error: NonNullable<TransportResult["error"]> };

/**
 * Posts deliveries over HTTPS (HTTP to loopback on the embedded stack). The name is resolved once, every address
 * it gives is checked, and the connection goes to the checked address: a second resolution by the HTTP client
 * could answer differently (DNS rebinding) and reach an address never checked. Redirects are not followed, since
 * the place they point to was never checked either; a 3xx is the receiver's answer like any other.
 */
export class HttpWebhookTransport implements WebhookTransport {
  private readonly rules: EndpointRules;
  private readonly timeoutMs: number;
  private readonly lookup: (hostname: string) => Promise<ResolvedAddress[]>;

  constructor(options: HttpTransportOptions) {
    this.rules = { allowLoopback: options.allowLoopback };
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.lookup = options.lookup ?? ((hostname) => dns.lookup(hostname, { all: true }));
  }

  async post(url: string, body: string, headers: Record<string, string>): Promise<TransportResult> {
    const started = performance.now();
    const finished = (answer: Answer): TransportResult => ({
      ...answer,
      durationMs: Math.round(performance.now() - started),
    });
    const target = inspectEndpointUrl(url, this.rules);
    if (!target.ok) return finished({ error: "blocked_address" });
    const deadline = started + this.timeoutMs;
    const pinned = await beforeDeadline(this.resolve(target), deadline, { error: "timeout" as const });
    if ("error" in pinned) return finished(pinned);
    return finished(await exchange(target, pinned, body, headers, deadline));
  }

  /** The address to connect to, once every address of the name has passed. */
  private async resolve(target: EndpointTarget): Promise<ResolvedAddress | Refusal> {
    if (target.literal) return { address: target.hostname, family: isIP(target.hostname) };
    let addresses: ResolvedAddress[];
    try {
      addresses = await this.lookup(target.hostname);
    } catch {
      return { error: "network" };
    }
    const first = addresses[0];
    if (!first) return { error: "network" };
    // Plain HTTP is only for loopback, whatever else the rules allow.
    const allowed =
      target.url.protocol === "http:"
        ? (address: string) => isLoopbackAddress(address)
        : (address: string) => isAllowedAddress(address, this.rules);
    return addresses.every((resolved) => allowed(resolved.address)) ? first : { error: "blocked_address" };
  }
}

/** One POST to the pinned address, settled by the answer, a failure or the deadline, whichever comes first. */
function exchange(
  target: EndpointTarget,
  pinned: ResolvedAddress,
  body: string,
  headers: Record<string, string>,
  deadline: number,
): Promise<Answer> {
  return new Promise((resolve) => {
    let statusCode: number | undefined;
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const answered = (): Answer => ({
      statusCode,
      body: Buffer.concat(chunks).subarray(0, MAX_ANSWER_BYTES).toString("utf8"),
    });
    // Once the status is in, the receiver has answered: a body cut short by a failure or the deadline keeps it.
    const failed = (error: "timeout" | "network"): Answer =>
      statusCode === undefined ? { error } : answered();
    const settle = (answer: Answer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(answer);
    };
    const onResponse = (res: IncomingMessage) => {
      statusCode = res.statusCode;
      res.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        received += chunk.length;
        if (received >= MAX_ANSWER_BYTES) settle(answered());
      });
      res.on("end", () => settle(answered()));
      res.on("error", () => settle(failed("network")));
    };
    const send = target.url.protocol === "https:" ? httpsRequest : httpRequest;
    const req = send(requestOptions(target, pinned, body, headers), onResponse);
    const timer = setTimeout(() => settle(failed("timeout")), Math.max(0, deadline - performance.now()));
    req.on("error", () => settle(failed("network")));
    req.end(body);
  });
}

function requestOptions(
  target: EndpointTarget,
  pinned: ResolvedAddress,
  body: string,
  headers: Record<string, string>,
): RequestOptions {
  const { url, hostname, literal } = target;
  return {
    method: "POST",
    // The name stays the host: it is what the Host header and the TLS certificate are checked against.
    hostname,
    port: url.port === "" ? undefined : Number(url.port),
    path: `${url.pathname}${url.search}`,
    headers: { ...headers, "content-length": String(Buffer.byteLength(body)) },
    lookup: pinnedLookup(pinned),
    // A pooled socket could have been opened to another address, checked under other rules.
    agent: false,
    ...(url.protocol === "https:" && !literal ? { servername: hostname } : {}),
  };
}

/** A lookup that answers the checked address, whatever name the HTTP client asks for. */
function pinnedLookup({ address, family }: ResolvedAddress): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  };
}

/** The work's result, or `late` once the deadline passes (the work itself is left to finish unobserved). */
async function beforeDeadline<T, L>(work: Promise<T>, deadline: number, late: L): Promise<T | L> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<L>((resolve) => {
    timer = setTimeout(() => resolve(late), Math.max(0, deadline - performance.now()));
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
