/**
 * A hand-written SVG bar chart of ratios (one group per scenario: its target's
 * metric against what the target compares with, else its headline metric against
 * sockjs-node), with the line at 1× and each target marked.
 */
import type { Results, ScenarioSummary } from './report.js';
import { targetMetric } from './scenarios.js';

const COLORS: Record<string, string> = {
  'koa-sockjs': '#2b6cb0',
  'koa-sockjs-upgrade': '#63b3ed',
  'koa-sockjs-redis': '#805ad5',
  'redis-2-processes': '#805ad5',
  ws: '#a0aec0',
  'socket.io': '#38a169',
  'sockjs-node': '#1a202c',
  'bare-koa': '#dd6b20',
};

/** Ratios beyond this are drawn to the edge of the plot (see chartSvg). */
const AXIS_CAP = 5;

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

interface Row {
  label: string;
  variant: string;
  ratio: number;
}

interface Group {
  title: string;
  rows: Row[];
  target: number | null;
  better: 'higher' | 'lower';
}

/**
 * One group per scenario: the target's metric as a ratio to the variant the target compares
 * with (sockjs-node, raw ws, or one Redis process), or the headline metric against the baseline.
 * Scenarios whose target is an absolute limit are drawn against that limit (1× = the limit).
 */
function groups(scenarios: ScenarioSummary[]): Group[] {
  const out: Group[] = [];
  for (const s of scenarios) {
    const t = s.target;
    const metric = t !== null ? targetMetric(s, t.metric) : s.metrics[0]!;
    const value = (id: string): number | undefined => {
      const v = s.variants.find((x) => x.variant === id);
      if (v === undefined) return undefined;
      return metric.key === 'serverUsPerOp' ? (v.serverUsPerOp ?? undefined) : v.medians[metric.key];
    };
    const absolute = t?.absolute === true;
    const reference = absolute ? null : (t?.against ?? s.baseline);
    const rows: Row[] = [];
    for (const v of s.variants) {
      if (v.variant === reference) continue;
      const mine = value(v.variant);
      const ratio = mine === undefined ? undefined : absolute ? mine / t!.ratio : mine / (value(reference!) ?? Number.NaN);
      if (ratio === undefined || !Number.isFinite(ratio)) continue;
      rows.push({ label: v.label, variant: v.variant, ratio });
    }
    if (rows.length === 0) continue;
    const base = absolute ? `the limit of ${t!.ratio.toLocaleString('en-US')}` : (s.variants.find((v) => v.variant === reference)?.label ?? reference);
    out.push({
      title: `${s.title}: ${metric.label} vs ${base}${metric.better === 'lower' ? ' (lower is better)' : ''}${s.coalescing !== undefined ? ' — coalescing helps' : ''}`,
      rows,
      target: t === null ? null : absolute ? 1 : t.ratio,
      better: metric.better,
    });
  }
  return out;
}

