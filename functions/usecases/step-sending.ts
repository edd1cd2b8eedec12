import type { AuditEvent } from "../domain/audit-chain.ts";
import { addressOf, channelSpec } from "../domain/channels.ts";
import { ConcurrentUpdateError, ProviderThrottledError } from "../domain/errors.ts";
import { type CaseChange, chargedTo, type LoanCase, WORKFLOW_ACTOR } from "../domain/loan-case.ts";
import { type MessageCopy, messageCopy } from "../domain/message-copies.ts";
import { messageVariables } from "../domain/message-variables.ts";
import { type Channel, findStep, type Policy, type PolicyStep, rulesOf } from "../domain/policy.ts";
import { completeStep, recordContacts, releaseChannels } from "../domain/step-lifecycle.ts";
import { renderMessage, templatesOf } from "../domain/templates.ts";
import { localTime, toInstant } from "../domain/time.ts";
import type { CaseRepository, Clock, MessageSender } from "../ports.ts";
import type { SentLink } from "./portal-links.ts";

/** What sending a claimed step needs: the case store, the provider and the business clock. */
export interface SendingDeps {
  cases: CaseRepository;
  sender: MessageSender;
  clock: Clock;
}

/** A case as a workflow task read it, with the policy version it runs on. */
export interface Loaded {
  loanCase: LoanCase;
  policy: Policy;
}

/** Writes a change of the loaded case (conditional on the version it was read at). */
export async function writeChange(
  deps: Pick<SendingDeps, "cases" | "clock">,
  loaded: Loaded,
  change: CaseChange,
): Promise<Loaded> {
  const loanCase = await deps.cases.update(loaded.loanCase, change, toInstant(deps.clock.now()));
  return { ...loaded, loanCase };
}

/** What a caller adds to the recorded outcome of a step (the workflow: the wake of its next action). */
export type OutcomeFinish = (change: CaseChange, now: Date) => CaseChange;

/**
 * Sends the channels of the step in flight and records each outcome: sent, or failed. A throttled provider
 * leaves the unsent channels in flight, marked safe to retry, and the error goes to the workflow's retry.
 * Returns the case with the step completed, and the instant it was completed at: the next action is planned
 * from there. `finish` shapes the completing write (whatever case it lands on), not a throttled one.
 */
export async function deliver(
  deps: SendingDeps,
  claimed: Loaded,
  finish: OutcomeFinish = (change) => change,
  portalLink?: SentLink,
  carried?: Carried,
): Promise<{ loaded: Loaded; now: Date }> {
  const inFlight = claimed.loanCase.inFlight;
  const step = inFlight && findStep(claimed.policy, inFlight.step);
  if (!inFlight || !step) throw new Error("no deliverable step in flight");
  const copies: MessageCopy[] = [];
  const withClaim = (change: CaseChange): CaseChange =>
    withCopies(carried ? withCarried(change, carried) : change, copies);
  let loaded = claimed;
  if (inFlight.retryable) {
    // Take the retry: the claim is a conditional write, so a payment that landed first still wins.
    loaded = await writeChange(deps, loaded, {
      next: { ...loaded.loanCase, inFlight: { ...inFlight, retryable: false } },
      events: [],
    });
  }
  const events: AuditEvent[] = [];
  for (const [index, channel] of inFlight.channels.entries()) {
    try {
      const sent = await sendOne(deps, loaded, step, channel, portalLink);
      events.push(sent.event);
      copies.push(sent.copy);
    } catch (error) {
      if (error instanceof ProviderThrottledError) {
        const remaining = inFlight.channels.slice(index);
        await recordOutcome(
          deps,
          loaded,
          (c) => withClaim(releaseChannels(c, remaining, events, deps.clock.now())),
          (c) => withClaim(recordedOnNewer(c, events, deps.clock.now())),
        );
        throw error;
      }
      events.push({
        type: "message_failed",
        actor: WORKFLOW_ACTOR,
        data: { step: step.id, channel, reason: error instanceof Error ? error.name : "unknown" },
      });
    }
  }
  const now = deps.clock.now();
  const completed = (c: LoanCase) => finish(withClaim(completeStep(c, events, now)), now);
  const onNewer = (c: LoanCase) => finish(withClaim(recordedOnNewer(c, events, now)), now);
  return { loaded: await recordOutcome(deps, loaded, completed, onNewer), now };
}

/**
 * What a claim taken without its entries leaves to the outcome's write (see ExpectedClaim): the claim's entries,
 * ahead of the messages', and the portal link its messages carry.
 */
