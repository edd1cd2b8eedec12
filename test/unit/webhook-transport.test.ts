import { createServer, type IncomingHttpHeaders, type RequestListener, type Server } from "node:http";
import { type AddressInfo, createServer as createTcpServer } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  HttpWebhookTransport,
  type ResolvedAddress,
} from "../../functions/adapters/webhooks/http-transport.ts";

interface Receiver {
  port: number;
  connections: number;
  requests: { url: string | undefined; headers: IncomingHttpHeaders; body: string }[];
}

let server: Server | undefined;

/** A receiver on 127.0.0.1 that records what reaches it before `answer` handles it. */
async function receiver(answer: RequestListener): Promise<Receiver> {
  const seen: Receiver = { port: 0, connections: 0, requests: [] };
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => {
      body += chunk.toString("utf8");
    });
    req.on("end", () => {
      seen.requests.push({ url: req.url, headers: req.headers, body });
      answer(req, res);
    });
  });
  server.on("connection", () => {
    seen.connections++;
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  seen.port = (server.address() as AddressInfo).port;
  return seen;
}

async function stop(): Promise<void> {
  const open = server;
  server = undefined;
  if (!open) return;
  open.closeAllConnections();
  await new Promise((resolve) => open.close(resolve));
}

afterEach(stop);

const local = new HttpWebhookTransport({ allowLoopback: true });
const event = '{"id":"evt_1"}';
const headers = { "content-type": "application/json", "dunning-signature": "t=1,v1=00" };

/** A lookup that answers `addresses` for any name and counts the calls. */
function fakeLookup(...addresses: string[]) {
  return vi.fn(
    async (_hostname: string): Promise<ResolvedAddress[]> =>
      addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 })),
  );
}

