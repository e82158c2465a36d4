/**
 * One scheduled parity run (job.ts starts it in the Cloud Run job infra/parity.ts deploys, image
 * tools/Dockerfile; Cloud Scheduler starts the job on the spec's `parity.schedule`). One run: read the
 * lag from Cloud Monitoring, compare the spec's `parity.since` of windows, record the result
 * (Firestore for the dashboard, BigQuery `parity_results`, the parity metric the alert watches) and
 * log one structured line per topic for Cloud Logging.
 *
 * Exit code: 0 when the run judged and recorded, whatever the verdict (a mismatch pages through the
 * alert, not through a failed execution); 1 when it could not (Cloud Run retries the task once,
 * and a run that stays failed leaves the metric absent, which the stale condition reports).
 */
import type { MeshSpec } from '../../shared/spec';
import type { SmokeTarget } from '../smoke/target';
import { readLag } from './lag';
import { recordParity, type MetricWriter, type RecordedParity } from './record';
import { runParity } from './run';
import type { ParityReport } from './types';

/** Cloud Logging reads `severity` and `message` from a JSON line on stdout. */
export type LogLine = { severity: 'INFO' | 'WARNING' | 'ERROR'; message: string } & Record<string, unknown>;

export interface ParityJobDeps {
  spec: MeshSpec;
  target: SmokeTarget;
  metrics?: MetricWriter;
  now?: number;
  /** Locally, where the dashboard's health view is (the lag); in GCP the lag comes from Cloud Monitoring. */
  dashboardUrl?: string;
  log: (line: LogLine) => void;
}

/** One scheduled run against `target`; returns the report and what was recorded. */
export async function runParityJob(deps: ParityJobDeps): Promise<{ report: ParityReport; recorded: RecordedParity }> {
  const { spec, target, log } = deps;
  const now = deps.now ?? Date.now();
  const { lag, unknownBecause } = await readLag(spec, target, deps.dashboardUrl);
  const report = await runParity({
    spec,
    target,
    granularity: spec.parity.granularity,
    sinceMs: now - spec.parity.sinceSeconds * 1000,
    settleMs: spec.parity.settleSeconds * 1000,
    lag,
    lagUnknownBecause: unknownBecause,
    now,
    onProgress: (line) => log({ severity: 'INFO', message: `parity: ${line}` }),
  });
  const recorded = await recordParity(target, report, { dataset: spec.warehouse.dataset, createTable: target.kind === 'local', metrics: deps.metrics });
  for (const record of recorded.records) {
    log({
      severity: record.verdict === 'mismatch' ? 'ERROR' : 'INFO',
      message: `parity ${record.topic}: ${record.verdict} (${record.agree}/${record.checks} agree, ${record.pending} pending, ${record.mismatches} mismatched)`,
      parity: { runId: recorded.runId, ...record },
    });
  }
  for (const warning of report.warnings) log({ severity: 'WARNING', message: `parity: ${warning}` });
  return { report, recorded };
}
