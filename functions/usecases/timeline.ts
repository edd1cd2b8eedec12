import { type AuditEntry, type ChainVerdict, verifyChain } from "../domain/audit-chain.ts";
import { NotFoundError } from "../domain/errors.ts";
import { chargedTo, stageOf } from "../domain/loan-case.ts";
import { copyIsIntact, type MessageCopy } from "../domain/message-copies.ts";
import { localTime } from "../domain/time.ts";
import type { CaseRepository, Clock, PolicyRepository, Principal } from "../ports.ts";

/** What a loan's timeline needs: the cases with their trails, the policies (for the balance) and the clock. */
export interface TimelineDeps {
  cases: CaseRepository;
  policies: PolicyRepository;
  clock: Clock;
}

/** A message's kept text, and whether it still matches the hash in the trail. */
export type MessageText = Omit<MessageCopy, "contentSha256"> & { intact: boolean };

/** One entry of the trail as the timeline shows it: the entry as stored, and when it was in the borrower's zone. */
export type TimelineEntry = AuditEntry & { atLocal: string };

/**
 * A loan's whole trail in order, for the people who look after it (lender, ops, compliance): each entry with its
 * borrower-local time, the chain's verdict as the server computes it, the case's standing, and the text of each
 * message sent (kept beside the trail; recipients stay masked, as the trail keeps them).
 */
export async function loanTimeline(deps: TimelineDeps, principal: Principal, loanId: string) {
  const stored = await deps.cases.get(principal.tenantId, loanId);
  if (!stored) throw new NotFoundError(`loan ${loanId} not found`);
  const [entries, policy, copies] = await Promise.all([
    deps.cases.auditTrail(principal.tenantId, loanId),
    deps.policies.get(stored.tenantId, stored.policy.id, stored.policy.version),
    deps.cases.messageCopies?.(principal.tenantId, loanId) ?? [],
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
    texts: textsOf(entries, copies),
  };
}

/**
 * The kept text of each message the trail records as sent, by the hash its entry names, and whether the text
 * still hashes to it. A message whose copy is gone (or never kept) is simply absent.
 */
function textsOf(entries: AuditEntry[], copies: MessageCopy[]): Record<string, MessageText> {
  const named = new Set(
    entries
      .filter((entry) => entry.type === "message_sent")
      .map((entry) => entry.data.contentSha256)
      .filter((hash): hash is string => typeof hash === "string"),
  );
  const texts: Record<string, MessageText> = {};
  for (const copy of copies) {
    if (!named.has(copy.contentSha256)) continue;
    const { contentSha256, ...text } = copy;
    texts[contentSha256] = { ...text, intact: copyIsIntact(copy) };
  }
  return texts;
}
