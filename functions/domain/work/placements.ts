import { BusinessRuleError, CaseStateConflictError } from "../errors.ts";
import type { EventOutcome, LoanCase } from "../loan-case.ts";
import type { RulePackName } from "../policy.ts";
import { toInstant } from "../time.ts";
import type { CasePlacement } from "./work-items.ts";

/** The rule packs under which a case goes to an agency only with the borrower's consent (China's PIPL, art. 23). */
const CONSENT_TO_SHARE: readonly RulePackName[] = ["cn"];

/**
 * A case placed with an outside agency. Its messages pause unless the placement says otherwise: the case is held
 * (`placement`) and its workflow stops until the recall. A case in dispute, in legal or already placed is refused,
 * and so is one the rule pack may not share without consent it lacks.
 */
export function placeCase(
  loanCase: LoanCase,
  placement: CasePlacement,
  rulePack: RulePackName,
  actor: string,
  now: Date,
): EventOutcome {
  if (loanCase.status !== "active" && loanCase.status !== "on_hold")
    throw new CaseStateConflictError(`the loan is ${loanCase.status}; only a collectable loan is placed`);
  if (loanCase.placement)
    throw new CaseStateConflictError(`the loan is placed already (${loanCase.placement.id})`);
  if (loanCase.hold?.reason === "dispute") throw new CaseStateConflictError("the loan is in dispute");
  if (CONSENT_TO_SHARE.includes(rulePack) && !loanCase.consents?.third_party_sharing) {
    throw new BusinessRuleError(
      "CONSENT_REQUIRED",
      `the ${rulePack} rule pack shares a borrower's data with an agency only with their consent`,
      [{ path: "loanIds", message: "record consent_recorded (third_party_sharing) on the loan first" }],
    );
  }
  const at = toInstant(now);
  const held = placement.pauseMessages
    ? { status: "on_hold" as const, hold: { reason: "placement" as const, since: at } }
    : {};
  const data = {
    placementId: placement.id,
    agencyId: placement.agencyId,
    pauseMessages: placement.pauseMessages,
    replacedHold: placement.pauseMessages ? (loanCase.hold?.reason ?? null) : null,
  };
  return {
    next: { ...loanCase, ...held, placement, updatedAt: at },
    events: [{ type: "case_placed", actor, data }],
    workflow: placement.pauseMessages ? "stop" : "none",
  };
}

/** The case back from its agency: the placement ends, a placement hold lifts and collection resumes. */
export function recallCase(loanCase: LoanCase, actor: string, now: Date): EventOutcome {
  const placement = loanCase.placement;
  if (!placement) throw new CaseStateConflictError("the loan is not placed");
  const at = toInstant(now);
  // A placement hold lifts; an agreement the agency obtained meanwhile stays, and its review is planned again.
  const held = loanCase.hold?.reason === "placement";
  const resumed = held && loanCase.status === "on_hold" ? { status: "active" as const, hold: null } : {};
  return {
    next: { ...loanCase, ...resumed, placement: null, updatedAt: at },
    events: [
      { type: "case_recalled", actor, data: { placementId: placement.id, agencyId: placement.agencyId } },
    ],
    workflow: placement.pauseMessages ? "replan" : "none",
  };
}
