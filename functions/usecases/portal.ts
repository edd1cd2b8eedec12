import { createHash, timingSafeEqual } from "node:crypto";
import { conflictBackoff } from "../concurrency.ts";
import type { AuditEvent } from "../domain/audit-chain.ts";
import type { Channel } from "../domain/channels.ts";
import { BorrowerRequestError, ConcurrentUpdateError, NotFoundError } from "../domain/errors.ts";
import type { LoanEvent } from "../domain/events.ts";
import { chargedTo, type LoanCase } from "../domain/loan-case.ts";
import { amountAskedFor } from "../domain/message-variables.ts";
import type { Policy } from "../domain/policy.ts";
import {
  afterWrongAnswer,
  type LinkStanding,
  linkStanding,
  MAX_WRONG_ANSWERS,
  type PortalLink,
  SESSION_MS,
  type VerificationFactor,
} from "../domain/portal.ts";
import {
  type BorrowerCaseView,
  borrowerCaseView,
  borrowerToday,
  insideContactWindow,
  offeredPlans,
  promiseWindow,
} from "../domain/portal-view.ts";
import { monthlySchedule, selfServiceOf } from "../domain/self-service.ts";
import { paymentUrlFor } from "../domain/tenant-settings.ts";
import { toInstant } from "../domain/time.ts";
import type { PortalLinkStore } from "../ports/portal.ts";
import type { TenantSettingsStore } from "../ports/send-pacing.ts";
import { answerMatches, factorFor } from "./borrower-verification.ts";
import { type LenderDeps, recordEventBy } from "./lender.ts";
import { type ActionTaken, oweConfirmation } from "./portal-confirmations.ts";
import { newPortalToken, tokenHashOf } from "./portal-links.ts";

/** What the borrower's page needs: the lender's use cases, the links, the tenant's settings (payment page). */
export interface PortalDeps extends LenderDeps {
  links: PortalLinkStore;
  settings: Pick<TenantSettingsStore, "get">;
}

/** Verification attempts one address may make in an hour, across every link. */
export const MAX_ATTEMPTS_PER_ADDRESS = 30;

/** A presented link, as far as the page may go with it. */
export type OpenedLink =
  | { standing: Exclude<LinkStanding, "usable">; locale?: LoanCase["borrower"]["locale"] }
  | {
      standing: "usable";
      tokenHash: string;
      link: PortalLink;
      loanCase: LoanCase;
      factor: VerificationFactor;
    };

/**
 * Finds the link a token stands for and the case it points to. Mistyped, expired, revoked, a case gone, or no
 * factor to ask for: unusable, all alike. Locked: only the borrower's language is kept, to say so.
 */
export async function openLink(deps: PortalDeps, token: string): Promise<OpenedLink> {
  const tokenHash = tokenHashOf(token);
  const link = await deps.links.get(tokenHash);
  if (!link) return { standing: "unusable" };
  const loanCase = await deps.cases.get(link.tenantId, link.loanId);
  const standing = linkStanding(link, loanCase, deps.clock.now());
  if (!loanCase || standing === "unusable") return { standing: "unusable" };
  if (standing === "locked") return { standing, locale: loanCase.borrower.locale };
  const factor = factorFor(loanCase);
  if (!factor) return { standing: "unusable" };
  return { standing: "usable", tokenHash, link, loanCase, factor };
}

export type VerifyResult =
  | { kind: "verified"; sessionToken: string }
  | { kind: "wrong"; attemptsLeft: number; opened: Extract<OpenedLink, { standing: "usable" }> }
  | { kind: "closed"; opened: Exclude<OpenedLink, { standing: "usable" }> }
  | { kind: "too_many_attempts" };

/**
 * Checks the borrower's answer. A right one opens a session (its token goes into a cookie, its hash on the
 * link); a wrong one counts, and the fifth locks the link for a day, on the case's record. Every attempt
 * counts against the address too.
 */
export async function verifyBorrower(
  deps: PortalDeps,
  token: string,
  answer: string,
  addressHash: string,
): Promise<VerifyResult> {
  if ((await deps.links.countAttempt(addressHash, deps.clock.now())) > MAX_ATTEMPTS_PER_ADDRESS) {
    return { kind: "too_many_attempts" };
  }
  for (let attempt = 1; ; attempt++) {
    const opened = await openLink(deps, token);
    if (opened.standing !== "usable") return { kind: "closed", opened };
    try {
      return await answerOnce(deps, opened, answer);
    } catch (error) {
      if (!(error instanceof ConcurrentUpdateError) || attempt >= 3) throw error;
      await conflictBackoff(attempt);
    }
  }
}