export interface Carried {
  events: AuditEvent[];
  issuedLinks: NonNullable<CaseChange["issuedLinks"]>;
}

function withCarried(change: CaseChange, carried: Carried): CaseChange {
  return {
    ...change,
    events: [...carried.events, ...change.events],
    issuedLinks: [...(change.issuedLinks ?? []), ...carried.issuedLinks],
  };
}

/** The texts of the messages sent go with the write that records them. */
function withCopies(change: CaseChange, copies: MessageCopy[]): CaseChange {
  return copies.length > 0
    ? { ...change, messageCopies: [...(change.messageCopies ?? []), ...copies] }
    : change;
}

/** A step settled elsewhere meanwhile: what was sent is still a fact and goes on the record of the newer case. */
function recordedOnNewer(fresh: LoanCase, events: AuditEvent[], now: Date): CaseChange {
  return { next: recordContacts({ ...fresh, updatedAt: fresh.updatedAt }, events, now), events };
}

/**
 * Records what happened to a claimed step. Messages that went out are facts: if an event (a payment, a
 * hold) committed meanwhile, the outcome is written onto the newer case rather than lost.
 */
async function recordOutcome(
  deps: SendingDeps,
  claimed: Loaded,
  change: (loanCase: LoanCase) => CaseChange,
  onNewer: (fresh: LoanCase) => CaseChange,
): Promise<Loaded> {
  const step = claimed.loanCase.inFlight?.step;
  let loaded = claimed;
  for (let attempt = 1; ; attempt++) {
    try {
      return await writeChange(deps, loaded, change(loaded.loanCase));
    } catch (error) {
      if (!(error instanceof ConcurrentUpdateError) || attempt >= 5) throw error;
      const fresh = await deps.cases.get(loaded.loanCase.tenantId, loaded.loanCase.loanId);
      if (!fresh) throw error;
      // Settled elsewhere meanwhile: what was sent is still a fact and goes on the record.
      if (fresh.inFlight?.step !== step)
        return writeChange(deps, { ...loaded, loanCase: fresh }, onNewer(fresh));
      loaded = { ...loaded, loanCase: fresh };
    }
  }
}

/**
 * Renders and hands one channel of a step to its provider; the `message_sent` entry is the evidence, the copy
 * of its text is kept beside the trail.
 */
async function sendOne(
  deps: SendingDeps,
  loaded: Loaded,
  step: PolicyStep,
  channel: Channel,
  portalLink: SentLink | undefined,
): Promise<{ event: AuditEvent; copy: MessageCopy }> {
  const { policy } = loaded;
  const now = deps.clock.now();
  // The balance in a message is the balance at send time, fees and interest included.
  const loanCase = chargedTo(loaded.loanCase, policy.charges, now);
  const { borrower } = loanCase;
  // The texts of the case's own policy version, so the evidence's template version is the policy version.
  const variables = messageVariables(loanCase, now, portalLink?.url);
  const content = renderMessage(templatesOf(policy), step.template, borrower.locale, channel, variables);
  const to = addressOf(borrower, channel) as string;
  const { providerMessageId } = await deps.sender.send({
    tenantId: loanCase.tenantId,
    loanId: loanCase.loanId,
    step: step.id,
    stage: step.stage,
    channel,
    locale: borrower.locale,
    to,
    ...content,
  });
  const copy = messageCopy(content, portalLink);
  const event: AuditEvent = {
    type: "message_sent",
    actor: WORKFLOW_ACTOR,
    data: {
      step: step.id,
      stage: step.stage,
      channel,
      to: channelSpec(channel).mask(to),
      policy: { id: policy.id, version: policy.version },
      template: { id: step.template, version: policy.version, locale: borrower.locale },
      contentSha256: copy.contentSha256,
      balance: loanCase.balance,
      sentAt: toInstant(now),
      sentAtLocal: localTime(now, borrower.timeZone),
      rulesPassed: [
        "contact_window",
        "case_collectable",
        "channel_not_opted_out",
        // Over this loan's contacts, or over the borrower's on all their loans: the policy's capsPer.
        `frequency_caps_per_${rulesOf(policy).capsPer}`,
        "claimed_at_version",
      ],
      // Servicing messages about the borrower's own loan, to contact data the lender supplied with it.
      consentBasis: "loan_agreement_servicing",
      providerMessageId,
    },
  };
  return { event, copy };
}
