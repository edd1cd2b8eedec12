import { type BorrowerContact, contactsForCaps } from "./borrower-contacts.ts";
import { nextAllowedInstant } from "./contact-window.ts";
import type { CaseChange, Claimant, LoanCase } from "./loan-case.ts";
import { type Policy, rulesOf } from "./policy.ts";
import {
  assignTask,
  claimStep,
  decideStep,
  deferStep,
  handOff,
  type StepDecision,
  skipStep,
} from "./step-lifecycle.ts";
import { withholdHandOff } from "./workflow-health.ts";

/** What the workflow knows when it wakes for a case. */
export interface StepInput {
  /** A collectable case (or one on hold until a date), with no step in flight. */
  loanCase: LoanCase;
  /** The policy version the case runs on. */
  policy: Policy;
  /**
   * The borrower's contacts on all their loans (their contact record): counted by the caps when the policy
   * caps per borrower, ignored when it caps per loan. This loan's entries are left out, the case has its own.
   */
  borrowerContacts: readonly BorrowerContact[];
  now: Date;
  /** Who claims a step about to be sent, and for how long; none when nothing else may run the case. */
  claimant?: Claimant;
}

/** What happens at a step: the decision, and the change to the case with the audit events that explain it. */
export interface StepTransition {
  decision: StepDecision;
  /**
   * wait: none (the case unchanged, no events). defer: the deferral. skip: the step settled unsent. send: the
   * claim (superseded steps skipped, channels suppressed or replaced, the step started and in flight) — the
   * messages and their outcomes are the sender's to record. hand_off: the move to legal, or the case flagged
   * when no message ever reached the borrower.
   */
  change: CaseChange;
}

/**
 * What happens when the workflow wakes for a case at `now`: the contact rules decide (decideStep) and the
 * decision becomes a change of the case. The workflow's tasks and the what-if simulator both step cases
 * through here, so a simulation answers with exactly the decisions production would take.
 */
export function stepTransition(input: StepInput): StepTransition {
  const { loanCase, policy, now } = input;
  const zone = loanCase.borrower.timeZone;
  const others = rulesOf(policy).capsPer === "borrower" ? input.borrowerContacts : [];
  const recent = contactsForCaps(loanCase.loanId, loanCase.recentContacts ?? [], others, now);
  const decision = decideStep(
    loanCase,
    policy,
    now,
    (at) => nextAllowedInstant(at, zone, policy.contactWindow),
    recent,
  );
  switch (decision.kind) {
    case "wait":
      return { decision, change: { next: loanCase, events: [] } };
    case "defer":
      return { decision, change: deferStep(loanCase, decision, now) };
    case "skip":
      return { decision, change: skipStep(loanCase, decision, now) };
    case "assign":
      return { decision, change: assignTask(loanCase, decision, now) };
    case "send":
      return { decision, change: claimStep(loanCase, decision, now, input.claimant) };
    case "hand_off":
      return {
        decision,
        change: decision.withheld
          ? withholdHandOff(loanCase, decision.plannedAt, now)
          : handOff(loanCase, decision.plannedAt, now),
      };
  }
}
