/**
 * Where a parity run's result goes, besides the printed report:
 * - Firestore `parityLatest/<topic>`: the latest verdict per topic, for the dashboard's panel;
 * - BigQuery `parity_results`: one row per run, topic and window, the history analysts query;
 * - in GCP, the metric PARITY_METRIC_TYPE: one point per topic, the mismatching checks, which the
 *   alert policy of infra/parity.ts watches (locally there is no Cloud Monitoring).
 */
import { randomUUID } from 'node:crypto';
import type { BigQuery } from '@google-cloud/bigquery';
import { writeParityRecords, type ParityRecord } from '../../shared/firestore';
import { PARITY_METRIC_RESOURCE, PARITY_METRIC_TYPE } from '../../shared/parity';
import { PARITY_RESULTS_PARTITION_FIELD, PARITY_RESULTS_TABLE, parityResultsTableSchema, type InsertRow } from '../../shared/warehouse';
import { ensureTable } from '../../services/warehouse/tables';
import type { SmokeTarget } from '../smoke/target';
import { sampleText, verdictOf, type ParityReport, type ParityRow } from './types';

export function parityRecords(report: ParityReport): ParityRecord[] {
  return report.topics.map((topic) => {
    const rows = report.rows.filter((r) => r.topic === topic);
    return {
      topic,
      verdict: verdictOf(rows),
      at: report.at,
      target: report.target,
      granularity: report.granularity,
      since: report.since,
      until: report.until,
      ...tally(rows),
      differences: rows.flatMap((r) =>
        r.differences.map((d) => `${r.window} ${r.check} ${r.item}: ${d.sink}: ${d.summary}${d.sample.length ? `: ${sampleText(d.sample, 3)}` : ''}`),
      ),
    };
  });
}

const tally = (rows: ParityRow[]) => ({
  checks: rows.length,
  agree: rows.filter((r) => r.verdict === 'ok').length,
  pending: rows.filter((r) => r.verdict === 'pending').length,
  mismatches: rows.filter((r) => r.verdict === 'mismatch').length,
});

/** Rows of `parity_results`: one per topic and window; the insertId makes a retried insert land once. */
export function parityResultRows(report: ParityReport, runId: string): InsertRow[] {
  const byWindow = new Map<string, ParityRow[]>();
  for (const r of report.rows) {
    const key = `${r.topic}\0${r.window}`;
    byWindow.set(key, [...(byWindow.get(key) ?? []), r]);
  }
  return [...byWindow.values()].map((rows) => {
    const { topic, window, start, end } = rows[0];
    const differences = rows.flatMap((r) => r.differences.map((d) => ({ check: r.check, item: r.item, sink: d.sink, summary: d.summary, sample: d.sample })));
    return {
      insertId: `${runId}/${topic}/${window}`,
      json: {
        run_id: runId,
        run_at: report.at,
        target: report.target,
        topic,
        granularity: report.granularity,
        window_key: window,
        window_start: start,
        window_end: end,
        verdict: verdictOf(rows),
        ...tally(rows),
        differences: JSON.stringify(differences),
      },
    };
  });
}

/**
 * The metric's time series: one GAUGE point per compared topic at the run's time, its mismatching
 * checks. The request body of projects.timeSeries.create
 * (https://cloud.google.com/monitoring/api/ref_v3/rest/v3/projects.timeSeries/create): a GAUGE point's
 * interval has only an end time, and a request may hold up to 200 series.
 */
export function parityMetricSeries(report: ParityReport, project: string) {
  const endTime = { seconds: Math.floor(Date.parse(report.at) / 1000) };
  return report.topics.map((topic) => ({
    metric: { type: PARITY_METRIC_TYPE, labels: { topic } },
    resource: { type: PARITY_METRIC_RESOURCE, labels: { project_id: project } },
    metricKind: 'GAUGE' as const,
    valueType: 'INT64' as const,
    points: [{ interval: { endTime }, value: { int64Value: report.rows.filter((r) => r.topic === topic && r.verdict === 'mismatch').length } }],
  }));
}

/** What writes the metric: @google-cloud/monitoring's MetricServiceClient, or a test's fake. */
export interface MetricWriter {
  createTimeSeries(request: { name: string; timeSeries: ReturnType<typeof parityMetricSeries> }): Promise<unknown>;
}

export interface RecordOptions {
  /** The warehouse dataset holding parity_results. */
  dataset: string;
  /** Create parity_results when it is missing (locally; in GCP infra owns it and the job may not create tables). */
  createTable?: boolean;
  /** Writes the metric (GCP only); absent locally. */
  metrics?: MetricWriter;
  runId?: string;
}

export interface RecordedParity {
  runId: string;
  records: ParityRecord[];
  resultRows: number;
  metricSeries: number;
}

/** Writes one run's result everywhere it goes. Each destination is written even if an earlier one failed; the first failure is thrown after. */
export async function recordParity(
  target: Pick<SmokeTarget, 'firestore' | 'bigquery' | 'project'>,
  report: ParityReport,
  options: RecordOptions,
): Promise<RecordedParity> {
  const runId = options.runId ?? `${report.at}-${randomUUID().slice(0, 8)}`;
  const records = parityRecords(report);
  const rows = parityResultRows(report, runId);
  const series = options.metrics ? parityMetricSeries(report, target.project) : [];
  const results = await Promise.allSettled([
    records.length ? writeParityRecords(target.firestore, records) : undefined,
    rows.length ? insertResults(target.bigquery, options.dataset, rows, options.createTable ?? false) : undefined,
    series.length ? options.metrics!.createTimeSeries({ name: `projects/${target.project}`, timeSeries: series }) : undefined,
  ]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return { runId, records, resultRows: rows.length, metricSeries: series.length };
}

async function insertResults(bigquery: BigQuery, dataset: string, rows: InsertRow[], createTable: boolean): Promise<void> {
  // Locally the table is made as the warehouse makes its own (created, or missing columns added).
  const table = createTable
    ? (
        await ensureTable(bigquery.dataset(dataset), PARITY_RESULTS_TABLE, parityResultsTableSchema(), {
          timePartitioning: { type: 'DAY', field: PARITY_RESULTS_PARTITION_FIELD },
          description: 'Every parity run: one row per topic and window.',
        })
      ).table
    : bigquery.dataset(dataset).table(PARITY_RESULTS_TABLE);
  await table.insert(rows, { raw: true });
}
