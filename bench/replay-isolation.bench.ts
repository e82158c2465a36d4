/**
 * Replay isolation at full size (issue 20): while a 50,000-event replay runs at its ceiling to the
 * processor's orders consumer (the real processor service, unary Pull as on the local mesh),
 * real-time orders keep flowing through the consumer's own subscription within its lag SLO from
 * mesh.yaml. The emulator keeps no oldest-unacked metric, so lag is measured where it ends:
 * publish to handled, for every real-time event. Two phases in one run: real time alone (the
 * baseline), then real time during the replay.
 *
 * The ratio is the lag SLO over the worst real-time lag during the replay: >= 1 means the SLO held.
 * BENCH_REPLAY_EVENTS (default 50000) and BENCH_REPLAY_CEILING (default 250/s) size it.
 */
import { BigQuery } from '@google-cloud/bigquery';
import { startLocalBigQuery } from '../shared/bigquery-local';
import { createLogger, type DecodedEvent, type Handlers } from '../shared/consumer';
import { emulatorFirestore, emulatorPubSub, freePort, startFirestoreEmulator, startPubsubEmulator } from '../shared/emulators';
import { toPubsubMessage } from '../shared/envelope';
import { applyLocal } from '../shared/local';
import { MeshPublisher } from '../shared/publisher';
import { parseReplayRequest, REPLAY_ID_ATTRIBUTE, ReplayAudit, runReplay, WarehouseReplaySource } from '../shared/replay';
import { loadSpec, type MeshSpec } from '../shared/spec';
import { eventRow, eventsTableName, type InsertRow } from '../shared/warehouse';
import { createProcessorApp } from '../services/processor/app';
import { ensureWarehouse } from '../services/warehouse/tables';
import type { BenchResult } from './types';

const EVENTS = Number(process.env.BENCH_REPLAY_EVENTS ?? 50_000);
const CEILING = Number(process.env.BENCH_REPLAY_CEILING ?? 250);
/** Real-time orders a second, in both phases. */
const REALTIME_RATE = 20;
const BASELINE_SECONDS = 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
const describe = (lags: number[]) => {
  const s = [...lags].sort((a, b) => a - b);
  return {
    p50: quantile(s, 0.5),
    p99: quantile(s, 0.99),
    max: s.at(-1) ?? 0,
    text: `p50 ${quantile(s, 0.5).toFixed(2)} s, p99 ${quantile(s, 0.99).toFixed(2)} s, max ${(s.at(-1) ?? 0).toFixed(2)} s`,
  };
};

