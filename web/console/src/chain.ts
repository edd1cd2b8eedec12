import { canonicalJson } from "../../../functions/domain/canonical-json.ts";

/** An audit entry as the API returns it. */
export interface Entry {
  seq: number;
  at: string;
  type: string;
  actor: string;
  data: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export type Verdict = { valid: true; seq: number } | { valid: false; seq: number; reason: string };

const GENESIS = "0".repeat(64);

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/**
 * Recomputes the loan's hash chain in the browser, as any verifier would: every entry follows the one before
 * (sequence and previous hash), and its hash is SHA-256 over the canonical JSON of the entry and its scope.
 */
export async function verifyInBrowser(
  scope: { tenantId: string; loanId: string },
  entries: Entry[],
): Promise<Verdict> {
  let prev = { seq: 0, hash: GENESIS };
  for (const entry of entries) {
    if (entry.seq !== prev.seq + 1) return { valid: false, seq: entry.seq, reason: "sequence broken" };
    if (entry.prevHash !== prev.hash)
      return { valid: false, seq: entry.seq, reason: "previous hash does not match" };
    const { seq, at, type, actor, data, prevHash, hash } = entry;
    const canonical = canonicalJson({ ...scope, seq, at, type, actor, data, prevHash });
    if ((await sha256Hex(canonical)) !== hash) return { valid: false, seq, reason: "hash does not match" };
    prev = { seq, hash };
  }
  return { valid: true, seq: prev.seq };
}
