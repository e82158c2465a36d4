/**
 * Parity as a running control on the local mesh: `npm start` runs it every `local.parityEvery`
 * (default 2 min) on the minute windows of the last 30 minutes and records each topic's result for
 * the dashboard's parity panel (shared/firestore/parity.ts). One run at a time; a run that fails
 * (an emulator restarting) is reported and the next one tries again.
 */
import type { LocalEndpoints } from '../../shared/local/services';
import type { MeshSpec } from '../../shared/spec';
import { localTarget } from '../smoke/target';
import { runParityJob } from './job-run';
import type { ParityReport } from './types';

export interface ParityScheduleOptions {
  spec: MeshSpec;
  endpoints: LocalEndpoints;
  dashboardUrl?: string;
  everyMs: number;
  /** Windows compared per run. Default 30 minutes. */
  periodMs?: number;
  /** Each run's report, or its failure. */
  onRun?: (report: ParityReport | undefined, error?: Error) => void;
}

export interface ParitySchedule {
  /** Runs once now (besides the schedule); resolves with the report. */
  runNow(): Promise<ParityReport>;
  stop(): Promise<void>;
}

export function scheduleParity(options: ParityScheduleOptions): ParitySchedule {
  const { spec, endpoints } = options;
  const periodMs = options.periodMs ?? 30 * 60_000;
  let running: Promise<ParityReport> | undefined;
  const run = (): Promise<ParityReport> => {
    running ??= (async () => {
      const target = await localTarget(spec, { pubsubHost: endpoints.pubsubHost, firestoreHost: endpoints.firestoreHost, bigqueryUrl: endpoints.bigqueryUrl });
      try {
        // The same run as the GCP job's (job-run.ts), on minute windows of the last period.
        const { report } = await runParityJob({
          spec: { ...spec, parity: { ...spec.parity, granularity: 'minute', sinceSeconds: periodMs / 1000, settleSeconds: 30 } },
          target,
          dashboardUrl: options.dashboardUrl,
          log: () => undefined,
        });
        return report;
      } finally {
        await target.close();
        running = undefined;
      }
    })();
    return running;
  };
  const timer = setInterval(() => {
    if (running) return;
    run().then(
      (report) => options.onRun?.(report),
      (error: Error) => options.onRun?.(undefined, error),
    );
  }, options.everyMs);
  timer.unref();
  return {
    runNow: run,
    async stop() {
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
