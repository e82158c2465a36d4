/**
 * Replay isolation at full size (issue 20): while a 50,000-event replay runs at its ceiling to the
 * processor's orders consumer (the real processor service, unary Pull as on the local mesh),
 * real-time orders keep flowing through the consumer's own subscription within its lag SLO from
 * mesh.yaml. The emulator keeps no oldest-unacked metric, so lag is measured where it ends:
 * publish to handled, for every real-time event. Two phases in one run: real time alone (the
 * baseline), then real time during the replay.
 *
 * Two consumers: the processor's analytics consumer (unordered; pull here, push in mesh.yaml: the
 * same private path either way) and its orders consumer (ordered, exactly-once).
 * The ratio is the lag SLO over the worst real-time lag during the replay: >= 1 means the SLO held.
 * BENCH_REPLAY_EVENTS (default 50000), BENCH_REPLAY_ORDERS (default 500) and BENCH_REPLAY_CEILING
 * (default 250/s) size it. BENCH_REPLAY_LOG_LEVEL (default silent) shows the processor's own log on stderr.
 */
import { BigQuery } from '@google-cloud/bigquery';
import { startLocalBigQuery, type LocalBigQuery } from '../shared/bigquery-local';
import { createLogger } from '../shared/consumer';
import { emulatorFirestore, emulatorPubSub, freePort, startFirestoreEmulator, startPubsubEmulator, type RunningEmulator } from '../shared/emulators';
import { applyLocal } from '../shared/local';
import { MeshPublisher } from '../shared/publisher';
import { parseReplayRequest, ReplayAudit, runReplay, WarehouseReplaySource } from '../shared/replay';
import { loadSpec, type ConsumerSpec, type MeshSpec } from '../shared/spec';
import { createProcessorApp } from '../services/processor/app';
import { ensureWarehouse } from '../services/warehouse/tables';
import { recordHandled, storeHistory, type HandledEvent } from '../test/support/replay-history';
import { gigabytes, groupUsage } from '../tools/faults/memory';
import type { BenchResult } from './types';

const EVENTS = Number(process.env.BENCH_REPLAY_EVENTS ?? 50_000);
const CEILING = Number(process.env.BENCH_REPLAY_CEILING ?? 250);
/** Distinct orders (ordering keys) the replayed events belong to. */
const ORDERS = Number(process.env.BENCH_REPLAY_ORDERS ?? 500);
/** Real-time events a second, in both phases. */
const REALTIME_RATE = 20;
const BASELINE_SECONDS = Number(process.env.BENCH_REPLAY_BASELINE_SECONDS ?? 20);
/** After the replay is sent: how long without a handled event counts as stalled. */
const STALL_MS = 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface IsolationCase {
  consumer: string;
  label: string;
  /** Changes to the consumer of mesh.yaml. */
  override?: Partial<ConsumerSpec>;
  /** The i-th event of the history, and of real time. */
  history: (i: number) => { type: string; data: Record<string, unknown> };
  realtime: (n: number) => { type: string; data: Record<string, unknown> };
}

const CASES: IsolationCase[] = [
  {
    consumer: 'processor-analytics',
    label: 'unordered',
    override: { delivery: 'pull' },
    history: (i) => ({ type: 'view', data: { userId: `hu-${i % 5000}`, postId: `hp-${i % 1000}`, durationMs: 1000 } }),
    realtime: (n) => ({ type: 'view', data: { userId: `ru-${n}`, postId: `rp-${n % 100}`, durationMs: 1000 } }),
  },
  {
    // Over ORDERS orders: the emulator keeps a thread per ordering key it has seen (12,131 threads after
    // ~11,700 distinct keys, when publishes slowed to a few a second: a run with one key per event),
    // which GCP does not; a replay of many events per key is what the emulator can carry.
    consumer: 'processor-orders',
    label: `ordered, ${ORDERS} orders`,
    history: (i) => ({ type: 'order.created', data: { orderId: `h-${i % ORDERS}`, customerId: 'c', sequence: 1 } }),
    realtime: (n) => ({ type: 'order.created', data: { orderId: `rt-${n}`, customerId: 'c', sequence: 1 } }),
  },
];

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
  const [pubsubEmulator, firestoreEmulator, local] = await Promise.all([startPubsubEmulator(), startFirestoreEmulator(), startLocalBigQuery()]);
  const results: BenchResult[] = [];
  try {
    const only = process.env.BENCH_REPLAY_CONSUMERS?.split(',');
    for (const c of CASES.filter((x) => !only || only.includes(x.consumer))) {
      progress(`${c.consumer} (${c.label})`);
      results.push(await measure(c, { pubsubEmulator, firestoreEmulator, local }, progress));
    }
  } finally {
    await Promise.all([local.stop(), pubsubEmulator.stop(), firestoreEmulator.stop()]);
  }
  return results;
}

