import { useEffect, useMemo, useState } from "preact/hooks";
import { api } from "../api.ts";
import { messageOf } from "../load.tsx";
import { DailyChart } from "./chart.tsx";
import { type Policy, putBody } from "./policy-draft.ts";

interface PolicyReport {
  label: string;
  days: ({ date: string } & Record<string, number | string>)[];
  messages: Record<string, number>;
  funnel: Record<string, number>;
  handOffs: number;
  deferrals: Record<string, number>;
}

interface Simulation {
  id: string;
  status: "running" | "succeeded" | "failed";
  progress: { done: number; total: number };
  report?: { policies: PolicyReport[] };
  failure?: string;
}

const ROWS: [string, (p: PolicyReport) => number][] = [
  ["Messages", (p) => p.messages.total ?? 0],
  ["SMS before the due date", (p) => p.messages.smsPreDue ?? 0],
  ["SMS in soft collection", (p) => p.messages.smsSoftCollection ?? 0],
  ["Emails before the due date", (p) => p.messages.emailPreDue ?? 0],
  ["Emails in soft collection", (p) => p.messages.emailSoftCollection ?? 0],
  ["Paid before the due date", (p) => p.funnel.paidBeforeDue ?? 0],
  ["Paid in soft collection", (p) => p.funnel.paidInSoftCollection ?? 0],
  ["Handed to legal", (p) => p.handOffs],
  ["Deferred by the rules", (p) => Object.values(p.deferrals).reduce((a, b) => a + b, 0)],
];

/**
 * The draft and the stored version run side by side through the simulator (POST /v1/simulations) over a
 * synthetic book or the tenant's own open cases; the page follows the job until its report is there.
 */
export function WhatIf({ draft, current, changed }: { draft: Policy; current: Policy; changed: boolean }) {
  const [source, setSource] = useState<"synthetic" | "openCases">("synthetic");
  const [loans, setLoans] = useState(2000);
  const [job, setJob] = useState<Simulation | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => setJob(null), [draft]);
  useEffect(() => {
    if (job?.status !== "running") return;
    const timer = setTimeout(async () => {
      try {
        setJob(await api<Simulation>("GET", `/v1/simulations/${job.id}`));
      } catch (failure) {
        setError(messageOf(failure));
      }
    }, 400);
    return () => clearTimeout(timer);
  }, [job]);
  const start = async () => {
    setError(null);
    const { applyTo: _applyTo, ...rules } = putBody(draft, "new_loans");
    try {
      setJob(
        await api<Simulation>("POST", "/v1/simulations", {
          policy: { ...rules, id: current.id },
          compareWith: { policyId: current.id, version: current.version },
          portfolio: source === "synthetic" ? { synthetic: { loans } } : { openCases: true },
        }),
      );
    } catch (failure) {
      setError(messageOf(failure));
    }
  };
  return (
    <section aria-labelledby="what-if-title" class="panel">
      <h2 id="what-if-title">What if: this draft against version {current.version}</h2>
      <fieldset class="inline">
        <legend>Over</legend>
        <label class="check">
          <input
            type="radio"
            name="source"
            checked={source === "synthetic"}
            onChange={() => setSource("synthetic")}
          />
          a synthetic book of
        </label>
        <label for="what-if-loans" class="visually-hidden">
          Loans in the synthetic book
        </label>
        <input
          id="what-if-loans"
          type="number"
          min={1}
          max={1000000}
          value={loans}
          onInput={(e) => setLoans(Number((e.target as HTMLInputElement).value))}
        />
        loans
        <label class="check">
          <input
            type="radio"
            name="source"
            checked={source === "openCases"}
            onChange={() => setSource("openCases")}
          />
          the tenant's open cases
        </label>
      </fieldset>
      <button type="button" onClick={start} disabled={job?.status === "running"}>
        {changed ? "Preview the effect" : "Preview (no change yet)"}
      </button>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {job?.status === "running" && (
        <p role="status">
          Simulating… {job.progress.done} of {job.progress.total}
        </p>
      )}
      {job?.status === "failed" && (
        <p role="alert" class="error">
          The simulation failed: {job.failure}
        </p>
      )}
      {job?.status === "succeeded" && job.report && (
        <Comparison reports={job.report.policies} version={current.version} />
      )}
    </section>
  );
}

function Comparison({ reports, version }: { reports: PolicyReport[]; version: number }) {
  const [mine, theirs] = reports;
  const days = useMemo(() => (mine?.days ?? []).map((d) => d.date), [mine]);
  const series = useMemo(
    () =>
      [
        { report: mine, label: "Draft", stroke: "#1f5fbf" },
        { report: theirs, label: `Version ${version}`, stroke: "#8a93a3" },
      ].map(({ report, label, stroke }) => ({
        label,
        stroke,
        values: (report?.days ?? []).map((d) => (Number(d.sms) || 0) + (Number(d.email) || 0)),
      })),
    [mine, theirs],
  );
  if (!mine || !theirs) return null;
  return (
    <div role="status">
      <table>
        <caption>What each would do (simulated)</caption>
        <thead>
          <tr>
            <th scope="col">Figure</th>
            <th scope="col">This draft</th>
            <th scope="col">Version {version}</th>
          </tr>
        </thead>
        <tbody>
          {ROWS.map(([name, of]) => (
            <tr key={name}>
              <th scope="row">{name}</th>
              <td>{of(mine)}</td>
              <td>{of(theirs)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <DailyChart
        label="Messages per day: the draft against the current version"
        days={days}
        series={series}
      />
    </div>
  );
}
