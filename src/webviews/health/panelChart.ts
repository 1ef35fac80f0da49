/// <reference lib="dom" />
// The health panel's small line charts (browser side, bundled with panel.ts): one metric over
// time, one line per endpoint, a failing member's line dashed in the error colour.
import type { HealthSnapshot } from './protocol';
import { el, svg } from './panelDom';
import { chartRange, lineWidths, type ChartScale } from './chartScale';

const PALETTE = [
  'var(--vscode-charts-blue)',
  'var(--vscode-charts-green)',
  'var(--vscode-charts-purple)',
  'var(--vscode-charts-orange)',
  'var(--vscode-charts-yellow)',
];

/** A small line chart of one metric over time, one line per endpoint; `scale`: see chartScale.ts. */
export function chart(
  title: string,
  s: HealthSnapshot,
  pick: (p: { raftIndex: number; dbSize: number }) => number,
  fmt: (n: number) => string,
  scale: ChartScale = 'fit',
): HTMLElement {
  const box = el('div', 'chart');
  box.append(el('div', 'chart-title', title));
  const W = 420,
    H = 120,
    P = 4;
  const root = svg('svg', { width: W, height: H + 16, viewBox: `0 0 ${W} ${H + 16}`, role: 'img' });
  root.setAttribute('aria-label', title);
  const series = Object.entries(s.history);
  const all = series.flatMap(([, pts]) => pts);
  if (all.length === 0) {
    box.append(el('div', 'muted', 'No data yet.'));
    return box;
  }
  const t0 = Math.min(...all.map((p) => p.t));
  const t1 = Math.max(...all.map((p) => p.t), t0 + 1);
  const { lo, hi } = chartRange(all.map(pick), scale);
  root.append(svg('rect', { x: 0, y: 0, width: W, height: H, class: 'plot' }));
  const widths = lineWidths(series.map(([ep]) => !!s.rows.find((r) => r.endpoint === ep)?.failing));
  series.forEach(([ep, pts], i) => {
    const color = PALETTE[i % PALETTE.length];
    const row = s.rows.find((r) => r.endpoint === ep);
    const d = pts
      .map(
        (p) =>
          `${(P + ((p.t - t0) / (t1 - t0)) * (W - 2 * P)).toFixed(1)},${(H - P - ((pick(p) - lo) / (hi - lo)) * (H - 2 * P)).toFixed(1)}`,
      )
      .join(' ');
    const line = svg('polyline', {
      points: d,
      fill: 'none',
      'stroke-width': widths[i],
    });
    line.style.stroke = row?.failing ? 'var(--vscode-errorForeground)' : color;
    if (row?.failing) line.setAttribute('stroke-dasharray', '4 3');
    root.append(line);
  });
  const lbl = svg('text', { x: 2, y: H + 12, class: 'axis' });
  lbl.textContent = `${fmt(lo)} … ${fmt(hi)} over ${Math.round((t1 - t0) / 1000)} s`;
  root.append(lbl);
  box.append(root);
  const legend = el('div', 'legend');
  series.forEach(([ep], i) => {
    const row = s.rows.find((r) => r.endpoint === ep);
    const sw = el('span', 'swatch');
    sw.style.background = row?.failing ? 'var(--vscode-errorForeground)' : PALETTE[i % PALETTE.length];
    const name = row?.instance ?? ep;
    legend.append(sw, el('span', row?.failing ? 'badtext' : '', `${name}${row?.failing ? ' (failing)' : ''}  `));
  });
  box.append(legend);
  return box;
}
