/**
 * How `mesh parity` prints a report: one line per topic and window (its verdict and how many checks
 * agree), then every row that is not ok with each sink's number, then the differences with their
 * sample ids. `--all` prints every row.
 */
import { printTable } from '../table';
import { sampleText, SINKS, verdictOf, type ParityReport, type ParityRow } from './types';

const n = (v: number | undefined) => (v === undefined ? '-' : String(v));
const VERDICT = { ok: 'ok', pending: 'pending', mismatch: 'MISMATCH' } as const;

function rowCells(r: ParityRow): string[] {
  const held = r.held ? Object.values(r.held).reduce((a, b) => a + (b ?? 0), 0) : 0;
  return [r.topic, r.window, r.check, r.item, ...SINKS.map((s) => n(r.counts[s])), held ? String(held) : '', VERDICT[r.verdict]];
}

export function printParityReport(report: ParityReport, options: { all?: boolean } = {}): void {
  const groups = new Map<string, ParityRow[]>();
  for (const r of report.rows) {
    const key = `${r.topic}\u0000${r.window}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  printTable(
    ['topic', 'window', 'checks', 'verdict'],
    [...groups.values()].map((rows) => [
      rows[0].topic,
      rows[0].window === 'range' ? `${report.since} .. ${report.until} (all time per entity)` : rows[0].window,
      `${rows.filter((r) => r.verdict === 'ok').length}/${rows.length} agree`,
      VERDICT[verdictOf(rows)],
    ]),
  );
  const shown = options.all ? report.rows : report.rows.filter((r) => r.verdict !== 'ok');
  if (shown.length) printTable(['topic', 'window', 'check', 'item', ...SINKS, 'held', 'verdict'], shown.map(rowCells));
  for (const r of report.rows) {
    for (const d of r.differences) {
      console.log(`${r.topic} ${r.window} ${r.check} ${r.item}: ${d.sink}: ${d.summary}${d.sample.length ? `: ${sampleText(d.sample, 5)}` : ''}`);
    }
  }
  const anomalies = Object.entries(report.anomalies).map(
    ([topic, kinds]) =>
      `${topic}: ${Object.entries(kinds)
        .map(([k, c]) => `${k} ${c}`)
        .join(', ')}`,
  );
  console.log(`anomalies since ${report.since}: ${anomalies.length ? anomalies.join('; ') : 'none'}`);
  for (const w of report.warnings) console.log(`warning: ${w}`);
  const where = report.target === 'gcp' ? `project ${report.project}` : 'the local mesh';
  console.log(
    report.mismatches
      ? `parity FAILED on ${where}: ${report.mismatches} mismatch(es), ${report.pending} pending, of ${report.rows.length} checks (${report.granularity} windows since ${report.since})`
      : `parity holds on ${where}: ${report.rows.length - report.pending} checks agree, ${report.pending} pending (${report.granularity} windows since ${report.since})`,
  );
}
