import { useState } from "preact/hooks";
import { api } from "../api.ts";
import { messageOf } from "../load.tsx";

interface Exported {
  url: string;
  manifestUrl: string;
  expiresAt: string;
  bytes: number;
  manifest: { entries?: number; loans?: number; [key: string]: unknown };
}

/** An audit export by date range and format, with its download links and the manifest that proves it whole. */
export function ComplianceView() {
  const today = new Date().toISOString().slice(0, 10);
  const [from, setFrom] = useState(today);
  const [to, setTo] = useState(today);
  const [format, setFormat] = useState("jsonl");
  const [loanId, setLoanId] = useState("");
  const [result, setResult] = useState<Exported | null>(null);
  const [error, setError] = useState<string | null>(null);
  const submit = async (event: Event) => {
    event.preventDefault();
    setError(null);
    setResult(null);
    const end = new Date(`${to}T00:00:00Z`);
    end.setUTCDate(end.getUTCDate() + 1);
    const query = new URLSearchParams({
      from: `${from}T00:00:00Z`,
      to: end.toISOString(),
      format,
      ...(loanId.trim() && { loanId: loanId.trim() }),
    });
    try {
      setResult(await api<Exported>("GET", `/v1/audit/export?${query}`));
    } catch (failure) {
      setError(messageOf(failure));
    }
  };
  return (
    <section aria-labelledby="export-title">
      <h1 id="export-title">Audit export</h1>
      <form class="stack" onSubmit={submit}>
        <label for="from">From (UTC day)</label>
        <input
          id="from"
          type="date"
          required
          value={from}
          onInput={(e) => setFrom((e.target as HTMLInputElement).value)}
        />
        <label for="to">To (UTC day, included)</label>
        <input
          id="to"
          type="date"
          required
          value={to}
          onInput={(e) => setTo((e.target as HTMLInputElement).value)}
        />
        <label for="format">Format</label>
        <select id="format" value={format} onChange={(e) => setFormat((e.target as HTMLSelectElement).value)}>
          <option value="jsonl">JSON lines</option>
          <option value="csv">CSV</option>
        </select>
        <label for="export-loan">Loan id (optional)</label>
        <input
          id="export-loan"
          value={loanId}
          onInput={(e) => setLoanId((e.target as HTMLInputElement).value)}
        />
        <button type="submit">Export</button>
      </form>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {result && (
        <div role="status" class="panel">
          <p>
            Export ready: {result.bytes} bytes, links valid until {result.expiresAt}.
          </p>
          <ul>
            <li>
              <a href={result.url} download>
                Download the export
              </a>
            </li>
            <li>
              <a href={result.manifestUrl} download>
                Download its manifest
              </a>
            </li>
          </ul>
          <details>
            <summary>Manifest</summary>
            <pre>{JSON.stringify(result.manifest, null, 2)}</pre>
          </details>
        </div>
      )}
    </section>
  );
}