export function chartSvg(results: Results): string {
  const data = groups(results.scenarios);
  const width = 900;
  const left = 230;
  const right = 70;
  const plotWidth = width - left - right;
  const barHeight = 16;
  const rowGap = 4;
  const titleHeight = 20;
  const groupGap = 14;
  const top = 56;
  // The axis stops at AXIS_CAP: one huge ratio (a batching win of 60×) would flatten every
  // other bar. Longer bars run to the edge, end in a break mark, and keep their true value.
  const max = Math.min(Math.max(1.5, ...data.flatMap((g) => [...g.rows.map((r) => r.ratio), g.target ?? 0])) * 1.08, AXIS_CAP);
  const x = (ratio: number): number => left + (Math.min(ratio, max) / max) * plotWidth;
  const parts: string[] = [];
  /** Target lines go under the bars' labels, so they are drawn first. */
  const targets: string[] = [];
  /** Vertical extent of each group's bars: grid lines are drawn there only, never across titles. */
  const spans: Array<[number, number]> = [];
  let y = top;
  for (const g of data) {
    parts.push(`<text x="16" y="${y + 13}" class="group">${esc(g.title)}</text>`);
    y += titleHeight;
    const groupTop = y;
    for (const r of g.rows) {
      const color = COLORS[r.variant] ?? '#718096';
      const meets = g.target === null ? null : g.better === 'higher' ? r.ratio >= g.target : r.ratio <= g.target;
      parts.push(`<text x="${left - 8}" y="${y + 12}" class="label" text-anchor="end">${esc(r.label)}</text>`);
      parts.push(`<rect x="${left}" y="${y}" width="${(x(r.ratio) - left).toFixed(1)}" height="${barHeight}" fill="${color}"/>`);
      if (r.ratio > max) {
        // A white zig-zag across the bar's end: "this bar is cut".
        const bx = x(r.ratio) - 14;
        parts.push(`<path d="M${bx} ${y - 1} l4 ${barHeight / 2 + 1} l-4 ${barHeight / 2 + 1}" stroke="#ffffff" stroke-width="3" fill="none"/>`);
      }
      const mark = r.variant === 'koa-sockjs' && meets !== null ? (meets ? ' ✓' : ' ✗') : '';
      const text = `${r.ratio.toFixed(2)}×${mark}`;
      // A white backing keeps the value readable where a target or grid line crosses it.
      parts.push(`<rect x="${(x(r.ratio) + 2).toFixed(1)}" y="${y + 1}" width="${text.length * 7 + 4}" height="${barHeight - 2}" fill="#ffffff"/>`);
      parts.push(`<text x="${(x(r.ratio) + 4).toFixed(1)}" y="${y + 12}" class="value">${text}</text>`);
      y += barHeight + rowGap;
    }
    spans.push([groupTop - 3, y - rowGap + 3]);
    if (g.target !== null) {
      // The dashed line spans the group's bars; its label sits under them.
      const tx = x(g.target).toFixed(1);
      targets.push(`<line x1="${tx}" y1="${groupTop - 3}" x2="${tx}" y2="${y - rowGap + 3}" class="target"/>`);
      parts.push(`<text x="${tx}" y="${y + 10}" class="targetText" text-anchor="middle">target ${g.better === 'higher' ? '≥' : '≤'} ${g.target}×</text>`);
      y += 12;
    }
    y += groupGap;
  }
  const bottom = y;
  const one = x(1).toFixed(1);
  const ticks: string[] = [];
  for (let t = 0; t <= max; t += max > 4 ? 1 : 0.5) {
    const tx = x(t).toFixed(1);
    for (const [y1, y2] of spans) ticks.push(`<line x1="${tx}" y1="${y1}" x2="${tx}" y2="${y2}" class="grid"/>`);
    ticks.push(`<text x="${tx}" y="${bottom + 14}" class="tick" text-anchor="middle">${t}×</text>`);
  }
  for (const [y1, y2] of spans) ticks.push(`<line x1="${one}" y1="${y1}" x2="${one}" y2="${y2}" class="one"/>`);
  const height = bottom + 44;
  const { meta } = results;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    '<style>.group{font-size:13px;font-weight:bold;fill:#1a202c}.label,.value,.tick{font-size:12px;fill:#2d3748}',
    '.grid{stroke:#e2e8f0;stroke-width:1}.one{stroke:#1a202c;stroke-width:1.5}.target{stroke:#e53e3e;stroke-width:2;stroke-dasharray:4 3}',
    '.targetText{font-size:11px;fill:#e53e3e}.title{font-size:16px;font-weight:bold;fill:#1a202c}.note{font-size:11px;fill:#4a5568}</style>',
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="16" y="24" class="title">koa-sockjs against sockjs-node, raw ws and Socket.IO: medians of ${meta.rounds} interleaved round(s)${meta.quick ? ' — quick run' : ''}</text>`,
    `<text x="16" y="42" class="note">${esc(`${meta.date}, ${meta.machine}, Node ${meta.node}`)}</text>`,
    ...ticks,
    ...targets,
    ...parts,
    `<text x="16" y="${height - 10}" class="note">Red dashed lines: the targets (issues 4 and 17). Bars: koa-sockjs (blue; light blue with upgradeHandler; purple on Redis), sockjs-node (black), raw ws (grey), Socket.IO (green), bare Koa app (orange).</text>`,
    '</svg>',
    '',
  ].join('\n');
}
