/**
 * Dashboard throughput, each against a baseline measured in the same run on the same emulators:
 *  - push: the dashboard's push path (parse, decode, count once in Firestore, 204) against a bare
 *    node:http server parsing the same bodies, both driven by the same HTTP client and concurrency;
 *  - pull: the dashboard pulling with its flow control against the raw client acking with a no-op
 *    handler, both draining the same number of messages from a subscription; and against the raw
 *    client feeding the same aggregator (no consumer runtime of ours), which tells our runtime's cost;
 *  - emulator push: the Pub/Sub emulator's own push (it keeps two requests in flight per
 *    subscription) into the dashboard without Firestore's per-document write limits (the setting on
 *    the emulators) against the same with them (the setting in GCP).
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PubSub } from '@google-cloud/pubsub';
import { createLogger, type PullTransport } from '../shared/consumer';
import { emulatorFirestore, emulatorPubSub, startFirestoreEmulator, startPubsubEmulator } from '../shared/emulators';
import { fromPubsubMessage, toPubsubMessage } from '../shared/envelope';
import { applyLocal } from '../shared/local';
import { MeshPublisher } from '../shared/publisher';
import { loadSpec, parseSpec, type MeshSpec } from '../shared/spec';
import { createDashboardApp, WITHOUT_WRITE_LIMITS } from '../services/dashboard/app';
import { Aggregator, type AggregatorOptions } from '../services/dashboard/aggregator';
import { pushBody } from '../test/support/push-body';
import { cpuSplitOf, describeCpu } from './cpu';
import { startNaiveTransactionConsumer } from './dashboard-naive';
import { withOnlyConsumers } from './spec-cut';
import { runWhenMain } from './standalone';
import type { BenchResult } from './types';

const PUSH_MESSAGES = Number(process.env.BENCH_DASHBOARD_PUSH ?? 8000); // 4000 left the run dominated by warm-up noise (±0.1)
const PULL_MESSAGES = Number(process.env.BENCH_DASHBOARD_PULL ?? 4000);
const CONCURRENCY = Number(process.env.BENCH_DASHBOARD_CONCURRENCY ?? 400);
const EMULATOR_PUSH_MESSAGES = Number(process.env.BENCH_DASHBOARD_EMULATOR_PUSH ?? 200);
/** The naive consumer serialises on one document per minute (about 8/s): a few seconds of it are enough. */
const NAIVE_MESSAGES = Math.max(20, Math.round(PULL_MESSAGES / 100));
const log = createLogger({ level: 'silent' });

/** The repository spec with only the dashboard's consumers, switched to `delivery`. */
function dashboardSpec(delivery: 'push' | 'pull'): MeshSpec {
  const base = loadSpec();
  const text = fs.readFileSync(base.file, 'utf8');
  const spec = parseSpec(text.replace(/(dashboard-(?:analytics|orders):\n\s+topic: \w+\n\s+delivery: )push/g, `$1${delivery}`), base.file);
  return withOnlyConsumers(spec, spec.services.dashboard.consumers);
}

/** Sends every body to url with `concurrency` requests in flight; returns seconds. */
async function drive(url: string, bodies: Buffer[], concurrency: number): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  let next = 0;
  const start = process.hrtime.bigint();
  const worker = async () => {
    while (next < bodies.length) {
      const body = bodies[next++];
      await new Promise<void>((resolve, reject) => {
        const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 204 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
        });
        req.on('error', reject);
        req.end(body);
      });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** What the aggregator did in a run: how many commits, events per commit, deliveries not counted (redeliveries, failures), ALREADY_EXISTS retries. */
function describeCommits(service: ReturnType<typeof createDashboardApp>): string {
  const a = service.aggregator.stats;
  const c = service.stats.of('dashboard-analytics');
  return `${a.commits} commits, ${(a.counted / Math.max(1, a.commits)).toFixed(0)} events each, ${c.received - c.done} deliveries not counted, ${a.conflicts} ALREADY_EXISTS retries`;
}

function pushBodies(publisher: MeshPublisher, n: number): Buffer[] {
  return Array.from({ length: n }, (_, i) => {
    const p = publisher.prepare('analytics', i % 4 ? 'click' : 'like.created', { userId: `u-${i % 500}`, postId: `p-${i % 50}` });
    const m = toPubsubMessage(p.event, p.orderingKey);
    return Buffer.from(pushBody(m, { subscription: 'projects/p/subscriptions/dashboard-analytics', messageId: String(i) }));
  });
}

