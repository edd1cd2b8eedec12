import { createHmac, randomBytes } from "node:crypto";

/**
 * The signature header of a delivery: `t=<unix seconds>,v1=<hex>[,v1=<hex>…]`, one `v1` per secret still valid,
 * so a receiver keeps verifying with either secret while a rotation is under way. Each is HMAC-SHA256, keyed with
 * the secret's UTF-8 bytes, over `<t>.<raw body>`: the timestamp is signed too, so an old delivery cannot be
 * replayed with a fresh one (webhooks/verify.mjs is the receiving side).
 */
export function signatureHeader(secrets: string[], timestampSec: number, rawBody: string): string {
  if (secrets.length === 0) throw new Error("a webhook signature needs at least one secret");
  if (!Number.isSafeInteger(timestampSec) || timestampSec < 0) {
    throw new Error(`not a timestamp in whole seconds: ${timestampSec}`);
  }
  const signed = `${timestampSec}.${rawBody}`;
  const signatures = secrets.map(
    (secret) =>
      `v1=${createHmac("sha256", Buffer.from(secret, "utf8")).update(signed, "utf8").digest("hex")}`,
  );
  return [`t=${timestampSec}`, ...signatures].join(",");
}

/** A new endpoint secret: 256 random bits, prefixed so a leaked one is recognisable in logs and scanners. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString("base64url")}`;
}
