import { measureHorizon } from "./horizon.ts";
import type { Section } from "./report.ts";
import { check, type SectionContext } from "./section-kit.ts";

/** AWS's default quota of open Standard executions per account and Region. */
const OPEN_EXECUTIONS_QUOTA = 1_000_000;

/**
 * Section 10: open executions of a portfolio whose due dates spread over a year, with the workflow horizon (a case
 * holds an execution only while its next action is within 30 days) and without it.
 */
export async function horizonSection(ctx: SectionContext): Promise<Section> {
  const loans = ctx.quick ? 10_000 : 100_000;
  const run = measureHorizon(loans);
  const { withHorizon: h, withoutHorizon: none } = run;
  const share = (n: number) => `${((100 * n) / loans).toFixed(1)} % of the loans`;
  return {
    id: "horizon",
    title: `10. Open executions: ${loans.toLocaleString("en-US")} loans due over a year, with and without the horizon`,
    status: "measured",
    columns: ["Figure", "Horizon 30 days", "No horizon", "Unit"],
    rows: [
      ["Peak open executions", h.peakOpen, none.peakOpen, "executions"],
      ["Mean open executions over the run", Math.round(h.meanOpen), Math.round(none.meanOpen), "executions"],
      ["StartExecution calls", h.starts, none.starts, "calls"],
      [
        "Loans holding no execution when subscribed",
        h.parkedAtSubscription,
        none.parkedAtSubscription,
        "loans",
      ],
    ],
    checks: [
      check({
        figure: "Peak open executions with the horizon",
        value: h.peakOpen,
        unit: "executions",
        target: `< ${none.peakOpen.toLocaleString("en-US")} (the peak without it)`,
        met: h.peakOpen < none.peakOpen,
        why: "a loan whose next action is more than 30 days away should hold no execution; at AWS's default of 1,000,000 open executions per Region this is the difference between a book of about a million loans and one several times larger",
      }),
    ],
    notes: [
      `${loans.toLocaleString("en-US")} loans subscribed on 2026-01-05, due dates spread evenly over the following 365 days, borrowers in ${Math.round(run.plans / run.days)} time zones, on the default policy; none pays, so every loan runs its whole plan to the hand-off (the longest life, and the most executions).`,
      "Each loan's actions come from the product's own planning (the simulator's step transition, the same domain code the workflow runs); executions are then laid over them as the workflow runs them: without a horizon one execution from subscription to the last action (handing over after 350 days); with it, an execution from the waker run (every 5 minutes) that finds the next action within 30 days until an action whose follower is beyond the horizon, where the case parks.",
      `Open executions are sampled hourly from the subscription day to 120 days after the last due date. Peak with the horizon: ${share(h.peakOpen)}; without: ${share(none.peakOpen)}. AWS's default is ${OPEN_EXECUTIONS_QUOTA.toLocaleString("en-US")} open executions per account and Region.`,
      "The mechanism itself (parking, the waker, no StopExecution for a parked re-plan) is exercised on the embedded stack by test/workflows/horizon.test.ts; this section is a count over plans, not a run of 100,000 executions.",
      `${run.seconds.toFixed(1)} s of wall-clock time.`,
    ],
    data: run,
    seconds: 0,
  };
}
