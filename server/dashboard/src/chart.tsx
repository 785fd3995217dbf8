// Time-series charts with uPlot (small, fast, canvas): sized to their container and redrawn when it resizes.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { NONE } from './format.ts';

/** Room for an axis's labels: small money amounts ($0.000031) are wider than a fixed size allows. */
function axisSize(_u: uPlot, values: string[] | null): number {
  const longest = Math.max(4, ...(values ?? []).map((value) => value.length));
  return Math.ceil(longest * 7.5) + 18;
}

export interface Series {
  label: string;
  values: number[];
  color: string;
  /** Axis label side: money on the left, counts on the right. */
  axis?: 'left' | 'right';
  format?: (value: number) => string;
}

export function TimeChart({ times, series, height = 220, label }: { times: number[]; series: Series[]; height?: number; label: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const hasRight = series.some((s) => s.axis === 'right');
    const options: uPlot.Options = {
      width: Math.max(200, element.clientWidth),
      height,
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          fill: `${s.color}22`,
          width: 2,
          scale: s.axis === 'right' ? 'count' : 'y',
          value: (_u: uPlot, v: number | null) => (v == null ? NONE : s.format ? s.format(v) : String(v)),
        })),
      ],
      axes: [
        {},
        { scale: 'y', values: (_u, values) => values.map((v) => (series[0]?.format ? series[0].format(v) : String(v))), size: axisSize },
        ...(hasRight ? [{ scale: 'count', side: 1 as const, grid: { show: false }, size: axisSize }] : []),
      ],
      scales: { x: { time: true } },
      legend: { show: true },
    };
    const plot = new uPlot(options, [times.map((t) => t / 1000), ...series.map((s) => s.values)], element);
    const observer = new ResizeObserver(() => plot.setSize({ width: Math.max(200, element.clientWidth), height }));
    observer.observe(element);
    return () => {
      observer.disconnect();
      plot.destroy();
    };
  }, [times, series, height]);
  return <div class="chart" ref={box} role="img" aria-label={label} />;
}