describe("HttpWebhookTransport", () => {
  it("posts the body and headers, and keeps the first 1 KB of the answer", async () => {
    const seen = await receiver((_req, res) => res.writeHead(200).end("a".repeat(5000)));
    const result = await local.post(`http://127.0.0.1:${seen.port}/hooks?x=1`, event, headers);
    expect(result).toMatchObject({ statusCode: 200, body: "a".repeat(1024) });
    expect(result.error).toBeUndefined();
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    expect(seen.requests).toEqual([
      {
        url: "/hooks?x=1",
        headers: expect.objectContaining({
          ...headers,
          "content-length": "14",
          host: `127.0.0.1:${seen.port}`,
        }),
        body: event,
      },
    ]);
  });

  it("stops reading an answer that never ends once it has 1 KB", async () => {
    const seen = await receiver((_req, res) => {
      res.writeHead(200);
      res.write("b".repeat(2048));
    });
    const transport = new HttpWebhookTransport({ allowLoopback: true, timeoutMs: 5_000 });
    const result = await transport.post(`http://127.0.0.1:${seen.port}/`, event, headers);
    expect(result).toMatchObject({ statusCode: 200, body: "b".repeat(1024) });
    expect(result.durationMs).toBeLessThan(5_000);
  });

  it("returns the status of a failing receiver with its answer", async () => {
    const seen = await receiver((_req, res) => res.writeHead(500).end("boom"));
    const result = await local.post(`http://127.0.0.1:${seen.port}/`, event, headers);
    expect(result).toMatchObject({ statusCode: 500, body: "boom" });
    expect(result.error).toBeUndefined();
  });

  it("does not follow a redirect", async () => {
    const seen = await receiver((req, res) =>
      req.url === "/moved" ? res.writeHead(302, { location: "/elsewhere" }).end() : res.writeHead(200).end(),
    );
    const result = await local.post(`http://127.0.0.1:${seen.port}/moved`, event, headers);
    expect(result).toMatchObject({ statusCode: 302, body: "" });
    expect(seen.requests.map((request) => request.url)).toEqual(["/moved"]);
  });

  it("gives up on a receiver that never answers", async () => {
    const seen = await receiver(() => {});
    const transport = new HttpWebhookTransport({ allowLoopback: true, timeoutMs: 300 });
    const result = await transport.post(`http://127.0.0.1:${seen.port}/`, event, headers);
    expect(result.error).toBe("timeout");
    expect(result.statusCode).toBeUndefined();
    expect(result.durationMs).toBeGreaterThanOrEqual(290);
    expect(result.durationMs).toBeLessThan(2_000);
  });

  it("counts a name that does not resolve in time against the same deadline", async () => {
    const lookup = vi.fn(() => new Promise<ResolvedAddress[]>(() => {}));
    const transport = new HttpWebhookTransport({ allowLoopback: false, timeoutMs: 300, lookup });
    const result = await transport.post("https://hooks.lender.example/", event, headers);
    expect(result.error).toBe("timeout");
  });

  it("reports a refused connection or a name that does not resolve as a network failure", async () => {
    const seen = await receiver(() => {});
    const closed = seen.port;
    await stop();
    expect(await local.post(`http://127.0.0.1:${closed}/`, event, headers)).toMatchObject({
      error: "network",
    });
    const failing = vi.fn(() =>
      Promise.reject(Object.assign(new Error("no such name"), { code: "ENOTFOUND" })),
    );
    const transport = new HttpWebhookTransport({ allowLoopback: false, lookup: failing });
    expect(await transport.post("https://hooks.lender.example/", event, headers)).toMatchObject({
      error: "network",
    });
    const empty = new HttpWebhookTransport({ allowLoopback: false, lookup: fakeLookup() });
    expect(await empty.post("https://hooks.lender.example/", event, headers)).toMatchObject({
      error: "network",
    });
  });

  it("refuses loopback and plain http when loopback is not allowed, without connecting", async () => {
    const seen = await receiver((_req, res) => res.writeHead(200).end());
    const lookup = fakeLookup("127.0.0.1");
    const aws = new HttpWebhookTransport({ allowLoopback: false, lookup });
    for (const url of [
      `http://127.0.0.1:${seen.port}/`,
      `https://127.0.0.1:${seen.port}/`,
      `https://localhost:${seen.port}/`,
      `https://hooks.lender.example:${seen.port}/`,
      "http://hooks.lender.example/",
      "https://user:pass@hooks.lender.example/",
      "not a url",
    ]) {
      expect(await aws.post(url, event, headers), url).toMatchObject({ error: "blocked_address" });
    }
    expect(seen.connections).toBe(0);
    // Only the public-looking https name got as far as a lookup.
    expect(lookup).toHaveBeenCalledTimes(1);
  });

  it.each(["10.0.0.5", "169.254.169.254", "::ffff:127.0.0.1", "fd00::1", "93.184.216.34,10.0.0.5"])(
    "refuses a name resolving to %s without connecting",
    async (resolved) => {
      const lookup = fakeLookup(...resolved.split(","));
      const transport = new HttpWebhookTransport({ allowLoopback: false, lookup });
      const connect = vi.fn();
      const seen = await receiver(connect);
      const result = await transport.post("https://hooks.lender.example/", event, headers);
      expect(result).toMatchObject({ error: "blocked_address" });
      expect(lookup).toHaveBeenCalledWith("hooks.lender.example");
      expect(seen.connections).toBe(0);
    },
  );

  it("connects to the address it checked, keeping the name as the host", async () => {
    const seen = await receiver((_req, res) => res.writeHead(204).end());
    const lookup = fakeLookup("127.0.0.1");
    const transport = new HttpWebhookTransport({ allowLoopback: true, lookup });
    const result = await transport.post(`http://hooks.localhost:${seen.port}/in`, event, headers);
    expect(result).toMatchObject({ statusCode: 204 });
    expect(lookup).toHaveBeenCalledTimes(1);
    expect(seen.requests[0]?.headers.host).toBe(`hooks.localhost:${seen.port}`);
  });

  it("sends plain http only to loopback addresses, even when the name is localhost", async () => {
    const seen = await receiver((_req, res) => res.writeHead(200).end());
    const transport = new HttpWebhookTransport({ allowLoopback: true, lookup: fakeLookup("93.184.216.34") });
    const result = await transport.post(`http://localhost:${seen.port}/`, event, headers);
    expect(result).toMatchObject({ error: "blocked_address" });
    expect(seen.connections).toBe(0);
  });

  it("opens TLS to the checked address with the name as the server name", async () => {
    const hello: Buffer[] = [];
    const tcp = createTcpServer((socket) => {
      socket.once("data", (chunk: Buffer) => {
        hello.push(chunk);
        socket.destroy();
      });
    });
    await new Promise<void>((resolve) => tcp.listen(0, "127.0.0.1", resolve));
    try {
      const port = (tcp.address() as AddressInfo).port;
      const transport = new HttpWebhookTransport({ allowLoopback: true, lookup: fakeLookup("127.0.0.1") });
      const result = await transport.post(`https://hooks.localhost:${port}/`, event, headers);
      // Not a TLS server: the handshake fails, after the ClientHello has carried the name (SNI).
      expect(result).toMatchObject({ error: "network" });
      expect(Buffer.concat(hello).includes("hooks.localhost")).toBe(true);
    } finally {
      await new Promise((resolve) => tcp.close(resolve));
    }
  });
});
