import ipaddr from "ipaddr.js";

/**
 * Where a lender's endpoint may point. Deliveries are requests made from inside the deployment, so an endpoint
 * aimed at a private, link-local (the instance metadata service) or loopback address would let a tenant reach what
 * only the product should (SSRF). Only public unicast addresses pass, and loopback too when the deployment allows
 * it (the embedded stack on one machine, where receivers listen on localhost).
 */
export interface EndpointRules {
  allowLoopback: boolean;
}

export const MAX_ENDPOINT_URL_LENGTH = 2048;

export interface EndpointRefusal {
  ok: false;
  reason: string;
}

export type EndpointUrlCheck = { ok: true } | EndpointRefusal;

/** A URL that passed the static checks, with its host as an address or a name still to be resolved. */
export interface EndpointTarget {
  ok: true;
  url: URL;
  /** The host without the brackets of an IPv6 literal. */
  hostname: string;
  /** The host is an IP literal: nothing to resolve, and no TLS server name to send. */
  literal: boolean;
}

/** The static checks made when an endpoint is registered (the resolved addresses are checked on each delivery). */
export function checkEndpointUrl(url: string, rules: EndpointRules): EndpointUrlCheck {
  const target = inspectEndpointUrl(url, rules);
  return target.ok ? { ok: true } : target;
}

/** checkEndpointUrl, keeping what the transport needs to connect. */
export function inspectEndpointUrl(url: string, rules: EndpointRules): EndpointTarget | EndpointRefusal {
  if (url.length > MAX_ENDPOINT_URL_LENGTH)
    return fail(`must be at most ${MAX_ENDPOINT_URL_LENGTH} characters`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return fail("must be an absolute URL");
  }
  // Credentials in a URL end up in logs and in every listing of the endpoint.
  if (parsed.username !== "" || parsed.password !== "") return fail("must not hold a user name or password");
  // `parsed.hash` is empty for a bare `#`, so look at the text.
  if (url.includes("#")) return fail("must not hold a fragment");
  // WHATWG parsing has already turned 2130706433, 0x7f.1 and 017700000001 into 127.0.0.1.
  const hostname = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  const literal = ipaddr.isValid(hostname);
  const loopback = literal ? isLoopbackAddress(hostname) : isLocalhostName(hostname);
  if (parsed.protocol === "http:") {
    if (!rules.allowLoopback || !loopback) return fail("must use https");
  } else if (parsed.protocol !== "https:") {
    return fail("must use https");
  }
  if (literal && !isAllowedAddress(hostname, rules)) {
    return fail("must not point at a private, loopback, link-local or reserved address");
  }
  if (!literal && loopback && !rules.allowLoopback) return fail("must not point at localhost");
  return { ok: true, url: parsed, hostname, literal };
}

/**
 * Whether a delivery may connect to the address: public unicast only, loopback too when allowed. IPv4-mapped
 * IPv6 addresses (::ffff:10.0.0.5) are judged as the IPv4 address they carry.
 */
export function isAllowedAddress(address: string, rules: EndpointRules): boolean {
  const ip = parseAddress(address);
  if (!ip) return false;
  const range = ip.range();
  if (range === "loopback") return rules.allowLoopback;
  // ipaddr calls the deprecated IPv4-compatible block (::a.b.c.d) unicast; nothing public lives there.
  if (ip.kind() === "ipv6" && ip.match(IPV4_COMPATIBLE)) return false;
  return range === "unicast";
}

export function isLoopbackAddress(address: string): boolean {
  return parseAddress(address)?.range() === "loopback";
}

const IPV4_COMPATIBLE = ipaddr.parseCIDR("::/96");

function parseAddress(address: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  return ipaddr.isValid(address) ? ipaddr.process(address) : null;
}

/** `localhost` and its subdomains resolve to loopback by convention (RFC 6761), a trailing dot or not. */
function isLocalhostName(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, "");
  return name === "localhost" || name.endsWith(".localhost");
}

function fail(reason: string): EndpointRefusal {
  return { ok: false, reason };
}
