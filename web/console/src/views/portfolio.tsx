import { useMemo, useState } from "preact/hooks";
import { api } from "../api.ts";
import { Pending, useLoad } from "../load.tsx";
import { DailyChart } from "./chart.tsx";

interface Figures {
  messagesSent: Record<string, number>;
  stepsDeferred: Record<string, number>;
  handOffs: number;
  paymentsAfterContact: number;
}

interface Portfolio {
  asOf: string;
  range: { from: string; to: string; days: number };
  cases: {
    total: number;
    byStatus: Record<string, number>;
    byStage: Record<string, number>;
    needingAttention: number;
  };
  aging: { buckets: { bucket: string; count: number; balances: { amount: string; currency: string }[] }[] };
  daily: (Figures & { date: string })[];
  totals: Figures;
}

const CHANNEL_COLOURS: Record<string, string> = { sms: "#1f5fbf", email: "#b4580b" };

/** The book at a glance: cases by status and stage, aging, and what the workflow did day by day. */
export function PortfolioView() {
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const query = new URLSearchParams({ ...(from && { from }), ...(to && { to }) });
  const [loaded] = useLoad(() => api<Portfolio>("GET", `/v1/reports/portfolio?${query}`), [from, to]);
  return (
    <section aria-labelledby="portfolio-title">
      <h1 id="portfolio-title">Portfolio</h1>
      <div class="inline">
        <label for="range-from">From (UTC day)</label>
        <input
          id="range-from"
          type="date"
          value={from}
          onChange={(e) => setFrom((e.target as HTMLInputElement).value)}
        />
        <label for="range-to">To</label>
        <input
          id="range-to"
          type="date"
          value={to}
          onChange={(e) => setTo((e.target as HTMLInputElement).value)}
        />
      </div>
      <Pending loaded={loaded} />
      {loaded.state === "ready" && <PortfolioBody report={loaded.data} />}
    </section>
  );
}

function PortfolioBody({ report }: { report: Portfolio }) {
  const { cases, aging, daily, totals, range } = report;
  const channels = Object.keys(totals.messagesSent).sort();
  const days = useMemo(() => daily.map((d) => d.date), [daily]);
  const series = useMemo(
    () =>
      channels.map((channel) => ({
        label: channel.toUpperCase(),
        values: daily.map((d) => d.messagesSent[channel] ?? 0),
        stroke: CHANNEL_COLOURS[channel] ?? "#4c5566",
      })),
    [daily, channels.join()],
  );
  return (
    <>
      <p>
        {cases.total} loans · {cases.needingAttention} need attention · {range.from} to {range.to}
      </p>
      <div class="grid">
        <Counts caption="Loans by status" counts={cases.byStatus} />
        <Counts caption="Loans by stage" counts={cases.byStage} />
        <table>
          <caption>Aging</caption>
          <thead>
            <tr>
              <th scope="col">Bucket</th>
              <th scope="col">Loans</th>
              <th scope="col">Balance</th>
            </tr>
          </thead>
          <tbody>
            {aging.buckets.map((b) => (
              <tr key={b.bucket}>
                <th scope="row">{b.bucket}</th>
                <td>{b.count}</td>
                <td>{b.balances.map((m) => `${m.amount} ${m.currency}`).join(", ") || "–"}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <table>
          <caption>In the range</caption>
          <tbody>
            <tr>
              <th scope="row">Hand-offs</th>
              <td>{totals.handOffs}</td>
            </tr>
            <tr>
              <th scope="row">Payments after contact</th>
              <td>{totals.paymentsAfterContact}</td>
            </tr>
            {Object.entries(totals.stepsDeferred).map(([rule, n]) => (
              <tr key={rule}>
                <th scope="row">Deferred by {rule}</th>
                <td>{n}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h2>Messages per day</h2>
      <DailyChart
        label={`Messages sent per day by channel, ${range.from} to ${range.to}`}
        days={days}
        series={series}
      />
      <details>
        <summary>The figures behind the chart</summary>
        <table>
          <caption>Messages sent per day by channel</caption>
          <thead>
            <tr>
              <th scope="col">Day</th>
              {channels.map((c) => (
                <th scope="col" key={c}>
                  {c}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {daily.map((d) => (
              <tr key={d.date}>
                <th scope="row">{d.date}</th>
                {channels.map((c) => (
                  <td key={c}>{d.messagesSent[c] ?? 0}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </>
  );
}

function Counts({ caption, counts }: { caption: string; counts: Record<string, number> }) {
  return (
    <table>
      <caption>{caption}</caption>
      <tbody>
        {Object.entries(counts).map(([name, n]) => (
          <tr key={name}>
            <th scope="row">{name}</th>
            <td>{n}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
