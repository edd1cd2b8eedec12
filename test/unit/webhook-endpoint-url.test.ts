import { describe, expect, it } from "vitest";
import {
  checkEndpointUrl,
  isAllowedAddress,
  isLoopbackAddress,
} from "../../functions/domain/webhooks/endpoint-url.ts";

const aws = { allowLoopback: false };
const local = { allowLoopback: true };

function reason(url: string, rules = aws): string | null {
  const check = checkEndpointUrl(url, rules);
  return check.ok ? null : check.reason;
}

describe("checkEndpointUrl", () => {
  it("accepts public https URLs, with a port, path and query", () => {
    expect(checkEndpointUrl("https://hooks.lender.example/dunning?x=1", aws)).toEqual({ ok: true });
    expect(checkEndpointUrl("https://hooks.lender.example:8443/in", aws)).toEqual({ ok: true });
    expect(checkEndpointUrl("https://8.8.8.8/in", aws)).toEqual({ ok: true });
    expect(checkEndpointUrl("https://[2606:4700::1111]/in", aws)).toEqual({ ok: true });
  });

  it("takes only https on AWS, and http only to loopback on the embedded stack", () => {
    expect(reason("http://hooks.lender.example/")).toMatch(/https/);
    expect(reason("ftp://hooks.lender.example/")).toMatch(/https/);
    expect(reason("file:///etc/passwd")).toMatch(/https/);
    expect(reason("http://localhost:4000/hook", local)).toBeNull();
    expect(reason("http://127.0.0.1:4000/hook", local)).toBeNull();
    expect(reason("http://[::1]:4000/hook", local)).toBeNull();
    expect(reason("http://hooks.lender.example/", local)).toMatch(/https/);
    expect(reason("http://10.0.0.5/", local)).toMatch(/https/);
  });

  it("refuses credentials, fragments, over-long and unparseable URLs", () => {
    expect(reason("https://user:pass@hooks.lender.example/")).toMatch(/user name or password/);
    expect(reason("https://user@hooks.lender.example/")).toMatch(/user name or password/);
    expect(reason("https://hooks.lender.example/#part")).toMatch(/fragment/);
    expect(reason("https://hooks.lender.example/#")).toMatch(/fragment/);
    expect(reason(`https://hooks.lender.example/${"a".repeat(2048)}`)).toMatch(/2048/);
    expect(reason(`https://hooks.lender.example/${"a".repeat(2048 - 29)}`)).toBeNull();
    expect(reason("/relative/path")).toMatch(/absolute/);
    expect(reason("https://")).toMatch(/absolute/);
  });

  it("refuses loopback, localhost and unspecified hosts on AWS", () => {
    for (const url of [
      "https://127.0.0.1/",
      "https://127.8.9.10/",
      "https://[::1]/",
      "https://[::ffff:127.0.0.1]/",
      "https://0.0.0.0/",
      "https://[::]/",
    ]) {
      expect(reason(url), url).toMatch(/private, loopback/);
    }
    expect(reason("https://localhost/")).toMatch(/localhost/);
    expect(reason("https://LOCALHOST./")).toMatch(/localhost/);
    expect(reason("https://api.localhost/")).toMatch(/localhost/);
    expect(reason("https://localhost/", local)).toBeNull();
    expect(reason("https://0.0.0.0/", local)).toMatch(/private, loopback/);
  });

  it("refuses private, shared, link-local (metadata) and reserved addresses", () => {
    for (const url of [
      "https://10.0.0.5/",
      "https://172.16.3.4/",
      "https://192.168.1.1/",
      "https://100.64.0.1/",
      "https://169.254.169.254/latest/meta-data/",
      "https://[fd00:ec2::254]/",
      "https://[fd00::1]/",
      "https://[fe80::1]/",
      "https://[::ffff:10.0.0.5]/",
      "https://[::ffff:169.254.169.254]/",
      "https://[64:ff9b::a00:5]/",
      "https://[::7f00:1]/",
      "https://224.0.0.1/",
      "https://255.255.255.255/",
      "https://192.0.2.1/",
    ]) {
      expect(reason(url), url).toMatch(/private, loopback/);
      expect(reason(url, local), url).toMatch(/private, loopback/);
    }
  });

  it("sees through the decimal, octal and hexadecimal forms of IPv4, as WHATWG URL parses them", () => {
    for (const url of [
      "https://2130706433/",
      "https://017700000001/",
      "https://0177.0.0.1/",
      "https://0x7f.1/",
      "https://127.1/",
      "https://0x7f000001/",
      "https://2852039166/",
      "https://0xa9.0xfe.0xa9.0xfe/",
      "https://012.0.0.5/",
    ]) {
      expect(new URL(url).hostname, url).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(reason(url), url).toMatch(/private, loopback/);
    }
  });
});

describe("isAllowedAddress", () => {
  it("allows public unicast addresses, and loopback only when the rules do", () => {
    expect(isAllowedAddress("93.184.216.34", aws)).toBe(true);
    expect(isAllowedAddress("2606:4700::1111", aws)).toBe(true);
    expect(isAllowedAddress("::ffff:93.184.216.34", aws)).toBe(true);
    expect(isAllowedAddress("127.0.0.1", aws)).toBe(false);
    expect(isAllowedAddress("127.0.0.1", local)).toBe(true);
    expect(isAllowedAddress("::ffff:127.0.0.1", local)).toBe(true);
    expect(isAllowedAddress("::1", local)).toBe(true);
    expect(isAllowedAddress("10.0.0.5", local)).toBe(false);
    expect(isAllowedAddress("not-an-address", local)).toBe(false);
    expect(isAllowedAddress("", local)).toBe(false);
  });

  it("tells loopback addresses", () => {
    expect(isLoopbackAddress("127.0.0.1")).toBe(true);
    expect(isLoopbackAddress("::1")).toBe(true);
    expect(isLoopbackAddress("::ffff:127.0.0.1")).toBe(true);
    expect(isLoopbackAddress("10.0.0.5")).toBe(false);
    expect(isLoopbackAddress("localhost")).toBe(false);
  });
});
