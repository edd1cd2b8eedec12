import { escapeXml, niceScale } from "../report.ts";
import type { CapacityReport, QuotaCheck } from "./report.ts";

const PANEL = { width: 420, height: 190, left: 64, right: 24, top: 30, bottom: 28 };
const COLUMNS = 3;
const LINE = "#1f77b4";
const OVER = "#d62728";

/** One figure of the busiest day, minute by minute, with its default quota as a dashed line. */
function panel(check: QuotaCheck, minutes: readonly number[], x0: number, y0: number): string[] {
  const plotW = PANEL.width - PANEL.left - PANEL.right;
  const plotH = PANEL.height - PANEL.top - PANEL.bottom;
  const max = Math.max(check.quota, ...minutes);
  const { top, step } = niceScale(max * 1.05, 4);
  const x = (m: number) => x0 + PANEL.left + (m / Math.max(1, minutes.length - 1)) * plotW;
  const y = (v: number) => y0 + PANEL.top + plotH - (v / top) * plotH;
  const compact = (v: number) => v.toLocaleString("en-US", { notation: "compact", maximumFractionDigits: 1 });
  const over = Math.max(...minutes) > check.quota;
  const out = [`<text x="${x0 + PANEL.left}" y="${y0 + 18}" font-size="13">${escapeXml(check.label)}</text>`];
  for (let v = 0; v <= top + step / 2; v += step) {
    out.push(
      `<line x1="${x0 + PANEL.left}" x2="${x0 + PANEL.left + plotW}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#eee"/>`,
      `<text x="${x0 + PANEL.left - 5}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${compact(v)}</text>`,
    );
  }
  for (let h = 0; h <= 24; h += 6) {
    const hx = x((h * 60 * (minutes.length - 1)) / 1440).toFixed(1);
    out.push(
      `<text x="${hx}" y="${y0 + PANEL.height - 10}" text-anchor="middle">${String(h).padStart(2, "0")}:00</text>`,
    );
  }
  const points = minutes.map((v, m) => `${x(m).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
  out.push(
    `<polyline fill="none" stroke="${over ? OVER : LINE}" stroke-width="1.2" points="${points}"/>`,
    `<line x1="${x0 + PANEL.left}" x2="${x0 + PANEL.left + plotW}" y1="${y(check.quota).toFixed(1)}" y2="${y(check.quota).toFixed(1)}" stroke="black" stroke-dasharray="5 4"/>`,
    `<text x="${x0 + PANEL.left + plotW}" y="${(y(check.quota) - 4).toFixed(1)}" text-anchor="end">default ${compact(check.quota)}</text>`,
    `<rect x="${x0 + PANEL.left}" y="${y0 + PANEL.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`,
  );
  return out;
}

/**
 * The busiest day as small multiples, one panel per quota: the load minute by minute (UTC) in blue, red where the
 * day goes above the default quota, which is the dashed line.
 */
export function busiestDaySvg(report: CapacityReport): string {
  const checks = report.checks;
  const rows = Math.ceil(checks.length / COLUMNS);
  const width = COLUMNS * PANEL.width;
  const height = 50 + rows * PANEL.height;
  const title =
    `Busiest day ${report.busiestDay.date} (UTC), ${report.run.loans.toLocaleString("en-US")} loans a month, ` +
    `${report.run.region}: each minute against the default quota (dashed)`;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="26" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`,
  ];
  checks.forEach((check, i) => {
    const x0 = (i % COLUMNS) * PANEL.width;
    const y0 = 40 + Math.floor(i / COLUMNS) * PANEL.height;
    out.push(...panel(check, report.busiestDay.minutes[check.id], x0, y0));
  });
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
