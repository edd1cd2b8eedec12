import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Borrower, LoanCase, StoredVerifier } from "../domain/loan-case.ts";
import { normalizeFactor, type VerificationFactor } from "../domain/portal.ts";

/** A verification factor as the lender sends it with a subscription. */
export interface VerificationInput {
  type: StoredVerifier["type"];
  value: string;
}

const digest = (salt: string, normalized: string) =>
  createHash("sha256").update(`${salt}:${normalized}`).digest();

/**
 * The factor kept as a salted SHA-256. Its values are few (a date of birth, four characters), so the hash keeps
 * it out of sight rather than out of reach of someone holding the table: what protects the page is the lock
 * after five wrong answers and the limit on attempts per address.
 */
export function storedVerifier(input: VerificationInput): StoredVerifier {
  const normalized = normalizeFactor(input.type, input.value);
  if (normalized === null) throw new RangeError(`not a valid ${input.type}`);
  const salt = randomBytes(16).toString("hex");
  return { type: input.type, salt, hash: digest(salt, normalized).toString("hex") };
}

/**
 * A subscription request as the case stores it: the borrower without the factor in clear, the factor hashed
 * beside it. Every path that creates cases (the API, batches, imports) goes through here.
 */
export function withStoredVerifier<R extends { borrower: Borrower & { verification?: VerificationInput } }>(
  request: R,
): Omit<R, "borrower"> & { borrower: Borrower; verifier?: StoredVerifier } {
  const { verification, ...borrower } = request.borrower;
  return { ...request, borrower, ...(verification ? { verifier: storedVerifier(verification) } : {}) };
}

/** What the page asks a borrower for: the lender's factor, else the phone's last four digits, else nothing. */
export function factorFor(loanCase: LoanCase): VerificationFactor | null {
  if (loanCase.verifier) return loanCase.verifier.type;
  return loanCase.borrower.phone ? "phone_last4" : null;
}

/** Whether the borrower's answer is the factor, compared in constant time. */
export function answerMatches(loanCase: LoanCase, answer: string): boolean {
  const factor = factorFor(loanCase);
  if (!factor) return false;
  const given = normalizeFactor(factor, answer);
  if (given === null) return false;
  if (factor === "phone_last4") {
    const expected = Buffer.from((loanCase.borrower.phone ?? "").slice(-4));
    const actual = Buffer.from(given);
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  }
  const verifier = loanCase.verifier as StoredVerifier;
  return timingSafeEqual(digest(verifier.salt, given), Buffer.from(verifier.hash, "hex"));
}
