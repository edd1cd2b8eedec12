import type { Outcome } from "../contracts/work.ts";
import {
  BusinessRuleError,
  CaseStateConflictError,
  ConcurrentUpdateError,
  DomainError,
  NotFoundError,
} from "../domain/errors.ts";
import { chargedTo, type LoanCase } from "../domain/loan-case.ts";
import { maskPhone } from "../domain/pii.ts";
import type { Policy } from "../domain/policy.ts";
import { daysPastDue, toInstant } from "../domain/time.ts";
import {
  type AttemptResult,
  type CallRules,
  type ContactAttempt,
  callRulesOf,
  checkClaim,
  hasVisitStaff,
} from "../domain/work/call-rules.ts";
import { byUrgency } from "../domain/work/urgency.ts";
import { ATTEMPTS_KEPT_MS, newWorkItem, type WorkItem } from "../domain/work/work-items.ts";
import type { WorkItemStore } from "../ports/work.ts";
import type { Principal } from "../ports.ts";
import { type LenderDeps, recordEventBy } from "./lender.ts";

/** How long a claimed item is the agent's alone: a call and its notes, with room to spare. */
export const LEASE_MS = 15 * 60 * 1000;
const LIST_LIMIT = 100;

export interface WorkDeps extends LenderDeps {
  work: WorkItemStore;
}

const agentOf = (principal: Principal) => `${principal.role}:${principal.keyId}`;

/** A rule pack's limits as the case's policy sets them ("cn" unless it names another). */
function rulesFor(policy: Policy): CallRules {
  const choice = policy.callRules;
  return callRulesOf(choice?.rulePack ?? "cn", (choice?.overrides ?? {}) as Partial<CallRules>);
}

/**
 * Whose work a case is: an agency's agents work the cases placed with their agency, the tenant's own agents the
 * cases placed with none. Anything else is answered as if it did not exist.
 */
function visibleTo(principal: Principal, loanCase: LoanCase): boolean {
  return principal.agencyId === undefined
    ? !loanCase.placement
    : loanCase.placement?.agencyId === principal.agencyId;
}

/** The lender's loan id as an agency sees it: enough to tell cases apart on a call, not the lender's key. */
const maskedLoanId = (loanId: string) => `…${loanId.slice(-4)}`;

/** What an agent sees of an item and its case: enough to call or visit, nothing more (an agency less still). */
function itemView(item: WorkItem, loanCase: LoanCase, now: Date, principal: Principal) {
  const { borrower } = loanCase;
  const loanId = principal.agencyId === undefined ? loanCase.loanId : maskedLoanId(loanCase.loanId);
  return {
    ...item,
    loanId,
    loan: {
      loanId,
      status: loanCase.status,
      balance: loanCase.balance,
      dueDate: loanCase.dueDate,
      daysPastDue: daysPastDue(loanCase.dueDate, borrower.timeZone, now),
      brokenPromises: loanCase.brokenPromises ?? 0,
      hold: loanCase.hold,
      borrower: {
        name: borrower.name,
        phone: borrower.phone ?? null,
        locale: borrower.locale,
        timeZone: borrower.timeZone,
      },
    },
  };
}

const leasedToOther = (item: WorkItem, agent: string, now: Date) =>
  item.lease != null && item.lease.agent !== agent && Date.parse(item.lease.until) > now.getTime();

/** The items an agent may take now, most urgent first: due, open, not held by someone else. */
export async function listWork(deps: WorkDeps, principal: Principal) {
  const now = deps.clock.now();
  const agent = agentOf(principal);
  const due = (await deps.work.open(principal.tenantId)).filter(
    (item) => Date.parse(item.dueAt) <= now.getTime() && !leasedToOther(item, agent, now),
  );
  // An item whose loan is gone is left off the list; any other failure is the request's.
  const cases = await Promise.all(
    due.map((item) =>
      caseOf(deps, item).catch((error: unknown) => {
        if (error instanceof NotFoundError) return null;
        throw error;
      }),
    ),
  );
  const rows = due.flatMap((item, index) => {
    const loanCase = cases[index]?.loanCase;
    if (!loanCase || (loanCase.status !== "active" && loanCase.status !== "on_hold")) return [];
    if (!visibleTo(principal, loanCase)) return [];
    const view = itemView(item, loanCase, now, principal);
    return [
      {
        view,
        daysPastDue: view.loan.daysPastDue,
        balance: loanCase.balance,
        brokenPromises: view.loan.brokenPromises,
        callbackDueAt: item.step === "callback" ? item.dueAt : null,
        dueAt: item.dueAt,
      },
    ];
  });
  return {
    items: byUrgency(rows, now)
      .slice(0, LIST_LIMIT)
      .map((row) => row.view),
  };
}

