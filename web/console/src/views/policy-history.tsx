import { useEffect, useState } from "preact/hooks";
import { api } from "../api.ts";
import { Pending, useLoad } from "../load.tsx";

interface Version {
  version: number;
  changedAt: string;
  changedBy: string;
  comment: string | null;
  applyTo: string;
  changes: { path: string }[];
}

interface Application {
  status: "running" | "done" | "failed";
  total: number;
  moved: number;
  failed: number;
}

/** Who changed the policy, when, how it was applied and what it changed. */
export function PolicyHistory({ policyId, version }: { policyId: string; version: number }) {
  const [loaded] = useLoad(
    () => api<{ items: Version[] }>("GET", `/v1/policies/${encodeURIComponent(policyId)}/versions`),
    [policyId, version],
  );
  return (
    <details class="panel">
      <summary>History of {policyId}</summary>
      <Pending loaded={loaded} />
      {loaded.state === "ready" && (
        <table>
          <caption>Every version, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">When</th>
              <th scope="col">By</th>
              <th scope="col">Applied to</th>
              <th scope="col">What changed</th>
            </tr>
          </thead>
          <tbody>
            {loaded.data.items.map((v) => (
              <tr key={v.version}>
                <td>{v.version}</td>
                <td>{v.changedAt}</td>
                <td>{v.changedBy}</td>
                <td>{v.applyTo.replace("_", " ")}</td>
                <td>{v.changes.map((c) => c.path).join(", ") || v.comment || "–"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </details>
  );
}

/** A version applied to the running loans: how far its job is, until it is done. */
export function ApplicationProgress({ policyId, jobId }: { policyId: string; jobId: string }) {
  const [job, setJob] = useState<Application | null>(null);
  useEffect(() => {
    if (job && job.status !== "running") return;
    const path = `/v1/policies/${encodeURIComponent(policyId)}/applications/${encodeURIComponent(jobId)}`;
    const timer = setTimeout(() => api<Application>("GET", path).then(setJob, () => {}), job ? 1000 : 0);
    return () => clearTimeout(timer);
  }, [job, policyId, jobId]);
  if (!job) return null;
  return (
    <p role="status">
      Running loans: {job.status} — {job.moved} moved, {job.failed} failed of {job.total}.
    </p>
  );
}
