import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";

export interface Series {
  label: string;
  values: number[];
  stroke: string;
}

/**
 * A per-day bar chart (uPlot on a canvas). The canvas says nothing to a screen reader, so the chart is an image
 * with a label and the same figures follow in a table.
 */
export function DailyChart({ label, days, series }: { label: string; days: string[]; series: Series[] }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!box.current) return;
    const xs = days.map((day) => Date.parse(`${day}T00:00:00Z`) / 1000);
    const bars = uPlot.paths.bars?.({ size: [0.7, 40] });
    const plot = new uPlot(
      {
        width: Math.min(box.current.clientWidth || 900, 1100),
        height: 240,
        scales: { x: { time: true } },
        series: [
          {},
          ...series.map((s) => ({ label: s.label, stroke: s.stroke, fill: `${s.stroke}55`, paths: bars })),
        ],
        axes: [{}, { label: "messages" }],
      },
      [xs, ...series.map((s) => s.values)],
      box.current,
    );
    return () => plot.destroy();
  }, [days, series]);
  return <div ref={box} role="img" aria-label={label} class="chart" />;
}
