import { useState } from "preact/hooks";
import { useLocation } from "preact-iso";
import { api, apiBase, type Me } from "../api.ts";
import { Pending, useLoad } from "../load.tsx";

interface LoanRow {
  loanId: string;
  status: string;
  stage: string;
  balance: { amount: string; currency: string };
  dueDate: string;
  daysPastDue: number;
  attention: unknown;
}

const STATUSES = ["", "active", "on_hold", "paid", "settled", "legal", "closed"];
const STAGES = ["", "pre_due", "soft_collection", "legal", "done"];

/** Loans by id, and (for the roles that may list them) the tenant's loans filtered by status and stage. */
export function LoansView({ me }: { me: Me }) {
  const { route } = useLocation();
  const [loanId, setLoanId] = useState("");
  const open = (event: Event) => {
    event.preventDefault();
    if (loanId.trim()) route(`${apiBase()}/console/loans/${encodeURIComponent(loanId.trim())}`);
  };
  return (
    <section aria-labelledby="loans-title">
      <h1 id="loans-title">Loans</h1>
      <form class="inline" onSubmit={open} aria-label="Open a loan by its id">
        <label for="loan-id">Loan id</label>
        <input id="loan-id" value={loanId} onInput={(e) => setLoanId((e.target as HTMLInputElement).value)} />
        <button type="submit">Open timeline</button>
      </form>
      {me.role === "compliance" ? null : <LoanList />}
    </section>
  );
}

function LoanList() {
  const [status, setStatus] = useState("");
  const [stage, setStage] = useState("");
  const query = new URLSearchParams({ limit: "50", ...(status && { status }), ...(stage && { stage }) });
  const [loaded] = useLoad(() => api<{ items: LoanRow[] }>("GET", `/v1/loans?${query}`), [status, stage]);
  return (
    <>
      <div class="inline">
        <label for="status">Status</label>
        <select id="status" value={status} onChange={(e) => setStatus((e.target as HTMLSelectElement).value)}>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s || "any"}
            </option>
          ))}
        </select>
        <label for="stage">Stage</label>
        <select id="stage" value={stage} onChange={(e) => setStage((e.target as HTMLSelectElement).value)}>
          {STAGES.map((s) => (
            <option key={s} value={s}>
              {s || "any"}
            </option>
          ))}
        </select>
      </div>
      <Pending loaded={loaded} />
      {loaded.state === "ready" && (
        <table>
          <caption>Loans, newest subscriptions last (first 50)</caption>
          <thead>
            <tr>
              <th scope="col">Loan</th>
              <th scope="col">Status</th>
              <th scope="col">Stage</th>
              <th scope="col">Due</th>
              <th scope="col">Days past due</th>
              <th scope="col">Balance</th>
            </tr>
          </thead>
          <tbody>
            {loaded.data.items.map((loan) => (
              <tr key={loan.loanId}>
                <td>
                  <a href={`${apiBase()}/console/loans/${encodeURIComponent(loan.loanId)}`}>{loan.loanId}</a>
                  {loan.attention ? <span class="badge">needs attention</span> : null}
                </td>
                <td>{loan.status}</td>
                <td>{loan.stage}</td>
                <td>{loan.dueDate}</td>
                <td>{loan.daysPastDue}</td>
                <td>
                  {loan.balance.amount} {loan.balance.currency}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