async function measure(
  c: IsolationCase,
  emulators: { pubsubEmulator: RunningEmulator; firestoreEmulator: RunningEmulator; local: LocalBigQuery },
  progress: (line: string) => void,
): Promise<BenchResult> {
  const { pubsubEmulator, firestoreEmulator, local } = emulators;
  const base = loadSpec();
  const project = `bench-isolation-${c.consumer}`;
  const consumer = { ...base.consumers[c.consumer], ...c.override, replayCeilingPerSecond: CEILING };
  const topic = consumer.topic;
  // The consumer's topic and the consumer only, with mesh.yaml's settings and SLO.
  const spec: MeshSpec = {
    ...base,
    project,
    topics: { [topic]: base.topics[topic] },
    consumers: { [c.consumer]: consumer },
    services: { processor: { ...base.services.processor, consumers: [c.consumer] } },
    warehouse: { ...base.warehouse, dataset: `bench_isolation_${topic}_${Date.now()}` },
  };
  const slo = consumer.lagSlo.oldestUnackedSeconds;
  const pubsub = emulatorPubSub(pubsubEmulator.hostPort, project);
  const firestore = emulatorFirestore(firestoreEmulator.hostPort, project);
  const bigquery = new BigQuery({ projectId: project, apiEndpoint: local.url });
  const handled: HandledEvent[] = [];
  let service: Awaited<ReturnType<typeof createProcessorApp>> | undefined;
  try {
    await applyLocal({ pubsub, spec });
    await ensureWarehouse(bigquery, spec, { project });
    const publisher = new MeshPublisher({ pubsub, spec, source: '//bench/replay-isolation' });
    // The history: EVENTS events never applied (a backfill: every one takes effect).
    const from = Date.now() - 86_400_000;
    await storeHistory(bigquery, spec, publisher, { topic, count: EVENTS, from, event: c.history });
    progress(`${EVENTS} events in the warehouse`);
    service = createProcessorApp({
      spec,
      pubsub,
      firestore,
      verifyPushAuth: false,
      log: createLogger({ level: process.env.BENCH_REPLAY_LOG_LEVEL ?? 'silent', destination: process.stderr }),
      decorate: recordHandled(handled),
      pullTransport: 'unary',
    });
    await service.start(await freePort(), '127.0.0.1');

    let realtimeSent = 0;
    let realtimeIds = 0;
    // A real-time publish that fails is a finding, not a crash of the bench: counted and reported.
    const publishFailures: string[] = [];
    const realtime = async (running: () => boolean) => {
      for (let second = 0; running(); second++) {
        const sends = Array.from({ length: REALTIME_RATE }, () => {
          const { type, data } = c.realtime(realtimeIds++);
          return publisher
            .publish(topic, type, data)
            .then(() => void realtimeSent++)
            .catch((error: Error) => void publishFailures.push(error.message));
        });
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
    progress(`real time alone (${realtimeSent} events at ${REALTIME_RATE}/s): ${baseline.text}`);
    const before = realtimeHandled().length;
    const sentBefore = realtimeSent;

    // 2. Real time during a replay of EVENTS at the ceiling.
    const request = parseReplayRequest(spec, {
      consumer: c.consumer,
      from: new Date(from).toISOString(),
      to: new Date(from + EVENTS).toISOString(),
      owner: 'bench',
      intent: 'isolation at full size',
      operator: 'bench',
    });
    let replaying = true;
    const started = Date.now();
    let replaySent = 0;
    const ticker = setInterval(() => {
      const pubsubUsage = groupUsage(pubsubEmulator.process.pid);
      progress(
        `${Math.round((Date.now() - started) / 1000)} s: replay ${replaySent} sent, ${handled.filter((h) => h.replayed).length} handled; ` +
          `real time ${realtimeSent} sent, ${realtimeHandled().length - before} handled, ${publishFailures.length} publishes failed; ` +
          `Pub/Sub emulator ${pubsubUsage ? `${gigabytes(pubsubUsage.rssBytes)}, ${pubsubUsage.threads} threads` : '?'}; ` +
          `${c.consumer} ${JSON.stringify(service?.stats.of(c.consumer))}`,
      );
    }, 10_000);
    const replay = runReplay({
      pubsub,
      spec,
      source: new WarehouseReplaySource(bigquery, spec, project),
      audit: new ReplayAudit(bigquery, spec, project),
      request,
      inScope: EVENTS,
      onSent: (sent) => void (replaySent = sent),
    }).finally(() => (replaying = false));
    await Promise.all([replay, realtime(() => replaying)]);
    const outcome = await replay;
    const sendSeconds = (Date.now() - started) / 1000;
    if (outcome.state !== 'completed') throw new Error(`replay ${outcome.state}: ${outcome.sent} of ${EVENTS}`);
    // Until everything is handled, or nothing more is for STALL_MS: a stall is the finding, reported.
    const drained = () => handled.filter((h) => h.replayed).length >= EVENTS && realtimeHandled().length >= realtimeSent;
    let lastCount = -1;
    let lastChange = Date.now();
    while (!drained() && Date.now() - lastChange < STALL_MS) {
      if (handled.length !== lastCount) [lastCount, lastChange] = [handled.length, Date.now()];
      await sleep(500);
    }
    clearInterval(ticker);
    const stalled = drained()
      ? undefined
      : `STALLED: nothing handled for ${STALL_MS / 1000} s with ${handled.filter((h) => h.replayed).length} of ${EVENTS} replayed and ${realtimeHandled().length - before} of ${realtimeSent - sentBefore} real-time events handled`;
    const drainedSeconds = (Date.now() - started) / 1000;
    const during = describe(
      realtimeHandled()
        .slice(before)
        .map((h) => h.lagSeconds),
    );
    progress(
      `real time during the replay (${realtimeSent - sentBefore} events): ${during.text}; replay sent in ${sendSeconds.toFixed(0)} s, ${stalled ?? `handled in ${drainedSeconds.toFixed(0)} s`}`,
    );
    return {
      name: `replay isolation, ${c.consumer} (${c.label}; ${EVENTS.toLocaleString('en-US')} events at ${CEILING}/s)`,
      baseline: `the real-time lag SLO, ${slo} s`,
      // A real-time publish the emulator failed meanwhile is an event the real-time path lost time on without measure: no ratio.
      ratio: publishFailures.length || stalled ? 0 : slo / Math.max(during.max, 0.001),
      goal: 1,
      detail:
        `real-time publish-to-handled during the replay: ${during.text}; alone: ${baseline.text}; ` +
        `replay sent in ${sendSeconds.toFixed(0)} s (${(EVENTS / sendSeconds).toFixed(0)}/s), ${stalled ?? `all handled after ${drainedSeconds.toFixed(0)} s`}` +
        (publishFailures.length ? `; ${publishFailures.length} real-time publish(es) FAILED, e.g. ${publishFailures[0]}` : ''),
    };
  } finally {
    await service?.stop();
    await pubsub.close();
    await firestore.terminate();
  }
}
