import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Verifies the signature header of a loan dunning webhook delivery. Pass the body exactly as received (the raw
 * bytes or their text, before any JSON parsing): re-serialising it changes the bytes and fails the check.
 *
 * @param {import("./verify.d.mts").VerifyDunningSignatureInput} input
 * @returns {boolean} true when the header is fresh and one of its `v1` signatures was made with `secret`
 */
export function verifyDunningSignature({
  header,
  rawBody,
  secret,
  toleranceSeconds = 300,
  nowSeconds = Math.floor(Date.now() / 1000),
}) {
  if (typeof header !== "string" || typeof secret !== "string" || secret === "") return false;
  if (typeof rawBody !== "string" && !(rawBody instanceof Uint8Array)) return false;
  const parsed = parseHeader(header);
  // A stale timestamp is a replay of an old delivery (or a clock far off): reject it however well signed.
  if (!parsed || !(Math.abs(nowSeconds - Number(parsed.t)) <= toleranceSeconds)) return false;
  const expected = createHmac("sha256", Buffer.from(secret, "utf8"))
    .update(`${parsed.t}.`, "utf8")
    .update(rawBody)
    .digest();
  return parsed.signatures.some(
    (signature) => signature.length === expected.length && timingSafeEqual(signature, expected),
  );
}

/**
 * `t=<seconds>,v1=<hex>[,v1=<hex>…]`; other keys are skipped so later schemes can be added beside `v1`.
 *
 * @param {string} header
 * @returns {{ t: string; signatures: Buffer[] } | null}
 */
function parseHeader(header) {
  /** @type {string | undefined} */
  let t;
  /** @type {Buffer[]} */
  const signatures = [];
  for (const part of header.split(",")) {
    const at = part.indexOf("=");
    if (at < 0) return null;
    const key = part.slice(0, at).trim();
    const value = part.slice(at + 1).trim();
    if (key === "t") {
      if (t !== undefined || !/^\d{1,15}$/.test(value)) return null;
      t = value;
    } else if (key === "v1") {
      if (!/^[0-9a-f]{64}$/i.test(value)) return null;
      signatures.push(Buffer.from(value, "hex"));
    }
  }
  return t === undefined || signatures.length === 0 ? null : { t, signatures };
}
