/**
 * Replay ceiling (issue 20): `mesh replay` must publish at no more than its ceiling and, over a run,
 * within 5 % of it. The ratio is the measured rate (events sent / time from the first send to the
 * last publish acknowledged) over the ceiling, on the Pub/Sub emulator with the local BigQuery
 * endpoint as the source; the detail also gives the most events handed to the publisher in any one
 * second, which must stay within the ceiling + 5 %, and the most acknowledged in one second.
 */
import { BigQuery } from '@google-cloud/bigquery';
import { startLocalBigQuery } from '../shared/bigquery-local';
import { emulatorPubSub, startPubsubEmulator } from '../shared/emulators';
import { applyLocal } from '../shared/local';
import { MeshPublisher } from '../shared/publisher';
import { parseReplayRequest, ReplayAudit, runReplay, WarehouseReplaySource } from '../shared/replay';
import { loadSpec, type MeshSpec } from '../shared/spec';
import { ensureWarehouse } from '../services/warehouse/tables';
import { storeOrdersHistory } from '../test/support/replay-history';
import type { BenchResult } from './types';

/** [ceiling per second, events]: about 15 s each. BENCH_REPLAY_RUNS overrides them as `200x3000,1000x15000`. */
const RUNS: [number, number][] = (process.env.BENCH_REPLAY_RUNS ?? '200x3000,1000x15000').split(',').map((run) => {
  const [ceiling, events] = run.split('x').map(Number);
  return [ceiling, events];
});
const FROM = Date.parse('2026-01-01T00:00:00Z');

/** The most sends that started within any one second. */
function busiestSecond(times: number[]): number {
  let most = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i] - times[j] >= 1000) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

export async function run(progress: (line: string) => void = () => undefined): Promise<BenchResult[]> {
  const base = loadSpec();
  const emulator = await startPubsubEmulator();
  const local = await startLocalBigQuery();
  const results: BenchResult[] = [];
  try {
    for (const [ceiling, events] of RUNS) {
      const project = `bench-replay-${ceiling}`;
      const spec: MeshSpec = {
        ...base,
        project,
        // The local endpoint keeps one dataset per name whatever the project: one per run.
        warehouse: { ...base.warehouse, dataset: `bench_replay_${ceiling}_${Date.now()}` },
        consumers: { ...base.consumers, 'processor-orders': { ...base.consumers['processor-orders'], replayCeilingPerSecond: ceiling } },
      };
      const pubsub = emulatorPubSub(emulator.hostPort, project);
      const bigquery = new BigQuery({ projectId: project, apiEndpoint: local.url });
      try {
        await applyLocal({ pubsub, spec });
        await ensureWarehouse(bigquery, spec, { project });
        await storeOrdersHistory(bigquery, spec, new MeshPublisher({ pubsub, spec, source: '//bench/replay' }), {
          count: events,
          from: FROM,
          prefix: 'o-',
          keys: 500,
        });
        const request = parseReplayRequest(
          spec,
          {
            consumer: 'processor-orders',
            from: new Date(FROM).toISOString(),
            to: new Date(FROM + events).toISOString(),
            owner: 'bench',
            intent: 'replay ceiling benchmark',
            operator: 'bench',
          },
          new Date(FROM + 86_400_000),
        );
        const sentAt: number[] = [];
        const startedAt: number[] = [];
        let first = 0;
        const outcome = await runReplay({
          pubsub,
          spec,
          source: new WarehouseReplaySource(bigquery, spec, project),
          audit: new ReplayAudit(bigquery, spec, project),
          request,
          inScope: events,
          onSending: () => startedAt.push(performance.now()),
          onSent: () => {
            const now = performance.now();
            first ||= now;
            sentAt.push(now);
          },
        });
        if (outcome.state !== 'completed' || outcome.sent !== events) throw new Error(`replay ${outcome.state}: ${outcome.sent} of ${events} sent`);
        // Acks come back in batches: the rate is over the span from the first send's ack to the last's,
        // one interval per event after the first.
        const seconds = (sentAt[sentAt.length - 1] - first) / 1000;
        const rate = (events - 1) / seconds;
        const peak = busiestSecond(startedAt);
        const peakAcked = busiestSecond(sentAt);
        progress(`replay at ${ceiling}/s: ${events} events, ${rate.toFixed(1)}/s, busiest second ${peak} sent (${peakAcked} acked)`);
        results.push({
          name: `replay holds its ceiling (${ceiling}/s)`,
          baseline: `the ceiling, ${ceiling}/s`,
          ratio: rate / ceiling,
          goal: 0.95,
          detail:
            `${events} events in ${seconds.toFixed(1)} s (${rate.toFixed(1)}/s); busiest second: ${peak} sent (${peak <= ceiling * 1.05 ? 'within' : 'PAST'} the ceiling + 5 %), ` +
            `${peakAcked} acked (the emulator acks in batches)`,
        });
      } finally {
        await pubsub.close();
      }
    }
  } finally {
    await local.stop();
    await emulator.stop();
  }
  return results;
}
