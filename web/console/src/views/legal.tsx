import { useState } from "preact/hooks";
import { api, download } from "../api.ts";
import { messageOf, Pending, useLoad } from "../load.tsx";

interface Handoff {
  loanId: string;
  status: "pending" | "acknowledged";
  reason: string;
  handedOffAt: string;
  balance: { amount: string; currency: string };
  daysPastDue: number;
  packageHash: string;
  acknowledgedAt: string | null;
}

interface Package {
  reason: string;
  contacts: { at: string; atLocal: string; channel: string; to: string; result: string; step: string }[];
  agreements: { seq: number; type: string; actor: string }[];
  chain: { verdict: { valid: boolean } };
}

/** The hand-off queue: each case handed to legal, its package, and the acknowledgement (audited). */
export function LegalView() {
  const [status, setStatus] = useState<"pending" | "acknowledged">("pending");
  const [loaded, reload] = useLoad(
    () => api<{ items: Handoff[] }>("GET", `/v1/handoffs?status=${status}`),
    [status],
  );
  const [open, setOpen] = useState<string | null>(null);
  return (
    <section aria-labelledby="legal-title">
      <h1 id="legal-title">Hand-offs</h1>
      <div class="inline">
        <label for="handoff-status">Show</label>
        <select
          id="handoff-status"
          value={status}
          onChange={(e) => setStatus((e.target as HTMLSelectElement).value as typeof status)}
        >
          <option value="pending">pending</option>
          <option value="acknowledged">acknowledged</option>
        </select>
      </div>
      <Pending loaded={loaded} />
      {loaded.state === "ready" && (
        <table>
          <caption>Cases handed to legal ({status})</caption>
          <thead>
            <tr>
              <th scope="col">Loan</th>
              <th scope="col">Reason</th>
              <th scope="col">Handed off</th>
              <th scope="col">Balance</th>
              <th scope="col">Days past due</th>
              <th scope="col">Package</th>
            </tr>
          </thead>
          <tbody>
            {loaded.data.items.map((h) => (
              <tr key={h.loanId}>
                <td>{h.loanId}</td>
                <td>{h.reason}</td>
                <td>{h.handedOffAt}</td>
                <td>
                  {h.balance.amount} {h.balance.currency}
                </td>
                <td>{h.daysPastDue}</td>
                <td>
                  <button
                    type="button"
                    onClick={() => setOpen(h.loanId)}
                    aria-label={`Open the package of ${h.loanId}`}
                  >
                    Open
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {open && <PackageView loanId={open} onAcknowledged={reload} />}
    </section>
  );
}

function PackageView({ loanId, onAcknowledged }: { loanId: string; onAcknowledged: () => void }) {
  const [loaded] = useLoad(() => api<Package>("GET", `/v1/handoffs/${encodeURIComponent(loanId)}`), [loanId]);
  const [note, setNote] = useState<string | null>(null);
  const acknowledge = async () => {
    try {
      await api("POST", `/v1/handoffs/${encodeURIComponent(loanId)}/ack`, {});
      setNote("Acknowledged; the case's trail records it.");
      onAcknowledged();
    } catch (error) {
      setNote(messageOf(error));
    }
  };
  return (
    <section aria-labelledby="package-title" class="panel">
      <h2 id="package-title">Package of {loanId}</h2>
      <Pending loaded={loaded} />
      {loaded.state === "ready" && (
        <>
          <p>
            Reason: {loaded.data.reason} · chain {loaded.data.chain.verdict.valid ? "valid" : "INVALID"} ·{" "}
            {loaded.data.contacts.length} contacts, {loaded.data.agreements.length} agreements
          </p>
          <table>
            <caption>Every contact</caption>
            <thead>
              <tr>
                <th scope="col">When (borrower)</th>
                <th scope="col">Channel</th>
                <th scope="col">To</th>
                <th scope="col">Step</th>
                <th scope="col">Result</th>
              </tr>
            </thead>
            <tbody>
              {loaded.data.contacts.map((c) => (
                <tr key={`${c.at}-${c.channel}-${c.step}`}>
                  <td>{c.atLocal}</td>
                  <td>{c.channel}</td>
                  <td>{c.to}</td>
                  <td>{c.step}</td>
                  <td>{c.result}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <div class="inline">
            <button
              type="button"
              onClick={() =>
                download(
                  `/v1/handoffs/${encodeURIComponent(loanId)}/package.html`,
                  `handoff-${loanId}.html`,
                ).catch((error: unknown) => setNote(messageOf(error)))
              }
            >
              Download the package (HTML)
            </button>
            <button type="button" onClick={acknowledge}>
              Acknowledge
            </button>
          </div>
          {note && <p role="status">{note}</p>}
        </>
      )}
    </section>
  );
}
