import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  label: string;
  values: number[];
  color: string;
}

/**
 * A per-day bar chart (uPlot: canvas, about 20 kB gzipped, loaded only with the pages that chart).
 * The canvas is hidden from screen readers: every chart has the same numbers in a table nearby,
 * and a one-line summary here.
 */
export function DailyChart(props: {
  title: string;
  days: string[];
  series: Series[];
  format: (n: number) => string;
  height?: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  const { days, series } = props;
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const xs = days.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000);
    const style = getComputedStyle(el);
    const ink = style.getPropertyValue('--muted').trim() || '#666';
    const grid = style.getPropertyValue('--grid').trim() || '#eee';
    const n = Math.max(1, series.length);
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: props.height ?? 180,
      legend: { show: series.length > 1, live: false },
      cursor: { points: { show: false } },
      // Half a day of room either side, so the first and last days' bars are not cut off.
      scales: {
        x: { time: true, range: (_u, min, max) => [min - 43_200, max + 43_200] },
        y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
      },
      axes: [
        { stroke: ink, grid: { show: false }, ticks: { stroke: grid }, font: '11px system-ui' },
        {
          stroke: ink,
          grid: { stroke: grid },
          ticks: { show: false },
          size: 76,
          font: '11px system-ui',
          values: (_u, vals) => vals.map((v) => props.format(v)),
        },
      ],
      series: [
        { value: (_u, v) => (v == null ? '' : new Date(v * 1000).toISOString().slice(0, 10)) },
        ...series.map((s, i) => ({
          label: s.label,
          points: { show: false },
          stroke: s.color,
          fill: `${s.color}cc`,
          width: 0,
          value: (_u: uPlot, v: number | null) => (v == null ? '' : props.format(v)),
          // Two series stand side by side around their day; one is centred on it.
          paths: uPlot.paths.bars!({ size: [n > 1 ? 0.38 : 0.7, 48], align: n > 1 ? (i === 0 ? -1 : 1) : 0 }),
        })),
      ],
    };
    const plot = new uPlot(opts, [xs, ...series.map((s) => s.values)] as uPlot.AlignedData, el);
    const ro = new ResizeObserver(() =>
      plot.setSize({ width: Math.max(200, el.clientWidth), height: props.height ?? 180 }),
    );
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
  }, [days, series, props.height, props.format]);
  const totals = series
    .map((s) => `${s.label}: ${props.format(s.values.reduce((a, b) => a + b, 0))}`)
    .join(', ');
  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      <div ref={box} class="chart-canvas" aria-hidden="true" />
      <p class="visually-hidden">
        {props.title}, {days.length} days from {days[0]} to {days[days.length - 1]}. Totals: {totals}.
      </p>
    </figure>
  );
}