/** The measurement that took less time. */
function fasterOf<T extends { seconds: number }>(a: T, b: T): T {
  return b.seconds < a.seconds ? b : a;
}

export async function run(progress: (line: string) => void = () => undefined): Promise<BenchResult[]> {
  const [pubsubEmulator, firestoreEmulator] = await Promise.all([startPubsubEmulator(), startFirestoreEmulator()]);
  const clients: { close(): Promise<unknown> }[] = [];
  try {
    // Push.
    const pushSpec = dashboardSpec('push');
    const pushPubsub = emulatorPubSub(pubsubEmulator.hostPort, 'bench-dash-push');
    const pushFirestore = emulatorFirestore(firestoreEmulator.hostPort, 'bench-dash-push');
    clients.push(pushPubsub, { close: () => pushFirestore.terminate() });
    await applyLocal({ pubsub: pushPubsub, spec: pushSpec, serviceUrls: { dashboard: 'http://127.0.0.1:9' } });
    const publisher = new MeshPublisher({ pubsub: pushPubsub, spec: pushSpec, source: '//bench' });
    const bare = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        JSON.parse(Buffer.from(body.message.data, 'base64').toString('utf8'));
        res.writeHead(204);
        res.end();
      });
    });
    await new Promise<void>((r) => bare.listen(0, '127.0.0.1', () => r()));
    const barePort = (bare.address() as AddressInfo).port;
    const dashboard = createDashboardApp({ spec: pushSpec, pubsub: pushPubsub, firestore: pushFirestore, verifyPushAuth: false, log, health: false });
    const dashPort = await dashboard.start(0, '127.0.0.1');
    await drive(`http://127.0.0.1:${barePort}/`, pushBodies(publisher, 500), CONCURRENCY); // warm-up
    await drive(`http://127.0.0.1:${dashPort}/pubsub/push/dashboard-analytics`, pushBodies(publisher, 500), CONCURRENCY);
    const bareSeconds = await drive(`http://127.0.0.1:${barePort}/`, pushBodies(publisher, PUSH_MESSAGES), CONCURRENCY);
    const dashSeconds = await drive(`http://127.0.0.1:${dashPort}/pubsub/push/dashboard-analytics`, pushBodies(publisher, PUSH_MESSAGES), CONCURRENCY);
    await dashboard.stop();
    bare.close();
    progress(`push: dashboard ${(PUSH_MESSAGES / dashSeconds).toFixed(0)} msg/s, bare node:http ${(PUSH_MESSAGES / bareSeconds).toFixed(0)} msg/s`);

    // Pull: raw and dashboard alternate twice; the first pair warms both emulators up and is not counted.
    const pullSpec = dashboardSpec('pull');
    const groups = { pubsub: pubsubEmulator.process.pid, firestore: firestoreEmulator.process.pid };
    const measurePull = async (project: string, consume: (pubsub: PubSub) => Promise<() => Promise<void>>, counted: () => number, messages = PULL_MESSAGES) => {
      const pubsub = emulatorPubSub(pubsubEmulator.hostPort, project);
      clients.push(pubsub);
      await applyLocal({ pubsub, spec: pullSpec });
      const pub = new MeshPublisher({ pubsub, spec: pullSpec, source: '//bench' });
      await Promise.all(Array.from({ length: messages }, (_, i) => pub.publish('analytics', 'click', { userId: `u-${i % 500}` })));
      const { result: seconds, cpu } = await cpuSplitOf(groups, async () => {
        const start = process.hrtime.bigint();
        const stop = await consume(pubsub);
        while (counted() < messages) await new Promise((r) => setTimeout(r, 20));
        const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
        await stop();
        return elapsed;
      });
      return { seconds, cpu };
    };
    /** The raw client on the dashboard's subscription, with the dashboard's flow control. */
    const rawSubscription = (pubsub: PubSub) => {
      const flow = pullSpec.consumers['dashboard-analytics'].flowControl;
      return pubsub.subscription('dashboard-analytics', {
        flowControl: { maxMessages: flow.maxMessages, maxBytes: flow.maxBytes, allowExcessMessages: false },
      });
    };
    const measureRawPull = (round: number) => {
      let rawCount = 0;
      return measurePull(
        `bench-dash-raw-${round}`,
        async (pubsub) => {
          const sub = rawSubscription(pubsub);
          sub.on('message', (m) => {
            m.ack();
            rawCount++;
          });
          return async () => void (await sub.close());
        },
        () => rawCount,
      );
    };
    const pullFirestore = emulatorFirestore(firestoreEmulator.hostPort, 'bench-dash-pull');
    clients.push({ close: () => pullFirestore.terminate() });
    /** The dashboard pulling with `transport`: StreamingPull (GCP's, the line with the goal) or unary Pull (the local mesh's). */
    const measureDashboardPull = (round: number, transport: PullTransport = 'streaming') => {
      let service: ReturnType<typeof createDashboardApp> | undefined;
      return measurePull(
        `bench-dash-pull-${transport}-${round}`,
        async (pubsub) => {
          service = createDashboardApp({
            spec: pullSpec,
            pubsub,
            firestore: pullFirestore,
            verifyPushAuth: false,
            log,
            health: false,
            pullTransport: transport,
          });
          await service.start(0, '127.0.0.1');
          return () => service!.stop();
        },
        () => (service ? service.stats.of('dashboard-analytics').done : 0),
      ).then((measured) => ({ ...measured, commits: describeCommits(service!) }));
    };
    /** The aggregator alone, fed contributions as fast as the same flow window lets it: no Pub/Sub at all. */
    const measureAggregatorAlone = async () => {
      const aggregator = new Aggregator(pullFirestore, {});
      const window = pullSpec.consumers['dashboard-analytics'].flowControl.maxMessages;
      const measured = await cpuSplitOf(groups, async () => {
        const start = process.hrtime.bigint();
        let inFlight = 0;
        let freed: (() => void) | undefined;
        const all: Promise<unknown>[] = [];
        for (let i = 0; i < PULL_MESSAGES; i++) {
          while (inFlight >= window) await new Promise<void>((r) => (freed = r));
          inFlight++;
          const added = aggregator.add({
            consumer: 'dashboard-analytics',
            eventId: randomUUID(),
            topic: 'analytics',
            type: 'click',
            timeMs: Date.now(),
            userId: `u-${i % 500}`,
          });
          all.push(
            added.finally(() => {
              inFlight--;
              freed?.();
            }),
          );
        }
        await Promise.all(all);
        return Number(process.hrtime.bigint() - start) / 1e9;
      });
      await aggregator.close();
      return { seconds: measured.result, cpu: measured.cpu };
    };
    /**
     * The raw client feeding the aggregator, each message acked once its contribution is committed:
     * the dashboard's pull path with no consumer runtime of ours (decode, checks, stats, ordering,
     * dead-letters), so the dashboard against it is our runtime's cost on that path.
     */
    const measureRawIntoAggregator = () => {
      const aggregator = new Aggregator(pullFirestore, {});
      let done = 0;
      return measurePull(
        `bench-dash-raw-aggregator-${randomUUID()}`,
        async (pubsub) => {
          const sub = rawSubscription(pubsub);
          sub.on('message', (m) => {
            const event = fromPubsubMessage(m);
            const data = event.data as { userId?: string };
            void aggregator
              .add({
                consumer: 'dashboard-analytics',
                eventId: event.id,
                topic: 'analytics',
                type: event.type,
                timeMs: Date.parse(event.time),
                userId: data.userId,
              })
              .then(
                () => {
                  m.ack();
                  done++;
                },
                () => m.nack(),
              );
          });
          return async () => {
            await sub.close();
            await aggregator.close();
          };
        },
        () => done,
      );
    };
    /** One Firestore transaction per event, acked after it: what the aggregator's batching is for. */
    const measureNaivePull = () => {
      let naive: ReturnType<typeof startNaiveTransactionConsumer> | undefined;
      return measurePull(
        'bench-dash-naive',
        async (pubsub) => {
          naive = startNaiveTransactionConsumer(pubsub, pullFirestore, 'dashboard-analytics', `naive-${randomUUID()}`);
          return () => naive!.stop();
        },
        () => naive?.count() ?? 0,
        NAIVE_MESSAGES,
      );
    };
    await measureRawPull(0);
    await measureDashboardPull(0);
    const raw = await measureRawPull(1);
    const mesh = await measureDashboardPull(1);
    // The dashboard against the raw client feeding the aggregator: A B B A, the faster of each side's
    // two. The Firestore emulator slows with every write it has seen (above), so a side always measured
    // later would lose by its place.
    const rawIntoAggregator = fasterOf(await measureRawIntoAggregator(), await measureRawIntoAggregator());
    const meshPaired = fasterOf(mesh, await measureDashboardPull(2));
    const meshUnary = await measureDashboardPull(1, 'unary');
    const alone = await measureAggregatorAlone();
    const naive = await measureNaivePull();
    const naiveRate = NAIVE_MESSAGES / naive.seconds;
    const rawSeconds = raw.seconds;
    const meshSeconds = mesh.seconds;
    progress(`pull: dashboard ${(PULL_MESSAGES / meshSeconds).toFixed(0)} msg/s (${describeCpu(mesh.cpu, PULL_MESSAGES)}; ${mesh.commits})`);
    progress(
      `pull: dashboard with unary Pull (the local transport) ${(PULL_MESSAGES / meshUnary.seconds).toFixed(0)} msg/s (${describeCpu(meshUnary.cpu, PULL_MESSAGES)}; ${meshUnary.commits})`,
    );
    progress(`pull: aggregator alone ${(PULL_MESSAGES / alone.seconds).toFixed(0)} events/s (${describeCpu(alone.cpu, PULL_MESSAGES)})`);
    progress(`pull: raw client ${(PULL_MESSAGES / rawSeconds).toFixed(0)} msg/s (${describeCpu(raw.cpu, PULL_MESSAGES)})`);
    progress(
      `pull: raw client feeding the aggregator ${(PULL_MESSAGES / rawIntoAggregator.seconds).toFixed(0)} msg/s (${describeCpu(rawIntoAggregator.cpu, PULL_MESSAGES)})`,
    );
    progress(`pull: naive consumer, one transaction per event ${naiveRate.toFixed(0)} msg/s (${describeCpu(naive.cpu, NAIVE_MESSAGES)})`);

    // The emulator's own push.
    const measureEmulatorPush = async (project: string, aggregator: AggregatorOptions) => {
      const pubsub = emulatorPubSub(pubsubEmulator.hostPort, project);
      const firestore = emulatorFirestore(firestoreEmulator.hostPort, project);
      clients.push(pubsub, { close: () => firestore.terminate() });
      const service = createDashboardApp({ spec: pushSpec, pubsub, firestore, verifyPushAuth: false, log, health: false, aggregator });
      const port = await service.start(0, '127.0.0.1');
      await applyLocal({ pubsub, spec: pushSpec, serviceUrls: { dashboard: `http://127.0.0.1:${port}` } });
      const pub = new MeshPublisher({ pubsub, spec: pushSpec, source: '//bench' });
      const start = process.hrtime.bigint();
      await Promise.all(Array.from({ length: EMULATOR_PUSH_MESSAGES }, (_, i) => pub.publish('analytics', 'click', { userId: `u-${i % 50}` })));
      while (service.stats.of('dashboard-analytics').done < EMULATOR_PUSH_MESSAGES) await new Promise((r) => setTimeout(r, 20));
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      await service.stop();
      return seconds;
    };
    const limitedSeconds = await measureEmulatorPush('bench-dash-emu-limited', {});
    const unlimitedSeconds = await measureEmulatorPush('bench-dash-emu-unlimited', WITHOUT_WRITE_LIMITS);
    progress(
      `emulator push: without write limits ${(EMULATOR_PUSH_MESSAGES / unlimitedSeconds).toFixed(0)} msg/s, with ${(EMULATOR_PUSH_MESSAGES / limitedSeconds).toFixed(0)} msg/s`,
    );
    return [
      {
        name: 'dashboard push',
        baseline: 'bare node:http server parsing the same push bodies',
        ratio: bareSeconds / dashSeconds,
        goal: 0.5,
        detail: `${PUSH_MESSAGES} pushes, ${CONCURRENCY} in flight: dashboard ${(PUSH_MESSAGES / dashSeconds).toFixed(0)} msg/s (counted once in Firestore) vs bare ${(PUSH_MESSAGES / bareSeconds).toFixed(0)} msg/s`,
      },
      {
        name: 'dashboard pull',
        baseline: 'raw @google-cloud/pubsub subscriber, no-op handler, same flow control',
        ratio: rawSeconds / meshSeconds,
        goal: 0.8,
        detail: `${PULL_MESSAGES} messages (after a warm-up pair): dashboard ${(PULL_MESSAGES / meshSeconds).toFixed(0)} msg/s vs raw ${(PULL_MESSAGES / rawSeconds).toFixed(0)} msg/s; ${describeCpu(mesh.cpu, PULL_MESSAGES)} vs ${describeCpu(raw.cpu, PULL_MESSAGES)}`,
      },
      {
        name: 'dashboard pull, unary',
        baseline: 'the raw client of the pull line',
        ratio: rawSeconds / meshUnary.seconds,
        detail: `the dashboard as \`npm start\` runs it, pulling with unary Pull for exactly its free slots (the emulator's StreamingPull ignores flow control, and each message out costs it CPU): ${(PULL_MESSAGES / meshUnary.seconds).toFixed(0)} msg/s; ${describeCpu(meshUnary.cpu, PULL_MESSAGES)}`,
      },
      {
        name: 'dashboard aggregator alone',
        baseline: 'the raw client of the pull line',
        ratio: rawSeconds / alone.seconds,
        detail: `the pull line's ceiling here: ${PULL_MESSAGES} events straight into the aggregator, no Pub/Sub: ${(PULL_MESSAGES / alone.seconds).toFixed(0)} events/s; ${describeCpu(alone.cpu, PULL_MESSAGES)}`,
      },
      {
        name: 'dashboard pull vs the aggregator alone',
        baseline: 'the aggregator alone (its own ceiling: same Firestore, same flow window, no Pub/Sub)',
        ratio: alone.seconds / meshSeconds,
        goal: 0.85,
        detail: `dashboard ${(PULL_MESSAGES / meshSeconds).toFixed(0)} msg/s vs aggregator alone ${(PULL_MESSAGES / alone.seconds).toFixed(0)} events/s`,
      },
      {
        name: 'dashboard pull vs the raw client feeding the aggregator',
        baseline: 'the raw client, same flow control, each message into the aggregator and acked after its commit (no consumer runtime of ours)',
        ratio: rawIntoAggregator.seconds / meshPaired.seconds,
        detail: `dashboard ${(PULL_MESSAGES / meshPaired.seconds).toFixed(0)} msg/s vs raw client + aggregator ${(PULL_MESSAGES / rawIntoAggregator.seconds).toFixed(0)} msg/s, the faster of two each (dashboard, raw, raw, dashboard): our consumer runtime's cost on the pull path; ${describeCpu(meshPaired.cpu, PULL_MESSAGES)} vs ${describeCpu(rawIntoAggregator.cpu, PULL_MESSAGES)}`,
      },
      {
        name: 'dashboard pull vs a naive consumer',
        baseline: 'raw client, same flow control, one Firestore transaction per event (bench/dashboard-naive.ts)',
        ratio: PULL_MESSAGES / meshSeconds / naiveRate,
        goal: 3,
        detail: `dashboard ${(PULL_MESSAGES / meshSeconds).toFixed(0)} msg/s vs naive ${naiveRate.toFixed(0)} msg/s (${NAIVE_MESSAGES} messages)`,
      },
      {
        name: 'dashboard emulator push',
        baseline: "the same with Firestore's per-document write limits (the GCP setting)",
        ratio: limitedSeconds / unlimitedSeconds,
        detail: `${EMULATOR_PUSH_MESSAGES} events pushed by the emulator (2 in flight): without limits (the emulator setting) ${(EMULATOR_PUSH_MESSAGES / unlimitedSeconds).toFixed(0)} msg/s vs with ${(EMULATOR_PUSH_MESSAGES / limitedSeconds).toFixed(0)} msg/s`,
      },
    ];
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await Promise.all([pubsubEmulator.stop(), firestoreEmulator.stop()]);
  }
}

runWhenMain(module, run);