async function workItem(deps: WorkDeps, principal: Principal, id: string): Promise<WorkItem> {
  const item = await deps.work.get(principal.tenantId, id);
  if (!item) throw new NotFoundError(`work item ${id} not found`);
  return item;
}

async function caseOf(
  deps: WorkDeps,
  item: WorkItem,
  principal?: Principal,
): Promise<{ loanCase: LoanCase; policy: Policy }> {
  const loanCase = await deps.cases.get(item.tenantId, item.loanId);
  if (!loanCase) throw new NotFoundError(`loan ${item.loanId} not found`);
  if (principal && !visibleTo(principal, loanCase)) throw new NotFoundError(`work item ${item.id} not found`);
  const policy = await deps.policies.get(item.tenantId, loanCase.policy.id, loanCase.policy.version);
  if (!policy) throw new NotFoundError(`policy ${loanCase.policy.id} not found`);
  return { loanCase: chargedTo(loanCase, policy.charges, deps.clock.now()), policy };
}

/**
 * An agent takes an item for LEASE_MS: refused while another agent holds it, when the case no longer takes contact,
 * and when the policy's call rules forbid the call or visit now — naming the rule and when it becomes allowed.
 */
export async function claimWork(deps: WorkDeps, principal: Principal, id: string) {
  const now = deps.clock.now();
  const agent = agentOf(principal);
  const item = await workItem(deps, principal, id);
  // Whose item it is comes first: an item of a case this key may not work is one that does not exist.
  const { loanCase, policy } = await caseOf(deps, item, principal);
  if (item.status !== "open")
    throw new CaseStateConflictError(`work item ${id} is done`, [], "WORK_ITEM_DONE");
  if (leasedToOther(item, agent, now)) {
    throw new CaseStateConflictError(
      `work item ${id} is held by another agent`,
      [{ path: "id", message: `held until ${item.lease?.until}` }],
      "WORK_ITEM_LEASED",
    );
  }
  if (loanCase.status !== "active" && loanCase.status !== "on_hold") {
    throw new CaseStateConflictError(
      `the loan is ${loanCase.status}: no call or visit`,
      [],
      "CASE_STATE_CONFLICT",
    );
  }
  if (item.task === "call" && (!loanCase.borrower.phone || loanCase.phoneUnreachable)) {
    throw new BusinessRuleError("NO_REACHABLE_PHONE", "the borrower has no phone that reaches them");
  }
  const verdict = checkClaim({
    kind: item.task,
    ...(loanCase.borrower.phone ? { number: loanCase.borrower.phone } : {}),
    now,
    timeZone: loanCase.borrower.timeZone,
    window: policy.contactWindow,
    rules: rulesFor(policy),
    history: loanCase.contactAttempts ?? [],
  });
  if (!verdict.allowed) {
    throw new BusinessRuleError("CALL_RULE", verdict.message, [
      { path: verdict.rule, message: `allowed from ${verdict.allowedFrom}` },
    ]);
  }
  const leased: WorkItem = {
    ...item,
    lease: { agent, until: toInstant(new Date(now.getTime() + LEASE_MS)) },
    version: item.version + 1,
  };
  if (!(await deps.work.replace(leased, item.version))) {
    throw new ConcurrentUpdateError(`work item ${id} changed meanwhile; list the work again`);
  }
  return itemView(leased, loanCase, now, principal);
}

/**
 * What happened on a claimed call or visit. A promise or a dispute is the case's event, applied by the same use
 * case as a lender's (validated there first: a bad one changes nothing); every outcome goes on the case's trail as
 * `contact_outcome` with the agent, and into the attempts the call rules count; a wrong number marks the phone
 * unreachable; a callback becomes a new item due at its time.
 */
