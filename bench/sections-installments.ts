import { MAX_EXECUTION_DAYS } from "../functions/usecases/workflow-steps.ts";
import { HISTORY_EVENT_LIMIT, type InstallmentRun, measureInstallmentLoan } from "./installments.ts";
import type { Cell, Section } from "./report.ts";
import { check, dynamoEndpoint, type SectionContext, TARGETS } from "./section-kit.ts";

/** Totals over every execution of the loan. */
function totals(run: InstallmentRun) {
  const sum = (pick: (e: InstallmentRun["executions"][number]) => number) =>
    run.executions.reduce((n, e) => n + pick(e), 0);
  const longest = (pick: (e: InstallmentRun["executions"][number]) => number) =>
    Math.max(0, ...run.executions.map(pick));
  return {
    transitions: sum((e) => e.states + e.retries),
    steps: sum((e) => e.steps),
    taskCalls: sum((e) => e.taskCalls),
    historyEvents: sum((e) => e.historyEvents),
    longestHistory: longest((e) => e.historyEvents),
    longestOpenDays: longest((e) => e.openDays),
    handedOver: run.executions.filter((e) => e.handedOver).length,
    running: run.executions.filter((e) => e.status === "RUNNING").length,
  };
}

/**
 * Section 8: an installment loan's whole life on the virtual clock — state transitions and history events per
 * installment, and whether any one execution comes near Step Functions' limits (25,000 history events, a year open).
 */
export async function installmentsSection(ctx: SectionContext): Promise<Section> {
  const count = ctx.quick ? 12 : 36;
  const run = await measureInstallmentLoan(await dynamoEndpoint(ctx), count, Math.ceil(count / 3));
  const t = totals(run);
  const per = (n: number) => n / run.installments;
  // Each dunning step is Choice → Wait → Task; each installment may pay the per-execution constant once.
  const budget = TARGETS.transitionsPerStep * t.steps + TARGETS.transitionsPerLoan * run.installments;
  const historyTarget = TARGETS.executionHistoryShare * HISTORY_EVENT_LIMIT;
  const ended = t.running === 0 && run.finalStatus === "paid";
  const checks = [
    check({
      figure: "State transitions per installment",
      value: per(t.transitions),
      unit: "",
      target: `≤ (3 × ${t.steps} steps + 5 × ${run.installments}) ÷ ${run.installments} = ${per(budget).toFixed(2)}`,
      met: ended ? t.transitions <= budget : null,
      why: "each installment should cost its dunning steps (Choice → Wait → Task) plus the constant of the execution its payment starts; more means states or retries beyond that",
    }),
    check({
      figure: "History events of the longest execution",
      value: t.longestHistory,
      unit: "events",
      target: `≤ ${historyTarget.toLocaleString("en-US")} (a tenth of the ${HISTORY_EVENT_LIMIT.toLocaleString("en-US")} limit)`,
      met: ended ? t.longestHistory <= historyTarget : null,
      why: "one execution carries the plan across installments; a payment that re-plans, or the hand-over to the next execution, should start a fresh history",
    }),
    check({
      figure: "Longest time one execution stays open",
      value: Math.round(t.longestOpenDays * 10) / 10,
      unit: "days",
      target: `≤ ${MAX_EXECUTION_DAYS} days (the hand-over bound; AWS allows 365)`,
      met: ended ? t.longestOpenDays <= MAX_EXECUTION_DAYS : null,
      why: "a plan longer than an execution may live must hand over (the `continue` phase) rather than wait past it",
    }),
  ];
  return {
    id: "installments",
    title: `8. Installment loan: ${run.installments} monthly installments on the virtual clock`,
    status: "measured",
    columns: ["Figure", "Whole loan", "Per installment"],
    rows: rows(run, t),
    checks,
    notes: [
      `One loan of ${run.installments} monthly installments of CNY 100.00 (borrower in Asia/Shanghai, default policy) through the HTTP API of an in-process local stack on a frozen virtual clock: each installment paid at 12:00 the day before it falls due, except installment ${run.missed}, paid 5 days late (soft collection for it, then a cure), until paid in full; then 60 more days.`,
      "Transitions: StateEntered events of every execution of the loan plus StateRetried ones, from the local engine running the real ASL. Dunning steps: Send and HandOff tasks entered.",
      "History events are estimated from the same record, as a Standard execution's history would hold them: ExecutionStarted and its end, Entered and Exited per state, Scheduled, Started and Succeeded/Failed per Lambda invocation (an upper bound by one for a stopped execution).",
      "Open time: virtual time from an execution's start to its end. A payment that moves the due date to the next installment re-plans the case: the running execution is stopped and the next generation starts at its planned action.",
      `${run.seconds.toFixed(1)} s of wall-clock time for the loan's life on this machine.`,
    ],
    data: { ...run, totals: t, budget },
    seconds: 0,
  };
}

function rows(run: InstallmentRun, t: ReturnType<typeof totals>): Cell[][] {
  const per = (n: number) => n / run.installments;
  const statuses = new Map<string, number>();
  for (const e of run.executions) statuses.set(e.status, (statuses.get(e.status) ?? 0) + 1);
  const m = run.messages;
  return [
    ["Final status of the loan", run.finalStatus, null],
    [
      "Executions (by status)",
      `${run.executions.length} (${[...statuses].map(([s, n]) => `${n} ${s}`).join(", ")})`,
      per(run.executions.length),
    ],
    ["Executions handed over to the next (`continue`)", t.handedOver, null],
    ["State transitions (states entered + retries)", t.transitions, per(t.transitions)],
    ["Dunning steps (Send and HandOff tasks)", t.steps, per(t.steps)],
    ["Lambda invocations (workflow tasks)", t.taskCalls, per(t.taskCalls)],
    ["History events, all executions (estimated)", t.historyEvents, per(t.historyEvents)],
    ["History events, longest execution", t.longestHistory, null],
    ["Longest open execution (days)", t.longestOpenDays, null],
    ["Messages: email / SMS", `${m.email} / ${m.sms}`, per(m.email + m.sms)],
    ["Messages in soft collection", m.softCollection, null],
  ];
}