async function answerOnce(
  deps: PortalDeps,
  opened: Extract<OpenedLink, { standing: "usable" }>,
  answer: string,
): Promise<VerifyResult> {
  const { link, tokenHash, loanCase } = opened;
  const now = deps.clock.now();
  if (answerMatches(loanCase, answer)) {
    const sessionToken = newPortalToken();
    const session = {
      hash: tokenHashOf(sessionToken),
      until: toInstant(new Date(now.getTime() + SESSION_MS)),
    };
    await deps.links.save(tokenHash, link, { ...link, failures: 0, session });
    return { kind: "verified", sessionToken };
  }
  const next = afterWrongAnswer(link, now);
  await deps.links.save(tokenHash, link, next);
  if (next.lockedUntil !== link.lockedUntil) {
    // The lock goes on the case's record: which link, until when; never the answers given. Whoever typed them
    // is not known to be the borrower, so the page itself is the actor.
    await recordOnCase(deps, loanCase, {
      type: "portal_locked",
      actor: PORTAL_ACTOR,
      data: { linkId: link.linkId, wrongAnswers: MAX_WRONG_ANSWERS, until: next.lockedUntil },
    });
    return { kind: "closed", opened: { standing: "locked", locale: loanCase.borrower.locale } };
  }
  return { kind: "wrong", attemptsLeft: MAX_WRONG_ANSWERS - next.failures, opened };
}

/**
 * An entry on the case's record that changes nothing else (a lock, a plan asked for), on the case as it stands
 * when written.
 */
async function recordOnCase(deps: PortalDeps, loanCase: LoanCase, event: AuditEvent): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const current = attempt === 1 ? loanCase : await deps.cases.get(loanCase.tenantId, loanCase.loanId);
    if (!current) return;
    const at = toInstant(deps.clock.now());
    try {
      await deps.cases.update(current, { next: { ...current, updatedAt: at }, events: [event] }, at);
      return;
    } catch (error) {
      if (!(error instanceof ConcurrentUpdateError) || attempt >= 5) throw error;
      await conflictBackoff(attempt);
    }
  }
}

const PORTAL_ACTOR = "system:portal";

export const borrowerActor = (link: Pick<PortalLink, "linkId">) => `borrower:${link.linkId}`;

/** The link a session cookie opens, if it is the session the link holds and it has not ended. */
export async function openSession(
  deps: PortalDeps,
  token: string,
  sessionToken: string | undefined,
): Promise<Extract<OpenedLink, { standing: "usable" }> | null> {
  if (!sessionToken) return null;
  const opened = await openLink(deps, token);
  if (opened.standing !== "usable") return null;
  const session = opened.link.session;
  if (!session || Date.parse(session.until) <= deps.clock.now().getTime()) return null;
  const given = Buffer.from(tokenHashOf(sessionToken), "hex");
  const held = Buffer.from(session.hash, "hex");
  return given.length === held.length && timingSafeEqual(given, held) ? opened : null;
}

/** The CSRF token of a session: derived from the session's secret, so only a page of that session holds it. */
export function csrfTokenOf(sessionToken: string): string {
  return createHash("sha256").update(`csrf:${sessionToken}`).digest("base64url");
}

/** The case as the page shows it, with the tenant's payment page for this loan when the tenant set one. */
export async function borrowerView(
  deps: PortalDeps,
  opened: Extract<OpenedLink, { standing: "usable" }>,
): Promise<BorrowerCaseView> {
  const { loanCase } = opened;
  const [policy, settings] = await Promise.all([
    deps.policies.get(loanCase.tenantId, loanCase.policy.id, loanCase.policy.version),
    deps.settings.get(loanCase.tenantId),
  ]);
  if (!policy) throw new NotFoundError("the case's policy is missing");
  const paymentUrl = paymentUrlFor(settings.paymentUrlTemplate, loanCase.loanId);
  return borrowerCaseView(loanCase, policy, deps.clock.now(), paymentUrl);
}

/** What the borrower asked for on the page, as the form sent it. */
export type BorrowerRequest =
  | { action: "promise"; date: string }
  | { action: "dispute"; reason: string }
  | { action: "opt-out"; channel: string }
  | { action: "plan"; months: string }
  | { action: "contact-time"; time: string };

