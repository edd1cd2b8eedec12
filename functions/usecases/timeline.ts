import { type AuditEntry, type ChainVerdict, verifyChain } from "../domain/audit-chain.ts";
import { NotFoundError } from "../domain/errors.ts";
import { chargedTo, stageOf } from "../domain/loan-case.ts";
import { localTime } from "../domain/time.ts";
import type { CaseRepository, Clock, PolicyRepository, Principal } from "../ports.ts";

/** What a loan's timeline needs: the cases with their trails, the policies (for the balance) and the clock. */
export interface TimelineDeps {
  cases: CaseRepository;
  policies: PolicyRepository;
  clock: Clock;
}

/** One entry of the trail as the timeline shows it: the entry as stored, and when it was in the borrower's zone. */
export type TimelineEntry = AuditEntry & { atLocal: string };

/**
 * A loan's whole trail in order, for the people who look after it (lender, ops, compliance): each entry with its
 * borrower-local time, the chain's verdict as the server computes it, and the case's standing — without the
 * borrower's name or contact data (messages name their recipient masked, as the trail keeps it).
 */
export async function loanTimeline(deps: TimelineDeps, principal: Principal, loanId: string) {
  const stored = await deps.cases.get(principal.tenantId, loanId);
  if (!stored) throw new NotFoundError(`loan ${loanId} not found`);
  const [entries, policy] = await Promise.all([
    deps.cases.auditTrail(principal.tenantId, loanId),
    deps.policies.get(stored.tenantId, stored.policy.id, stored.policy.version),
  ]);
  const now = deps.clock.now();
  const loanCase = policy ? chargedTo(stored, policy.charges, now) : stored;
  const zone = loanCase.borrower.timeZone;
  const chain: ChainVerdict = verifyChain({ tenantId: principal.tenantId, loanId }, entries);
  return {
    loan: {
      loanId,
      status: loanCase.status,
      stage: stageOf(loanCase, now),
      dueDate: loanCase.dueDate,
      balance: loanCase.balance,
      timeZone: zone,
      locale: loanCase.borrower.locale,
      policy: loanCase.policy,
      attention: loanCase.attention ?? null,
    },
    tenantId: principal.tenantId,
    chain,
    entries: entries.map(
      (entry): TimelineEntry => ({ ...entry, atLocal: localTime(new Date(entry.at), zone) }),
    ),
  };
}
