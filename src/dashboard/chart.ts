// Line charts as inline SVG: one value per backup over time, drawn on the
// server so the page needs no script. Values start at zero, so two backups'
// sizes compare by height honestly; each point says its value on hover.
import { html, type Html } from './html.ts';
import { timeLabel } from './when.ts';

export interface ChartPoint {
  /** Milliseconds since the epoch. */
  time: number;
  value: number;
}

export interface ChartSeries {
  name: string;
  points: readonly ChartPoint[];
}

/** The drawing area inside the axes: x grows right, y grows down (SVG). */
export interface PlotArea {
  left: number;
  right: number;
  top: number;
  bottom: number;
}

const width = 520;
const height = 200;
const area: PlotArea = { left: 72, right: width - 16, top: 28, bottom: height - 28 };
const colors = ['#2563eb', '#d97706', '#059669'];

/**
 * Where each point goes: time spans left to right (one moment alone sits in the middle), value
 * spans bottom (0) to top (maxValue).
 */
export function scalePoints(
  points: readonly ChartPoint[],
  plot: PlotArea,
  maxValue: number,
): { x: number; y: number }[] {
  const times = points.map((p) => p.time);
  const first = Math.min(...times);
  const last = Math.max(...times);
  const x = (time: number) =>
    last === first
      ? (plot.left + plot.right) / 2
      : plot.left + ((time - first) / (last - first)) * (plot.right - plot.left);
  return points.map((p) => ({ x: round(x(p.time)), y: scaleValue(p.value, plot, maxValue) }));
}

/** The height of a value: 0 at the bottom, maxValue at the top; all at the bottom when maxValue is 0. */
export function scaleValue(value: number, plot: PlotArea, maxValue: number): number {
  return round(maxValue <= 0 ? plot.bottom : plot.bottom - (value / maxValue) * (plot.bottom - plot.top));
}

export function lineChart(title: string, series: readonly ChartSeries[], format: (value: number) => string): Html {
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return html`<p class="muted">${title}: nothing to draw before the first backup completes.</p>`;
  const max = Math.max(0, ...all.map((p) => p.value));
  // One scale for every series: scale them together, then hand each its own slice back.
  const scaled = scalePoints(all, area, max);
  let offset = 0;
  const lines = series.map((s, i) => {
    const xy = scaled.slice(offset, offset + s.points.length);
    offset += s.points.length;
    const color = colors[i % colors.length] ?? '#000';
    const dots = s.points.map((p, j) => {
      const at = xy[j] ?? { x: 0, y: 0 };
      return html`<circle cx="${at.x}" cy="${at.y}" r="3.5" fill="${color}"
        ><title>${s.name}: ${format(p.value)} at ${timeLabel(p.time)}</title></circle
      >`;
    });
    return html`<polyline
        fill="none"
        stroke="${color}"
        stroke-width="2"
        points="${xy.map((p) => `${p.x},${p.y}`).join(' ')}"
      />${dots}<text x="${area.left + 8 + i * 170}" y="16" fill="${color}" font-size="12">● ${s.name}</text>`;
  });
  const times = all.map((p) => p.time);
  const ticks = [0, max / 2, max].map((value) => {
    const y = scaleValue(value, area, max);
    return html`<line x1="${area.left}" x2="${area.right}" y1="${y}" y2="${y}" stroke="#e5e7eb" /><text
        x="${area.left - 6}"
        y="${y + 4}"
        text-anchor="end"
        font-size="11"
        fill="#6b7280"
        >${format(value)}</text
      >`;
  });
  return html`<figure class="chart">
    <svg
      xmlns="http://www.w3.org/2000/svg"
      viewBox="0 0 ${width} ${height}"
      width="${width}"
      height="${height}"
      role="img"
      aria-label="${title}"
    >
      <title>${title}</title>
      ${ticks}
      <line x1="${area.left}" x2="${area.left}" y1="${area.top}" y2="${area.bottom}" stroke="#9ca3af" />
      <text x="${area.left}" y="${height - 8}" font-size="11" fill="#6b7280">${timeLabel(Math.min(...times))}</text>
      <text x="${area.right}" y="${height - 8}" text-anchor="end" font-size="11" fill="#6b7280">
        ${timeLabel(Math.max(...times))}
      </text>
      ${lines}
    </svg>
    <figcaption>${title}</figcaption>
  </figure>`;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
