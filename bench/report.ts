/**
 * The bench results as one self-contained page (test-artifacts/bench.html): a bar per benchmark
 * (its ratio against its baseline), the goal as a mark on the bar, then the table with what each
 * ratio was measured against. Plain SVG, no script and no library: it opens from the file system,
 * offline, and a CI artifact viewer shows it as it is.
 */
import { describeChange, type BaselineComparison } from './baseline';
import type { BenchResult } from './types';

const ROW_HEIGHT = 28;
const LABEL_WIDTH = 260;
const BAR_WIDTH = 520;

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function benchVerdict(r: BenchResult): 'ok' | 'missed' | 'info' {
  if (r.goal === undefined) return 'info';
  return r.ratio >= r.goal ? 'ok' : 'missed';
}

export function renderBenchReport(results: BenchResult[], at: Date, machine: string, comparisons: BaselineComparison[] = []): string {
  // The scale fits the largest ratio or goal, and always shows 1.0 (as fast as the baseline).
  const max = Math.max(1, ...results.map((r, i) => Math.max(r.ratio, r.goal ?? 0, comparisons[i]?.baseline ?? 0))) * 1.1;
  const x = (ratio: number) => LABEL_WIDTH + (Math.max(0, ratio) / max) * BAR_WIDTH;
  const height = results.length * ROW_HEIGHT + 30;
  const rows = results
    .map((r, i) => {
      const y = i * ROW_HEIGHT + 10;
      const goal =
        r.goal === undefined ? '' : `<line class="goal" x1="${x(r.goal)}" x2="${x(r.goal)}" y1="${y - 3}" y2="${y + 21}"><title>goal ${r.goal}</title></line>`;
      const kept = comparisons[i]?.baseline;
      const baseline =
        kept === undefined ? '' : `<line class="kept" x1="${x(kept)}" x2="${x(kept)}" y1="${y + 2}" y2="${y + 16}"><title>baseline.json ${kept}</title></line>`;
      return [
        `<text class="label" x="${LABEL_WIDTH - 8}" y="${y + 14}">${escape(r.name)}</text>`,
        `<rect class="bar ${benchVerdict(r)}" x="${LABEL_WIDTH}" y="${y}" width="${x(r.ratio) - LABEL_WIDTH}" height="18"><title>${escape(`${r.name}: ${r.ratio.toFixed(2)}`)}</title></rect>`,
        `<text class="value" x="${x(Math.max(r.ratio, r.goal ?? 0)) + 6}" y="${y + 14}">${r.ratio.toFixed(2)}</text>`,
        goal,
        baseline,
      ].join('');
    })
    .join('\n');
  const one = `<line class="one" x1="${x(1)}" x2="${x(1)}" y1="0" y2="${height - 20}"/><text class="axis" x="${x(1)}" y="${height - 6}">1.0 = as fast as the baseline</text>`;
  const table = results
    .map(
      (r, i) =>
        `<tr class="${benchVerdict(r)}${comparisons[i]?.regression ? ' regression' : ''}"><td>${escape(r.name)}</td><td>${r.ratio.toFixed(2)}</td><td>${r.goal === undefined ? '' : `&ge; ${r.goal} ${benchVerdict(r) === 'ok' ? 'ok' : 'MISSED'}`}</td><td>${comparisons[i] ? escape(describeChange(comparisons[i])) : ''}</td><td>${escape(r.baseline)}</td><td>${escape(r.detail)}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>event mesh benchmarks</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 24px; color: #222; }
svg text { font-size: 13px; } .label { text-anchor: end; } .axis { text-anchor: middle; fill: #666; font-size: 11px; }
.bar.ok { fill: #3c9a5f; } .bar.missed { fill: #d9534f; } .bar.info { fill: #7a8ca3; }
.goal { stroke: #111; stroke-width: 3; } .kept { stroke: #f0ad4e; stroke-width: 3; } tr.regression td:nth-child(4) { color: #b52b27; font-weight: 600; } .one { stroke: #999; stroke-dasharray: 4 3; }
table { border-collapse: collapse; margin-top: 16px; } td, th { border: 1px solid #ddd; padding: 4px 8px; vertical-align: top; text-align: left; }
tr.missed td:nth-child(3) { color: #b52b27; font-weight: 600; } tr.ok td:nth-child(3) { color: #2d7a49; }
</style></head><body>
<h1>Benchmarks</h1>
<p>${escape(at.toISOString())} on ${escape(machine)}. Each ratio is our throughput over a baseline measured in the same run; the black mark is the goal where the issue sets one, the orange one the ratio kept in bench/baseline.json (more than 15 % under it is a regression).</p>
<svg width="${LABEL_WIDTH + BAR_WIDTH + 60}" height="${height}" role="img" aria-label="benchmark ratios">
${rows}
${one}
</svg>
<table><thead><tr><th>benchmark</th><th>ratio</th><th>goal</th><th>vs baseline.json</th><th>measured against</th><th>detail</th></tr></thead>
<tbody>
${table}
</tbody></table>
</body></html>
`;
}
