import { useEffect, useState } from "preact/hooks";
import {
  type ExportVerdict,
  verifyExport,
} from "../../../../functions/formats/export-verify/verify-export.ts";
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
          <Verification exported={result} />
          <details>
            <summary>Manifest</summary>
            <pre>{JSON.stringify(result.manifest, null, 2)}</pre>
          </details>
        </div>
      )}
    </section>
  );
}

/**
 * Downloads the export and its manifest and checks them here with the verifier `npm run audit -- verify` runs:
 * every entry's hash, each loan's chain, the file's digest and the manifest's own hash.
 */
function Verification({ exported }: { exported: Exported }) {
  const [verdict, setVerdict] = useState<ExportVerdict | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const fetchText = async (url: string) => {
      const response = await fetch(url);
      if (!response.ok) throw new Error(`the download answered ${response.status}`);
      return response.text();
    };
    Promise.all([fetchText(exported.url), fetchText(exported.manifestUrl)])
      .then(([file, manifest]) =>
        verifyExport(file.split("\n").slice(0, file.endsWith("\n") ? -1 : undefined), manifest),
      )
      .then(setVerdict)
      .catch((failure: unknown) =>
        setError(failure instanceof Error ? failure.message : "the export could not be read"),
      );
  }, [exported]);
  if (error) return <p class="error">Not verified: {error}</p>;
  if (!verdict) return <p>Verifying the export…</p>;
  if (verdict.valid) {
    return (
      <p class="ok">
        Verified: {verdict.entries} entries of {verdict.cases} loans; every hash, each chain, the file's
        digest and the manifest agree.
      </p>
    );
  }
  return (
    <div class="error">
      <p>Verification failed:</p>
      <ul>
        {verdict.problems.slice(0, 20).map((p) => (
          <li key={`${p.line}-${p.code}`}>
            line {p.line}: {p.code} — {p.message}
          </li>
        ))}
      </ul>
    </div>
  );
}
