import { useMemo, useState } from "preact/hooks";
import { type AuditEntry, verifyChain } from "../../../../functions/domain/audit-chain.ts";
import { copyIsIntact } from "../../../../functions/domain/message-copies.ts";
import { api } from "../api.ts";
import { messageOf, Pending, useLoad } from "../load.tsx";

interface Timeline {
  tenantId: string;
  loan: {
    loanId: string;
    status: string;
    stage: string;
    dueDate: string;
    balance: { amount: string; currency: string };
    timeZone: string;
    policy: { id: string; version: number };
    attention: { reason: string; state: string; error: string } | null;
  };
  chain: { valid: boolean; reason?: string; seq?: number };
  entries: (AuditEntry & { atLocal: string })[];
  /** Each sent message's kept text by the hash its entry names, with the server's check of that hash. */
  texts: Record<string, { subject?: string; body: string; intact: boolean }>;
}

/** One loan's whole trail in order, with its hash chain verified again here, in the browser. */
export function TimelineView({ loanId, canRestart }: { loanId: string; canRestart: boolean }) {
  const [loaded, reload] = useLoad(
    () => api<Timeline>("GET", `/v1/loans/${encodeURIComponent(loanId)}/timeline`),
    [loanId],
  );
  return (
    <section aria-labelledby="timeline-title">
      <h1 id="timeline-title">Loan {loanId}</h1>
      <Pending loaded={loaded} />
      {loaded.state === "ready" && canRestart && loaded.data.loan.attention !== null && (
        <Restart loanId={loanId} onRestarted={reload} />
      )}
      {loaded.state === "ready" && <TimelineBody timeline={loaded.data} />}
    </section>
  );
}

function TimelineBody({ timeline }: { timeline: Timeline }) {
  const { loan, entries } = timeline;
  return (
    <>
      <dl class="facts">
        <dt>Status</dt>
        <dd>{loan.status}</dd>
        <dt>Stage</dt>
        <dd>{loan.stage}</dd>
        <dt>Due</dt>
        <dd>{loan.dueDate}</dd>
        <dt>Balance</dt>
        <dd>
          {loan.balance.amount} {loan.balance.currency}
        </dd>
        <dt>Policy</dt>
        <dd>
          {loan.policy.id} v{loan.policy.version}
        </dd>
        <dt>Borrower's zone</dt>
        <dd>{loan.timeZone}</dd>
      </dl>
      <ChainCheck timeline={timeline} />
      <table class="timeline">
        <caption>Every audit entry, oldest first; times in the borrower's zone</caption>
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">When (borrower)</th>
            <th scope="col">What</th>
            <th scope="col">By</th>
            <th scope="col">Details</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((entry) => (
            <tr key={entry.seq} class={`entry ${entry.type}`}>
              <td>{entry.seq}</td>
              <td>
                <time dateTime={entry.at}>{entry.atLocal.slice(0, 16).replace("T", " ")}</time>
              </td>
              <td>{entry.type.replaceAll("_", " ")}</td>
              <td>{entry.actor}</td>
              <td>
                {detailsOf(entry)}
                <MessageText entry={entry} texts={timeline.texts} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

/**
 * What a sent message said, as kept beside the trail: hashed again here and compared with the entry's hash, so a
 * text altered since it was sent shows as such.
 */
function MessageText({ entry, texts }: { entry: AuditEntry; texts: Timeline["texts"] }) {
  const hash = text(entry.data.contentSha256);
  const kept = entry.type === "message_sent" ? texts[hash] : undefined;
  if (!kept) return null;
  const matches = kept.intact && copyIsIntact({ contentSha256: hash, ...kept });
  return (
    <details class="message-text">
      <summary>Text {matches ? "(matches the trail's hash)" : "(does NOT match the trail's hash)"}</summary>
      {kept.subject !== undefined && <p class="subject">{kept.subject}</p>}
      <pre>{kept.body}</pre>
    </details>
  );
}

/** The server's verdict and the browser's own: both must say the chain holds. */
function ChainCheck({ timeline }: { timeline: Timeline }) {
  // The server's own verifyChain, run again here: its SHA-256 comes from the console's crypto shim.
  const verdict = useMemo(() => {
    const entries = timeline.entries.map(({ atLocal: _local, ...entry }) => entry);
    return verifyChain({ tenantId: timeline.tenantId, loanId: timeline.loan.loanId }, entries);
  }, [timeline]);
  const holds = verdict.valid && timeline.chain.valid;
  return (
    <p role="status" class={holds ? "ok" : "error"}>
      {holds
        ? `Chain verified: ${timeline.entries.length} entries, every hash recomputed in this browser.`
        : `Chain broken at entry ${verdict.valid ? (timeline.chain.seq ?? "?") : verdict.seq}: ${verdict.valid ? (timeline.chain.reason ?? "") : verdict.reason}.`}
    </p>
  );
}

const text = (value: unknown) =>
  typeof value === "string" || typeof value === "number" ? String(value) : "";

/** What a reader needs from an entry, by type; anything else shows its data as it is. */
function detailsOf(entry: AuditEntry): string {
  const d = entry.data;
  switch (entry.type) {
    case "message_sent": {
      const template = d.template as { id?: string; version?: number; locale?: string } | undefined;
      const what = template
        ? `template ${template.id} v${template.version} (${template.locale})`
        : text(d.action);
      return `${text(d.channel)} to ${text(d.to)} · ${text(d.step)} · ${what} · sha256 ${text(d.contentSha256).slice(0, 12)}…`;
    }
    case "message_delivery":
      return `${text(d.channel)} ${text(d.status)} (${text(d.providerMessageId)})`;
    case "step_deferred":
      return `${text(d.step)} deferred by ${text(d.rule)} until ${text(d.until)}`;
    case "step_skipped":
      return `${text(d.step)}: ${text(d.reason)}`;
    default:
      return JSON.stringify(d);
  }
}

/** Ops restart a workflow that failed: from the case as stored, on the record (POST …/workflow:restart). */
function Restart({ loanId, onRestarted }: { loanId: string; onRestarted: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const restart = async () => {
    try {
      await api("POST", `/v1/loans/${encodeURIComponent(loanId)}/workflow:restart`, {});
      onRestarted();
    } catch (failure) {
      setError(messageOf(failure));
    }
  };
  return (
    <div class="panel" role="alert">
      <p>This loan's workflow stopped and needs someone to look at it.</p>
      <button type="button" onClick={restart}>
        Restart its workflow
      </button>
      {error && <p class="error">{error}</p>}
    </div>
  );
}
