import { forEachLimited } from "../concurrency.ts";
import type { AuditEntry } from "../domain/audit-chain.ts";
import { InputOutOfRangeError } from "../domain/errors.ts";
import type { LoanCase } from "../domain/loan-case.ts";
import { add, type Money, money } from "../domain/money.ts";
import { type ArmLoan, type ArmReport, armReport } from "../domain/strategies/arm-report.ts";
import { toInstant } from "../domain/time.ts";
import type { CaseRepository, Clock, Principal } from "../ports.ts";

/** The most cases one report reads: beyond it the range must be narrowed (each case's trail is read). */
export const MAX_REPORT_CASES = 20_000;
const TRAIL_READS_AT_ONCE = 16;

export interface StrategyReportDeps {
  cases: CaseRepository;
  clock: Clock;
}

export interface StrategyReportQuery {
  strategy: string;
  from?: string;
  to?: string;
}

/**
 * Champion against challengers, per segment of one strategy: every case the strategy assigned between `from` and
 * `to` (its assignment instant), each arm's figures computed from the cases' own audit trails (messages sent,
 * payments, cures, opt-outs, disputes, hand-offs), so they agree with the evidence.
 */
export async function strategyReport(
  deps: StrategyReportDeps,
  principal: Principal,
  query: StrategyReportQuery,
): Promise<ArmReport & { strategy: string; from: string | null; to: string | null; asOf: string }> {
  const assigned = await assignedCases(deps.cases, principal.tenantId, query);
  const loans: ArmLoan[] = [];
  await forEachLimited(assigned, TRAIL_READS_AT_ONCE, async (loanCase) => {
    loans.push(armLoanOf(loanCase, await deps.cases.auditTrail(principal.tenantId, loanCase.loanId)));
  });
  // The same order whatever order the reads finished in.
  loans.sort((a, b) => (a.assignedAt === b.assignedAt ? 0 : a.assignedAt < b.assignedAt ? -1 : 1));
  const asOf = toInstant(deps.clock.now());
  return {
    strategy: query.strategy,
    from: query.from ?? null,
    to: query.to ?? null,
    asOf,
    ...armReport(loans, asOf),
  };
}

async function assignedCases(cases: CaseRepository, tenantId: string, query: StrategyReportQuery) {
  const found: LoanCase[] = [];
  let cursor: string | undefined;
  do {
    const page = await cases.list(tenantId, { limit: 100, ...(cursor ? { cursor } : {}) });
    for (const loanCase of page.items) {
      const strategy = loanCase.strategy;
      if (strategy?.strategy.id !== query.strategy) continue;
      if (query.from && strategy.assignedAt < query.from) continue;
      if (query.to && strategy.assignedAt >= query.to) continue;
      found.push(loanCase);
    }
    if (found.length > MAX_REPORT_CASES) {
      throw new InputOutOfRangeError(`more than ${MAX_REPORT_CASES} cases in the range; narrow it`, [
        { path: "from", message: `the range holds more than ${MAX_REPORT_CASES} assigned cases` },
      ]);
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return found;
}

/** One case as the arm report counts it, from its trail since its assignment. */
function armLoanOf(loanCase: LoanCase, trail: AuditEntry[]): ArmLoan {
  const strategy = loanCase.strategy;
  if (!strategy) throw new Error(`case ${loanCase.loanId} has no strategy assignment`);
  const since = trail.filter((entry) => entry.at >= strategy.assignedAt);
  const counted = (type: string) => since.filter((entry) => entry.type === type).length;
  let recovered: Money = money(0, loanCase.amountDue.currency);
  let curedAt: string | undefined;
  for (const entry of since) {
    if (entry.type === "payment_received") {
      const amount = entry.data.amount as Money;
      if (amount.currency === recovered.currency) recovered = add(recovered, amount);
      if (entry.data.paidInFull === true) curedAt ??= entry.at;
    }
    if (entry.type === "cured" || entry.type === "settlement_completed") curedAt ??= entry.at;
  }
  return {
    segment: strategy.segment,
    arm: strategy.arm,
    policyId: strategy.policyId,
    assignedAt: strategy.assignedAt,
    dueDate: loanCase.dueDate,
    amountDue: loanCase.amountDue,
    ...(curedAt ? { curedAt } : {}),
    recovered,
    messages: counted("message_sent"),
    optedOut: counted("opted_out") > 0,
    disputed: counted("dispute_opened") > 0,
    handedOff: counted("handed_off") > 0,
  };
}