/**
 * A borrower's action through the lender's own event use case, as `borrower:<link id>`: a promise to pay what the
 * messages ask for by a date within the policy's limit, a dispute with its reason, an opt-out of a channel they are
 * reached on, or one of the policy's installment plans — applied at once, or recorded for the lender to approve
 * (`plan_requested`), as the policy says. Anything else is refused with what to change, and changes nothing.
 */
export async function borrowerAction(
  deps: PortalDeps,
  opened: Extract<OpenedLink, { standing: "usable" }>,
  request: BorrowerRequest,
): Promise<"applied" | "sent_for_approval"> {
  const { loanCase, link } = opened;
  const policy = await deps.policies.get(loanCase.tenantId, loanCase.policy.id, loanCase.policy.version);
  if (!policy) throw new NotFoundError("the case's policy is missing");
  const now = deps.clock.now();
  const by = { tenantId: link.tenantId, actor: borrowerActor(link) };
  if (request.action === "plan") {
    const installments = planAsked(loanCase, policy, request.months, now);
    if (selfServiceOf(policy).planApproval === "lender") {
      const data = { linkId: link.linkId, months: installments.length, installments };
      await recordOnCase(deps, loanCase, { type: "plan_requested", actor: by.actor, data });
      await oweConfirmation(deps, link, { action: "plan_requested", months: installments.length });
      return "sent_for_approval";
    }
    await recordEventBy(deps, by, link.loanId, { type: "installment_plan", installments });
    await oweConfirmation(deps, link, { action: "plan", installments });
    return "applied";
  }
  const event = eventOf(loanCase, policy, request, now);
  await recordEventBy(deps, by, link.loanId, event);
  await oweConfirmation(deps, link, confirmedAs(event));
  return "applied";
}

/** What the confirmation of a recorded borrower's event states. */
function confirmedAs(event: LoanEvent): ActionTaken {
  switch (event.type) {
    case "promise_to_pay":
      return { action: "promise", amount: event.amount, date: event.promisedDate };
    case "opt_out":
      return { action: "opt_out", channel: event.channel };
    case "contact_time_preferred":
      return { action: "contact_time", time: event.time };
    default:
      return { action: "dispute" };
  }
}

/** The schedule of an offered plan: refused unless the policy offers it for what is owed now. */
function planAsked(loanCase: LoanCase, policy: Policy, months: string, now: Date) {
  const offered = offeredPlans(loanCase, policy, now).find((plan) => String(plan.months) === months);
  if (!offered) throw invalid("months", "choose one of the plans offered");
  const owed = chargedTo(loanCase, policy.charges, now).balance;
  return monthlySchedule(owed, offered.months, borrowerToday(loanCase, now));
}

function eventOf(
  loanCase: LoanCase,
  policy: Policy,
  request: Exclude<BorrowerRequest, { action: "plan" }>,
  now: Date,
): LoanEvent {
  switch (request.action) {
    case "promise": {
      const { earliest, latest } = promiseWindow(loanCase, policy, now);
      if (!/^\d{4}-\d{2}-\d{2}$/.test(request.date) || request.date < earliest || request.date > latest) {
        throw invalid("date", `choose a date from ${earliest} to ${latest}`);
      }
      // What the messages ask for: the installment being collected (with charges), or the whole balance.
      return { type: "promise_to_pay", amount: amountAskedFor(loanCase), promisedDate: request.date };
    }
    case "dispute": {
      const reason = request.reason.trim();
      if (reason.length === 0 || reason.length > 500)
        throw invalid("reason", "say why, in at most 500 characters");
      return { type: "dispute_opened", reason };
    }
    case "contact-time": {
      // An empty choice goes back to the policy's own times.
      if (request.time === "") return { type: "contact_time_preferred", time: null };
      const { start, end } = policy.contactWindow;
      if (!insideContactWindow(request.time, policy))
        throw invalid("time", `choose a time from ${start} to before ${end}`);
      return { type: "contact_time_preferred", time: request.time };
    }
    case "opt-out": {
      const reachable = request.channel === "sms" ? loanCase.borrower.phone : loanCase.borrower.email;
      if ((request.channel !== "sms" && request.channel !== "email") || !reachable) {
        throw invalid("channel", "not a channel you are reached on");
      }
      return { type: "opt_out", channel: request.channel as Channel };
    }
  }
}

const invalid = (path: string, message: string) => new BorrowerRequestError(message, [{ path, message }]);
