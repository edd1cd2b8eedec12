import { sha256 } from "@noble/hashes/sha2.js";

/**
 * `node:crypto` as far as the audit chain and the export verifier use it — `createHash("sha256")`, `update` with
 * UTF-8 text, `digest("hex")` — so the console runs the very code the server and `npm run audit -- verify` run.
 */
export function createHash(algorithm: "sha256") {
  if (algorithm !== "sha256") throw new Error(`only sha256 is available in the console, not ${algorithm}`);
  const hash = sha256.create();
  const encoder = new TextEncoder();
  const digester = {
    update(data: string | Uint8Array, _encoding?: "utf8") {
      hash.update(typeof data === "string" ? encoder.encode(data) : data);
      return digester;
    },
    digest(_encoding: "hex"): string {
      return [...hash.digest()].map((byte) => byte.toString(16).padStart(2, "0")).join("");
    },
  };
  return digester;
}
