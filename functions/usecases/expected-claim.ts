import type { Claimant, InFlightStep, LoanCase } from "../domain/loan-case.ts";
import { pacedChannels, slotCovers } from "../domain/send-pacing.ts";
import { toInstant } from "../domain/time.ts";
import type { SendPacing } from "../ports/send-pacing.ts";
import type { CaseRepository, Clock } from "../ports.ts";
import { type ExecutionState, refOf } from "./step-wakes.ts";

/** What taking an expected claim needs: the case store, the business clock and the send rates. */
export interface ExpectedClaimDeps {
  cases: CaseRepository;
  clock: Clock;
  pacing?: SendPacing;
}

/**
 * Takes the claim the workflow expects (ExpectedClaim) without reading the case: the case as claimed, or — the
 * version moved — the case as the refused write found it (null: gone). Null when there is no such claim to take:
 * none expected, a store that cannot, or a paced step that still has to take its place in the tenant's rate.
 */
export async function claimAsExpected(
  deps: ExpectedClaimDeps,
  input: ExecutionState,
  claimant: Claimant,
): Promise<{ claimed: LoanCase } | { current: LoanCase | null } | null> {
  const next = input.next;
  if (!next || !("claim" in next) || !next.claim || !deps.cases.claim) return null;
  const { version, plannedAt, channels } = next.claim;
  if (deps.pacing) {
    const paced = pacedChannels(channels, await deps.pacing.rates(input.tenantId));
    if (paced.length > 0 && !slotCovers(next.slot, paced)) return null;
  }
  const claimedAt = toInstant(deps.clock.now());
  const inFlight: InFlightStep = {
    step: next.step,
    plannedAt,
    channels,
    claimedAt,
    retryable: false,
    claimant,
  };
  return deps.cases.claim(refOf(input), version, inFlight, claimedAt);
}