export async function recordOutcome(deps: WorkDeps, principal: Principal, id: string, outcome: Outcome) {
  const now = deps.clock.now();
  const agent = agentOf(principal);
  const item = await workItem(deps, principal, id);
  const { loanCase, policy } = await caseOf(deps, item, principal);
  if (item.status !== "open" || item.lease?.agent !== agent) {
    throw new CaseStateConflictError(
      `work item ${id} is not claimed by this agent`,
      [{ path: "id", message: "claim it first (POST /v1/work/{id}:claim)" }],
      "WORK_ITEM_NOT_CLAIMED",
    );
  }
  checkFits(item, outcome);
  if (
    (outcome.type === "visited" || outcome.type === "not_home") &&
    !hasVisitStaff(outcome.staff, rulesFor(policy))
  ) {
    throw new BusinessRuleError("VISIT_STAFF", "a visit names the staff who made it", [
      { path: "staff", message: `name at least ${rulesFor(policy).visitStaff} different people` },
    ]);
  }
  const callback = outcome.type === "callback" ? newCallback(item, outcome.at, now, agent) : null;
  if (outcome.type === "promise") {
    const event = { type: "promise_to_pay" as const, amount: outcome.amount, promisedDate: outcome.date };
    await recordEventBy(deps, { tenantId: item.tenantId, actor: agent }, item.loanId, event).catch(
      (error: unknown) => {
        // The promise's refusal names the outcome's own field.
        if (error instanceof DomainError)
          error.details.forEach((d) => {
            d.path = d.path.replace(/^promisedDate/, "date");
          });
        throw error;
      },
    );
  }
  if (outcome.type === "dispute") {
    await recordEventBy(deps, { tenantId: item.tenantId, actor: agent }, item.loanId, {
      type: "dispute_opened",
    });
  }
  await recordAttempt(deps, item, loanCase, outcome, agent, now);
  if (callback) await deps.work.create(callback);
  const done: WorkItem = {
    ...item,
    status: "done",
    lease: null,
    outcome: { result: outcome.type, at: toInstant(now), by: agent },
    version: item.version + 1,
  };
  // The case's record is written; the item is only the list's view of it, so a lost race here is harmless.
  await deps.work.replace(done, item.version);
  return { ...done, ...(callback ? { callback: { id: callback.id, dueAt: callback.dueAt } } : {}) };
}

const VISIT_RESULTS: readonly AttemptResult[] = ["visited", "not_home"];
const CALL_ONLY: readonly AttemptResult[] = ["no_answer", "busy", "wrong_number"];

/** A visit's outcome on a visit, a call's on a call. */
function checkFits(item: WorkItem, outcome: Outcome): void {
  const visitOnly = VISIT_RESULTS.includes(outcome.type);
  if ((item.task === "call" && visitOnly) || (item.task === "visit" && CALL_ONLY.includes(outcome.type))) {
    throw new BusinessRuleError(
      "OUTCOME_NOT_FOR_TASK",
      `${outcome.type} is not an outcome of a ${item.task}`,
      [{ path: "type", message: `not an outcome of a ${item.task}` }],
    );
  }
}

function newCallback(item: WorkItem, at: string, now: Date, agent: string): WorkItem {
  if (Date.parse(at) <= now.getTime()) {
    throw new BusinessRuleError("DATE_IN_THE_PAST", "a callback is at a later time", [
      { path: "at", message: "must be in the future" },
    ]);
  }
  const loan = { tenantId: item.tenantId, loanId: item.loanId };
  return newWorkItem(loan, { id: "callback", task: "call" }, toInstant(new Date(at)), toInstant(now), agent)
    .item;
}

/** The attempt on the case: its trail entry, the attempts the rules count, the phone marked when it was wrong. */
async function recordAttempt(
  deps: WorkDeps,
  item: WorkItem,
  read: LoanCase,
  outcome: Outcome,
  agent: string,
  now: Date,
): Promise<void> {
  const at = toInstant(now);
  const phone = read.borrower.phone;
  const attempt: ContactAttempt = {
    at,
    kind: item.task,
    ...(item.task === "call" && phone ? { number: phone } : {}),
    result: outcome.type,
  };
  const { type: _type, ...details } = outcome;
  const data = {
    workItemId: item.id,
    task: item.task,
    result: outcome.type,
    ...(attempt.number ? { to: maskPhone(attempt.number) } : {}),
    ...details,
  };
  for (let tries = 1; ; tries++) {
    const current = (await deps.cases.get(item.tenantId, item.loanId)) ?? read;
    const kept = (current.contactAttempts ?? []).filter(
      (a) => now.getTime() - Date.parse(a.at) < ATTEMPTS_KEPT_MS,
    );
    const next: LoanCase = {
      ...current,
      contactAttempts: [...kept, attempt],
      ...(outcome.type === "wrong_number" ? { phoneUnreachable: true } : {}),
      updatedAt: at,
    };
    try {
      await deps.cases.update(
        current,
        { next, events: [{ type: "contact_outcome", actor: agent, data }] },
        at,
      );
      return;
    } catch (error) {
      if (!(error instanceof ConcurrentUpdateError) || tries >= 5) throw error;
    }
  }
}