export async function run(progress: (line: string) => void = () => undefined): Promise<BenchResult[]> {
  const base = loadSpec();
  const project = 'bench-replay-isolation';
  const consumer = { ...base.consumers['processor-orders'], replayCeilingPerSecond: CEILING };
  // The orders topic and the processor's orders consumer only, with mesh.yaml's settings and SLO.
  const spec: MeshSpec = {
    ...base,
    project,
    topics: { orders: base.topics.orders },
    consumers: { 'processor-orders': consumer },
    services: { processor: { ...base.services.processor, consumers: ['processor-orders'] } },
    warehouse: { ...base.warehouse, dataset: `bench_replay_isolation_${Date.now()}` },
  };
  const slo = consumer.lagSlo.oldestUnackedSeconds;
  const [pubsubEmulator, firestoreEmulator, local] = await Promise.all([startPubsubEmulator(), startFirestoreEmulator(), startLocalBigQuery()]);
  const pubsub = emulatorPubSub(pubsubEmulator.hostPort, project);
  const firestore = emulatorFirestore(firestoreEmulator.hostPort, project);
  const bigquery = new BigQuery({ projectId: project, apiEndpoint: local.url });
  const handled: { replayed: boolean; lagSeconds: number }[] = [];
  const record = (handlers: Handlers): Handlers =>
    Object.fromEntries(
      Object.entries(handlers).map(([name, handler]) => [
        name,
        async (decoded: DecodedEvent, ctx: Parameters<typeof handler>[1]) => {
          const result = await handler(decoded, ctx);
          handled.push({
            replayed: Boolean(decoded.attributes[REPLAY_ID_ATTRIBUTE]),
            lagSeconds: (Date.now() - (decoded.publishTime?.getTime() ?? Date.now())) / 1000,
          });
          return result;
        },
      ]),
    );
  let service: Awaited<ReturnType<typeof createProcessorApp>> | undefined;
  try {
    await applyLocal({ pubsub, spec });
    await ensureWarehouse(bigquery, spec, { project });
    const publisher = new MeshPublisher({ pubsub, spec, source: '//bench/replay-isolation' });
    // The history: EVENTS orders created, never applied (a backfill: every one takes effect).
    const from = Date.now() - 86_400_000;
    const table = bigquery.dataset(spec.warehouse.dataset).table(eventsTableName('orders'));
    for (let i = 0; i < EVENTS; i += 1000) {
      const rows: InsertRow[] = [];
      for (let j = i; j < Math.min(EVENTS, i + 1000); j++) {
        const { event, orderingKey } = publisher.prepare('orders', 'order.created', { orderId: `h-${j}`, customerId: 'c', sequence: 1 });
        rows.push(
          eventRow(spec.topics.orders, {
            event,
            messageId: String(j + 1),
            publishTime: new Date(from + j),
            orderingKey,
            attributes: toPubsubMessage(event, orderingKey).attributes,
          }),
        );
      }
      await table.insert(rows, { raw: true });
    }
    progress(`${EVENTS} events in the warehouse`);
    service = createProcessorApp({
      spec,
      pubsub,
      firestore,
      verifyPushAuth: false,
      log: createLogger({ level: 'silent' }),
      decorate: record,
      pullTransport: 'unary',
    });
    await service.start(await freePort(), '127.0.0.1');

    let realtimeSent = 0;
    const realtime = async (running: () => boolean) => {
      for (let second = 0; running(); second++) {
        const sends = Array.from({ length: REALTIME_RATE }, () =>
          publisher.publish('orders', 'order.created', { orderId: `rt-${realtimeSent++}`, customerId: 'c', sequence: 1 }),
        );
        await Promise.all([...sends, sleep(1000)]);
      }
    };
    const realtimeHandled = () => handled.filter((h) => !h.replayed);
    const waitFor = async (what: string, done: () => boolean, timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      while (!done()) {
        if (Date.now() > deadline) throw new Error(`replay isolation bench: timed out waiting for ${what}`);
        await sleep(250);
      }
    };

    // 1. Real time alone.
    const baselineEnds = Date.now() + BASELINE_SECONDS * 1000;
    await realtime(() => Date.now() < baselineEnds);
    await waitFor('the baseline handled', () => realtimeHandled().length >= realtimeSent, 120_000);
    const baseline = describe(realtimeHandled().map((h) => h.lagSeconds));
    progress(`real time alone (${realtimeSent} orders at ${REALTIME_RATE}/s): ${baseline.text}`);
    const before = realtimeHandled().length;
    const sentBefore = realtimeSent;

    // 2. Real time during a replay of EVENTS at the ceiling.
    const request = parseReplayRequest(spec, {
      consumer: 'processor-orders',
      from: new Date(from).toISOString(),
      to: new Date(from + EVENTS).toISOString(),
      owner: 'bench',
      intent: 'isolation at full size',
      operator: 'bench',
    });
    let replaying = true;
    const started = Date.now();
    const replay = runReplay({
      pubsub,
      spec,
      source: new WarehouseReplaySource(bigquery, spec, project),
      audit: new ReplayAudit(bigquery, spec, project),
      request,
      inScope: EVENTS,
      onSent: (sent) => {
        if (sent % 10_000 === 0) progress(`replay: ${sent} of ${EVENTS} sent`);
      },
    }).finally(() => (replaying = false));
    await Promise.all([replay, realtime(() => replaying)]);
    const outcome = await replay;
    const sendSeconds = (Date.now() - started) / 1000;
    if (outcome.state !== 'completed') throw new Error(`replay ${outcome.state}: ${outcome.sent} of ${EVENTS}`);
    await waitFor(
      'every replayed and real-time event handled',
      () => handled.filter((h) => h.replayed).length >= EVENTS && realtimeHandled().length >= realtimeSent,
      1_800_000,
    );
    const drainedSeconds = (Date.now() - started) / 1000;
    const during = describe(
      realtimeHandled()
        .slice(before)
        .map((h) => h.lagSeconds),
    );
    progress(
      `real time during the replay (${realtimeSent - sentBefore} orders): ${during.text}; replay sent in ${sendSeconds.toFixed(0)} s, handled in ${drainedSeconds.toFixed(0)} s`,
    );
    return [
      {
        name: `replay isolation (${EVENTS.toLocaleString('en-US')} events at ${CEILING}/s)`,
        baseline: `the real-time lag SLO, ${slo} s`,
        ratio: slo / Math.max(during.max, 0.001),
        goal: 1,
        detail:
          `real-time publish-to-handled during the replay: ${during.text}; alone: ${baseline.text}; ` +
          `replay sent in ${sendSeconds.toFixed(0)} s (${(EVENTS / sendSeconds).toFixed(0)}/s), all handled after ${drainedSeconds.toFixed(0)} s`,
      },
    ];
  } finally {
    await service?.stop();
    await pubsub.close();
    await firestore.terminate();
    await Promise.all([local.stop(), pubsubEmulator.stop(), firestoreEmulator.stop()]);
  }
}
