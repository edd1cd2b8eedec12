import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { newWebhookSecret, signatureHeader } from "../../functions/domain/webhooks/signature.ts";
import { verifyDunningSignature } from "../../webhooks/verify.mjs";

const body = '{"id":"evt_1","type":"loan.paid","sequence":3}';
const t = 1_760_000_000;
const secret = "whsec_current";
const previous = "whsec_previous";

describe("webhook signatures", () => {
  it("signs t and the raw body with HMAC-SHA256, one v1 per secret", () => {
    const expected = createHmac("sha256", secret).update(`${t}.${body}`).digest("hex");
    expect(signatureHeader([secret], t, body)).toBe(`t=${t},v1=${expected}`);
    expect(signatureHeader([secret, previous], t, body).split(",")).toHaveLength(3);
  });

  it("verifies with the standalone verifier, from text or from the raw bytes", () => {
    const header = signatureHeader([secret], t, body);
    expect(verifyDunningSignature({ header, rawBody: body, secret, nowSeconds: t + 10 })).toBe(true);
    expect(verifyDunningSignature({ header, rawBody: Buffer.from(body), secret, nowSeconds: t - 10 })).toBe(
      true,
    );
  });

  it("fails a changed body or another secret", () => {
    const header = signatureHeader([secret], t, body);
    const changed = body.replace("loan.paid", "loan.closed");
    expect(verifyDunningSignature({ header, rawBody: changed, secret, nowSeconds: t })).toBe(false);
    expect(verifyDunningSignature({ header, rawBody: body, secret: "whsec_other", nowSeconds: t })).toBe(
      false,
    );
  });

  it("fails a header older or newer than the tolerance", () => {
    const header = signatureHeader([secret], t, body);
    expect(verifyDunningSignature({ header, rawBody: body, secret, nowSeconds: t + 300 })).toBe(true);
    expect(verifyDunningSignature({ header, rawBody: body, secret, nowSeconds: t + 301 })).toBe(false);
    expect(verifyDunningSignature({ header, rawBody: body, secret, nowSeconds: t - 301 })).toBe(false);
    expect(
      verifyDunningSignature({ header, rawBody: body, secret, nowSeconds: t + 301, toleranceSeconds: 600 }),
    ).toBe(true);
  });

  it("verifies a header of a rotation with either secret", () => {
    const header = signatureHeader([secret, previous], t, body);
    for (const either of [secret, previous]) {
      expect(verifyDunningSignature({ header, rawBody: body, secret: either, nowSeconds: t })).toBe(true);
    }
    expect(verifyDunningSignature({ header, rawBody: body, secret: "whsec_third", nowSeconds: t })).toBe(
      false,
    );
  });

  it("uses the system clock by default", () => {
    const now = Math.floor(Date.now() / 1000);
    const header = signatureHeader([secret], now, body);
    expect(verifyDunningSignature({ header, rawBody: body, secret })).toBe(true);
    expect(
      verifyDunningSignature({ header: signatureHeader([secret], t, body), rawBody: body, secret }),
    ).toBe(false);
  });

  it("returns false for malformed headers", () => {
    const v1 = signatureHeader([secret], t, body).split(",")[1] ?? "";
    const malformed = [
      "",
      "garbage",
      `t=${t}`,
      v1,
      `t=${t},v1=`,
      `t=${t},v1=zz${v1.slice(5)}`,
      `t=${t},${v1.slice(0, -2)}`,
      `t=${t},t=${t},${v1}`,
      `t=abc,${v1}`,
      `t=-${t},${v1}`,
      `t=${t}.5,${v1}`,
      `t=${t},${v1},broken`,
    ];
    for (const header of malformed) {
      expect(verifyDunningSignature({ header, rawBody: body, secret, nowSeconds: t }), header).toBe(false);
    }
    const notText = { header: undefined as unknown as string, rawBody: body, secret, nowSeconds: t };
    expect(verifyDunningSignature(notText)).toBe(false);
    expect(verifyDunningSignature({ header: `t=${t},${v1}`, rawBody: body, secret: "", nowSeconds: t })).toBe(
      false,
    );
  });

  it("tolerates spaces and ignores schemes it does not know", () => {
    const [tPart, v1] = signatureHeader([secret], t, body).split(",");
    const header = `${tPart}, v0=abc, ${v1}`;
    expect(verifyDunningSignature({ header, rawBody: body, secret, nowSeconds: t })).toBe(true);
  });

  it("refuses to sign without a secret or with a timestamp that is not whole seconds", () => {
    expect(() => signatureHeader([], t, body)).toThrow(/at least one secret/);
    expect(() => signatureHeader([secret], Date.now() / 1000, body)).toThrow(/whole seconds/);
  });

  it("makes new secrets of 32 random bytes, base64url after whsec_", () => {
    const made = newWebhookSecret();
    expect(made).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(made.slice(6), "base64url")).toHaveLength(32);
    expect(newWebhookSecret()).not.toBe(made);
  });
});
