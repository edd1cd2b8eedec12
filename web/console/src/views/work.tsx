import { useState } from "preact/hooks";
import { api } from "../api.ts";
import { messageOf, Pending, useLoad } from "../load.tsx";

interface WorkItem {
  id: string;
  loanId: string;
  step: string;
  task: "call" | "visit";
  dueAt: string;
  lease?: { agent: string; until: string } | null;
  loan: {
    balance: { amount: string; currency: string };
    daysPastDue: number;
    brokenPromises: number;
    borrower: { name: string; phone: string | null; locale: string; timeZone: string };
  };
}

const CALL_OUTCOMES = [
  "no_answer",
  "busy",
  "wrong_number",
  "right_party_contact",
  "promise",
  "refused",
  "dispute",
  "callback",
];
const VISIT_OUTCOMES = ["visited", "not_home", "promise", "refused", "dispute"];

/** The collection team's work list: the most urgent call or visit first; claim one, then record what happened. */
export function WorkView() {
  const [loaded, reload] = useLoad(() => api<{ items: WorkItem[] }>("GET", "/v1/work"), []);
  const [claimed, setClaimed] = useState<WorkItem | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const claim = async (item: WorkItem) => {
    setNote(null);
    try {
      setClaimed(await api<WorkItem>("POST", `/v1/work/${item.id}:claim`, {}));
    } catch (error) {
      setNote(`Not claimed: ${messageOf(error)}`);
    }
  };
  const done = (message: string) => {
    setClaimed(null);
    setNote(message);
    reload();
  };
  return (
    <section aria-labelledby="work-title">
      <h1 id="work-title">Work list</h1>
      {note && <p role="status">{note}</p>}
      {claimed && <OutcomeForm item={claimed} onDone={done} />}
      <Pending loaded={loaded} />
      {loaded.state === "ready" && (
        <table>
          <caption>Calls and visits due, most urgent first</caption>
          <thead>
            <tr>
              <th scope="col">Loan</th>
              <th scope="col">Task</th>
              <th scope="col">Due</th>
              <th scope="col">Days past due</th>
              <th scope="col">Balance</th>
              <th scope="col">Broken promises</th>
              <th scope="col">
                <span class="visually-hidden">Claim</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {loaded.data.items.map((item) => (
              <tr key={item.id}>
                <td>{item.loanId}</td>
                <td>
                  {item.task} ({item.step})
                </td>
                <td>{item.dueAt}</td>
                <td>{item.loan.daysPastDue}</td>
                <td>
                  {item.loan.balance.amount} {item.loan.balance.currency}
                </td>
                <td>{item.loan.brokenPromises}</td>
                <td>
                  <button
                    type="button"
                    onClick={() => claim(item)}
                    aria-label={`Claim the ${item.task} of ${item.loanId}`}
                  >
                    Claim
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** What happened: the outcome, with the fields it needs (a promise's amount and date, a callback's time, staff). */
function OutcomeForm({ item, onDone }: { item: WorkItem; onDone: (message: string) => void }) {
  const outcomes = item.task === "call" ? CALL_OUTCOMES : VISIT_OUTCOMES;
  const [type, setType] = useState(outcomes[0] ?? "no_answer");
  const [fields, setFields] = useState({ amount: "", date: "", at: "", staff: "", note: "" });
  const [error, setError] = useState<string | null>(null);
  const set = (name: keyof typeof fields) => (event: Event) =>
    setFields({ ...fields, [name]: (event.target as HTMLInputElement).value });
  const submit = async (event: Event) => {
    event.preventDefault();
    const body = {
      type,
      ...(type === "promise"
        ? { amount: { amount: fields.amount, currency: item.loan.balance.currency }, date: fields.date }
        : {}),
      ...(type === "callback" ? { at: new Date(fields.at).toISOString() } : {}),
      ...(type === "visited" || type === "not_home"
        ? {
            staff: fields.staff
              .split(",")
              .map((name) => name.trim())
              .filter(Boolean),
          }
        : {}),
      ...(fields.note ? { note: fields.note } : {}),
    };
    try {
      await api("POST", `/v1/work/${item.id}/outcome`, body);
      onDone(`Recorded ${type.replaceAll("_", " ")} for ${item.loanId}.`);
    } catch (failure) {
      setError(messageOf(failure));
    }
  };
  const { borrower } = item.loan;
  return (
    <form class="panel" onSubmit={submit} aria-labelledby="outcome-title">
      <h2 id="outcome-title">
        {item.task === "call" ? "Call" : "Visit"} {borrower.name} about {item.loanId}
      </h2>
      <p>
        {borrower.phone ?? "no phone"} · {borrower.timeZone} · owes {item.loan.balance.amount}{" "}
        {item.loan.balance.currency} · yours until {item.lease?.until}
      </p>
      <label for="outcome-type">Outcome</label>
      <select id="outcome-type" value={type} onChange={(e) => setType((e.target as HTMLSelectElement).value)}>
        {outcomes.map((o) => (
          <option key={o} value={o}>
            {o.replaceAll("_", " ")}
          </option>
        ))}
      </select>
      {type === "promise" && (
        <>
          <label for="outcome-amount">Amount promised</label>
          <input id="outcome-amount" required value={fields.amount} onInput={set("amount")} />
          <label for="outcome-date">Promised date</label>
          <input id="outcome-date" type="date" required value={fields.date} onInput={set("date")} />
        </>
      )}
      {type === "callback" && (
        <>
          <label for="outcome-at">Call back at (your local time)</label>
          <input id="outcome-at" type="datetime-local" required value={fields.at} onInput={set("at")} />
        </>
      )}
      {(type === "visited" || type === "not_home") && (
        <>
          <label for="outcome-staff">Staff on the visit (names, comma separated)</label>
          <input id="outcome-staff" required value={fields.staff} onInput={set("staff")} />
        </>
      )}
      <label for="outcome-note">Note</label>
      <input id="outcome-note" maxLength={500} value={fields.note} onInput={set("note")} />
      <button type="submit">Record the outcome</button>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
