import { measurePolicyApply } from "./policy-apply.ts";
import type { Section } from "./report.ts";
import { check, dynamoEndpoint, type SectionContext } from "./section-kit.ts";

/**
 * Section 11: a policy change applied in flight to a book of open cases, in the background: every request answers
 * within a second while the job runs, the job ends, and every case is on the new version exactly once.
 */
export async function applySection(ctx: SectionContext): Promise<Section> {
  const run = await measurePolicyApply(await dynamoEndpoint(ctx), ctx.applyCases);
  const checks = [
    check({
      figure: "Slowest answer (the PUT and every progress read)",
      value: Math.round(run.slowestAnswerMs),
      unit: "ms",
      target: "≤ 1,000",
      met: run.slowestAnswerMs <= 1000,
      why: "the PUT stores the version and its job and queues the first page; a progress read is one GetItem — neither waits for the cases",
    }),
    check({
      figure: "Cases on the new version, each with one `policy_applied`",
      value: run.appliedOnce,
      unit: "cases",
      target: `${run.cases} (none twice)`,
      met: run.onNewVersion === run.cases && run.appliedOnce === run.cases && run.appliedTwice === 0,
      why: "a page read twice or a case moved twice would show here",
    }),
  ];
  return {
    id: "apply",
    title: `11. A policy applied in flight to ${run.cases.toLocaleString("en-US")} open cases`,
    status: "measured",
    columns: ["Figure", "Value", "Unit"],
    rows: [
      ["Open cases (parked beyond the horizon)", `${run.cases} (${run.parked})`, "cases"],
      [
        "Job: status, total / moved / failed",
        `${run.job.status}, ${run.job.total} / ${run.job.moved} / ${run.job.failed}`,
        "",
      ],
      ["Requests answered while the job ran (PUT + progress reads)", run.answers, "requests"],
      ["Slowest of them", Math.round(run.slowestAnswerMs), "ms"],
      ["Virtual time the clock was moved while the job ran", run.virtualSeconds, "s"],
      ["Job length here (wall clock, with the clock advances)", Math.round(run.runSeconds), "s"],
      [
        "Cases on the new version / with exactly one `policy_applied` / more",
        `${run.onNewVersion} / ${run.appliedOnce} / ${run.appliedTwice}`,
        "cases",
      ],
    ],
    checks,
    notes: [
      `${run.cases.toLocaleString("en-US")} cases subscribed on 2026-01-05 on the default policy, due dates spread over the next year (most parked beyond the 30-day horizon), stored straight through the case repository (${run.seedSeconds.toFixed(0)} s); then \`PUT /v1/policies/default\` moving the D+3 SMS to D+5 with \`applyTo: "in_flight"\` over HTTP on an in-process local stack, and \`GET …/applications/{jobId}\` after every minute of virtual time until the job ends.`,
      "The job runs at its default pace (POLICY_APPLY_RATE, 50 cases a second, pages of 100) on the stack's virtual clock, so a page's delay costs no real time; the wall-clock figure is how fast this machine moves the cases. A parked case is re-planned without StopExecution and stays parked; the others start their new generation.",
      "The full check is 100,000 cases: `npm run bench -- --only apply --apply-cases 100000`.",
    ],
    data: run,
    seconds: 0,
  };
}
