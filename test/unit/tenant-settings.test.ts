import { describe, expect, it } from "vitest";
import { InputOutOfRangeError } from "../../functions/domain/errors.ts";
import { paymentUrlFor, paymentUrlTemplateProblem } from "../../functions/domain/tenant-settings.ts";
import type { Principal } from "../../functions/ports.ts";
import { putSettings } from "../../functions/usecases/settings.ts";
import { memorySettings } from "../support/memory-settings.ts";

const AWS = { allowLoopback: false };
const EMBEDDED = { allowLoopback: true };
const OPS: Principal = { tenantId: "demo", role: "ops", keyId: "key_1" };

describe("the payment URL template", () => {
  it("takes an absolute https URL holding {loanReference} after the host, in at most 500 characters", () => {
    expect(paymentUrlTemplateProblem("https://pay.lender.test/loans/{loanReference}", AWS)).toBeNull();
    expect(
      paymentUrlTemplateProblem("https://pay.lender.test/p?loan={loanReference}&r={loanReference}", AWS),
    ).toBeNull();
    const long = `https://pay.lender.test/${"x".repeat(470)}/{loanReference}`;
    expect(long.length).toBeGreaterThan(500);
    expect(paymentUrlTemplateProblem(long, AWS)).toBe("must be at most 500 characters");
    expect(paymentUrlTemplateProblem("https://pay.lender.test/loans", AWS)).toBe("must hold {loanReference}");
    expect(paymentUrlTemplateProblem("https://pay.lender.test/{loanreference}", AWS)).toBe(
      "must hold {loanReference}",
    );
    expect(paymentUrlTemplateProblem("/loans/{loanReference}", AWS)).toBe("must be an absolute URL");
    expect(paymentUrlTemplateProblem("javascript:alert('{loanReference}')", AWS)).toBe("must use https");
    expect(paymentUrlTemplateProblem("http://pay.lender.test/{loanReference}", EMBEDDED)).toBe(
      "must use https",
    );
    expect(paymentUrlTemplateProblem("https://{loanReference}.lender.test/", AWS)).toBe(
      "must hold {loanReference} after the host",
    );
    expect(paymentUrlTemplateProblem("https://{loanReference}@lender.test/", AWS)).toBe(
      "must not hold a user name or password",
    );
  });

  it("takes plain http to 127.0.0.1 or localhost only where loopback is allowed (the embedded stack)", () => {
    for (const template of [
      "http://127.0.0.1:4000/pay/{loanReference}",
      "http://localhost/pay?l={loanReference}",
    ]) {
      expect(paymentUrlTemplateProblem(template, EMBEDDED)).toBeNull();
      expect(paymentUrlTemplateProblem(template, AWS)).toBe("must use https");
    }
  });

  it("fills every placeholder with the loan id, URL-encoded", () => {
    expect(
      paymentUrlFor("https://pay.lender.test/p?loan={loanReference}&again={loanReference}", "LN 1/ä?&#"),
    ).toBe("https://pay.lender.test/p?loan=LN%201%2F%C3%A4%3F%26%23&again=LN%201%2F%C3%A4%3F%26%23");
    expect(paymentUrlFor(null, "LN-1")).toBeNull();
  });
});

describe("putting settings", () => {
  const deps = () => ({ settings: memorySettings(), clock: { now: () => new Date("2026-01-05T00:00:00Z") } });

  it("keeps a field left out, audits the template's change, and refuses a bad template by its path", async () => {
    const d = deps();
    const template = "https://pay.lender.test/loans/{loanReference}";
    await putSettings(d, OPS, { sendRates: { sms: 50 } });
    const withPage = await putSettings(d, OPS, { paymentUrlTemplate: template });
    expect(withPage).toMatchObject({ sendRates: { sms: 50 }, paymentUrlTemplate: template, version: 2 });
    expect(await putSettings(d, OPS, { sendRates: { sms: 20 } })).toMatchObject({
      sendRates: { sms: 20 },
      paymentUrlTemplate: template,
      version: 3,
    });
    expect(await putSettings(d, OPS, { paymentUrlTemplate: null })).toMatchObject({
      paymentUrlTemplate: null,
      version: 4,
    });
    expect(d.settings.audit.map(({ event }) => event.data)).toEqual([
      { from: 0, to: 1, changes: [{ path: "sendRates.sms", from: null, to: 50 }] },
      { from: 1, to: 2, changes: [{ path: "paymentUrlTemplate", from: null, to: template }] },
      { from: 2, to: 3, changes: [{ path: "sendRates.sms", from: 50, to: 20 }] },
      { from: 3, to: 4, changes: [{ path: "paymentUrlTemplate", from: template, to: null }] },
    ]);

    const refused = putSettings(d, OPS, { paymentUrlTemplate: "http://127.0.0.1/pay/{loanReference}" });
    await expect(refused).rejects.toBeInstanceOf(InputOutOfRangeError);
    await expect(refused).rejects.toMatchObject({
      code: "VALIDATION_FAILED",
      details: [{ path: "paymentUrlTemplate", message: "must use https" }],
    });
    expect(d.settings.audit).toHaveLength(4);
  });
});
