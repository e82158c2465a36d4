/**
 * Consumer runtime throughput, each side against a baseline measured in the same run:
 *
 * - push endpoint: msgs/s through createMeshService's `listener` (read body -> parse the wrapped push
 *   -> envelope + schema decode -> no-op handler -> 204, push auth off) against a bare node:http
 *   server that reads and JSON.parses the same body and answers 204. Same body (a real analytics
 *   envelope from MeshPublisher.prepare(), base64 in the wrapped form: test/support/push-body.ts),
 *   same load generator (raw keep-alive sockets in a worker thread, off the servers' event loop:
 *   bench/workers/load-generator.ts), same concurrency.
 * - processor: msgs/s through the processor's real pipelines (decode -> handler -> one Firestore
 *   commit with the dedup record and the effect) against raw Firestore `create()` of one document
 *   per message, same concurrency, on a Firestore emulator this bench starts on a free port. A third
 *   side, the dedup record and one effect document created in one commit with no code of ours
 *   around it, is the floor of any exactly-once effect: the pipelines are also given against it. A
 *   fourth, the orders path's own batches written by hand (bench/orders-by-hand.ts), tells our code's
 *   cost on that path from the emulator's cost of its writes.
 *
 * The sides take turns (push: three 1-second slices per side and round; processor: one 3-second slice
 * per side and round; who goes first rotates) and each ratio is of the rates over all slices, so load
 * from other processes hits the sides alike.
 * BENCH_CONSUMER_ONLY=push|processor runs one half; BENCH_CONSUMER_ROUNDS, _PUSH_MS, _PROCESSOR_MS
 * (per side and round), _PUSH_CONCURRENCY, _PROCESSOR_CONCURRENCY change the defaults (3, 3000,
 * 3000, 32, 64). On a shared 2-core machine the ratios are noisy: run it twice before believing a
 * small change.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PubSub } from '@google-cloud/pubsub';
import type { Firestore } from '@google-cloud/firestore';
import { createLogger, createMeshService, type DeadLetterSink, type Pipeline } from '../shared/consumer';
import { toPubsubMessage, type IncomingMessage } from '../shared/envelope';
import { emulatorFirestore, emulatorPubSub, EmulatorMissingError, startFirestoreEmulator, type RunningEmulator } from '../shared/emulators';
import { MeshPublisher } from '../shared/publisher';
import { consumerResources, loadSpec, pushPath, type MeshSpec } from '../shared/spec';
import { createProcessorApp } from '../services/processor/app';
import { pushBody, subscriptionPath } from '../test/support/push-body';
import { LoadGenerator, type LoadJob } from './load-generator';
import { runWhenMain } from './standalone';
import { ordersByHandLane } from './orders-by-hand';
import { interleaved, throughput, throughputWithLanes, type Sample } from './turns';
import type { BenchResult } from './types';

process.env.METADATA_SERVER_DETECTION ??= 'none';

const ROUNDS = Number(process.env.BENCH_CONSUMER_ROUNDS ?? 3);
/** Measured time per side and round, split into PUSH_SLICES / PROCESSOR_SLICES turns. */
const PUSH_MS = Number(process.env.BENCH_CONSUMER_PUSH_MS ?? 3000);
const PROCESSOR_MS = Number(process.env.BENCH_CONSUMER_PROCESSOR_MS ?? 3000);
/** Each push slice opens fresh connections and does not count its first WARMUP_MS. */
const WARMUP_MS = 300;
/** Concurrent requests in flight (Pub/Sub pushes many at once to one instance). */
const PUSH_CONCURRENCY = Number(process.env.BENCH_CONSUMER_PUSH_CONCURRENCY ?? 32);
/** Concurrent messages in flight against Firestore, both sides. */
const PROCESSOR_CONCURRENCY = Number(process.env.BENCH_CONSUMER_PROCESSOR_CONCURRENCY ?? 64);

const PUSH_CONSUMER = 'processor-analytics';
const silent = createLogger({ level: 'silent' });
const noDeadLetters: DeadLetterSink = {
  publish: async () => {
    throw new Error('the bench sends no poison');
  },
  flush: async () => undefined,
};

/**
 * Turns per side and round: the sides take turns in short slices, so load from other processes hits
 * them alike. Firestore slices stay longer: with 64 in flight at emulator latencies, a short slice
 * would mostly measure its own start and tail.
 */
const PUSH_SLICES = 3;
const PROCESSOR_SLICES = 1;

/** The consumer's subscription as Pub/Sub names it in a push body and the pipelines take it. */
const subscriptionOf = (spec: MeshSpec, consumer: string) => subscriptionPath(spec.project, consumerResources({ name: consumer }).subscription);

// ---------------------------------------------------------------------------------------------
// Push endpoint.

/** A real analytics event as MeshPublisher would send it, in the wrapped push form Pub/Sub POSTs. */
function analyticsPushBody(spec: MeshSpec): Buffer {
  const publisher = new MeshPublisher({ pubsub: {} as PubSub, spec, source: '//web/frontend' });
  const { event, orderingKey } = publisher.prepare('analytics', 'view', {
    userId: 'u-12345',
    sessionId: 's-8f14e45fceea167a',
    page: '/posts/p-42',
    element: '',
    postId: 'p-42',
    country: 'DE',
    durationMs: 5400,
  });
  return Buffer.from(pushBody(toPubsubMessage(event, orderingKey), { subscription: subscriptionOf(spec, PUSH_CONSUMER), messageId: '11223344556677' }));
}

function listen(listener: http.RequestListener): Promise<http.Server> {
  const server = http.createServer(listener);
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

async function closeServer(server: http.Server | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** The baseline: reads the body, JSON.parses it, answers 204. Nothing else. */
const bareListener: http.RequestListener = (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    JSON.parse(Buffer.concat(chunks).toString('utf8'));
    res.writeHead(204);
    res.end();
  });
};

async function benchPush(spec: MeshSpec, progress: (line: string) => void): Promise<BenchResult> {
  const body = analyticsPushBody(spec);
  // The processor's service as it is wired in production, minus Pub/Sub (the handler is a no-op, no
  // poison is sent, and pull consumers are only opened by start(), which the bench never calls).
  let handled = 0;
  const noop = async () => {
    handled++;
    return 'done' as const;
  };
  const service = createMeshService({
    spec,
    serviceName: 'processor',
    handlers: { 'processor-analytics': noop, 'processor-orders': noop },
    pubsub: {} as PubSub,
    deadLetter: () => noDeadLetters,
    verifyPushAuth: false,
    log: silent,
  });
  const generator = new LoadGenerator();
  let bareServer: http.Server | undefined;
  let meshServer: http.Server | undefined;
  try {
    bareServer = await listen(bareListener);
    meshServer = await listen(service.listener);
    type Side = 'bare' | 'mesh';
    const job = (server: http.Server, path: string): LoadJob => ({
      port: (server.address() as AddressInfo).port,
      path,
      body,
      headers: { 'content-type': 'application/json', 'user-agent': 'APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)' },
      concurrency: PUSH_CONCURRENCY,
      warmupMs: WARMUP_MS,
      durationMs: PUSH_MS / PUSH_SLICES,
    });
    // One slice: a fresh set of connections, WARMUP_MS not counted, then SLICE_MS counted.
    const slice = async (which: Side): Promise<Sample> => {
      const result = await generator.run(which === 'bare' ? job(bareServer!, '/push') : job(meshServer!, pushPath(PUSH_CONSUMER)));
      if (result.bad) throw new Error(`push bench: ${result.bad} ${which} requests failed (first: ${result.firstError})`);
      return { count: result.ok, seconds: result.seconds };
    };
    // JIT warm-up of both servers and the generator.
    await generator.run({ ...job(bareServer, '/push'), warmupMs: 0, durationMs: 1000 });
    await generator.run({ ...job(meshServer, pushPath(PUSH_CONSUMER)), warmupMs: 0, durationMs: 1000 });
    const { total, rounds } = await interleaved(['bare', 'mesh'] as const, ROUNDS, PUSH_SLICES, slice, (round, r) =>
      progress(
        `push round ${round}/${ROUNDS}: bare node:http ${r.bare.toFixed(0)} msg/s, mesh listener ${r.mesh.toFixed(0)} msg/s (ratio ${(r.mesh / r.bare).toFixed(2)})`,
      ),
    );
    if (handled === 0) throw new Error('push bench: the handler never ran');
    return {
      name: 'push endpoint (createMeshService listener)',
      baseline: 'bare node:http reading + JSON.parse of the same wrapped body',
      ratio: total.mesh / total.bare,
      goal: 0.5,
      detail: `${body.length}-byte wrapped analytics push, ${PUSH_CONCURRENCY} keep-alive connections, ${ROUNDS}x${PUSH_MS / 1000}s per side in interleaved slices: mesh ${total.mesh.toFixed(0)} msg/s vs bare ${total.bare.toFixed(0)} msg/s (per-round ratios ${rounds.map((r) => (r.mesh / r.bare).toFixed(2)).join(', ')})`,
    };
  } finally {
    await generator.close();
    await closeServer(bareServer);
    await closeServer(meshServer);
  }
}

// ---------------------------------------------------------------------------------------------
// Processor on the Firestore emulator.

const ANALYTICS_TYPES = ['view', 'view', 'view', 'view', 'view', 'view', 'click', 'click', 'click', 'like.created'];

async function benchProcessor(spec: MeshSpec, progress: (line: string) => void): Promise<BenchResult[]> {
  let emulator: RunningEmulator;
  try {
    emulator = await startFirestoreEmulator();
  } catch (error) {
    if (error instanceof EmulatorMissingError)
      throw new Error(`consumer bench: the processor half needs the Firestore emulator. ${error.message}`, { cause: error });
    throw error;
  }
  let firestore: Firestore | undefined;
  // Never contacted: the bench sends no poison, so nothing is dead-lettered, and no pull consumer is opened.
  const pubsub = emulatorPubSub('127.0.0.1:9', spec.project);
  try {
    const project = `bench-consumer-${Date.now().toString(36)}`;
    firestore = emulatorFirestore(emulator.hostPort, project);
    const app = createProcessorApp({ spec, pubsub, firestore, verifyPushAuth: false, log: silent });
    const analytics: Pipeline = app.pipelines['processor-analytics'];
    const orders: Pipeline = app.pipelines['processor-orders'];
    const analyticsSub = subscriptionOf(spec, 'processor-analytics');
    const ordersSub = subscriptionOf(spec, 'processor-orders');
    const publisher = new MeshPublisher({ pubsub: {} as PubSub, spec, source: '//bench/consumer' });

    let seq = 0;
    const incoming = (topic: string, type: string, data: Record<string, unknown>): IncomingMessage => {
      const { event, orderingKey } = publisher.prepare(topic, type, data);
      const m = toPubsubMessage(event, orderingKey);
      return { data: m.data, attributes: m.attributes, messageId: String(++seq), publishTime: new Date(), orderingKey: m.orderingKey };
    };
    // Realistic analytics traffic: 1000 users, 200 posts, mostly views.
    const analyticsMessage = (i: number) => {
      const type = ANALYTICS_TYPES[i % ANALYTICS_TYPES.length];
      const post = `p-${(i * 7) % 200}`;
      return incoming('analytics', type, {
        userId: `u-${(i * 13) % 1000}`,
        sessionId: `s-${i % 3000}`,
        page: `/posts/${post}`,
        element: type === 'click' ? 'like-button' : '',
        postId: post,
        country: 'DE',
        durationMs: type === 'view' ? 1000 + (i % 9000) : 0,
      });
    };
    // Orders: each lane owns its orders and runs each one created -> paid -> shipped in sequence,
    // as the ordering key + the pull consumer's per-key queue would.
    let orderCounter = 0;
    const runId = Date.now().toString(36);
    const orderLane = () => {
      let order = '';
      let step = 3;
      return (): IncomingMessage => {
        if (step === 3) {
          order = `o-${runId}-${orderCounter++}`;
          step = 0;
        }
        const type = ['order.created', 'order.paid', 'order.shipped'][step++];
        return incoming('orders', type, {
          orderId: order,
          customerId: `c-${orderCounter % 500}`,
          sequence: step,
          amountCents: 2599,
          currency: 'EUR',
          itemCount: 2,
          reason: '',
          carrier: type === 'order.shipped' ? 'dhl' : '',
        });
      };
    };

    const expectDone = (outcome: string) => {
      if (outcome !== 'done') throw new Error(`processor bench: a message ended '${outcome}', not 'done' (is the emulator overloaded?)`);
    };
    const measureAnalytics = (_run: string) =>
      throughput(PROCESSOR_CONCURRENCY, PROCESSOR_MS / PROCESSOR_SLICES, async (i) => expectDone(await analytics(analyticsMessage(i), analyticsSub)));
    // One order sequence per lane, kept across slices, so every slice sees the steady mix of steps.
    const orderLanes = Array.from({ length: PROCESSOR_CONCURRENCY }, () => orderLane());
    const measureOrders = (_run: string) => {
      let lane = 0;
      return throughputWithLanes(PROCESSOR_CONCURRENCY, PROCESSOR_MS / PROCESSOR_SLICES, () => {
        const next = orderLanes[lane++];
        return async () => expectDone(await orders(next(), ordersSub));
      });
    };
    // Baseline: one create() per message, of a document the size of the event (same messages built).
    const measureRaw = (run: string) =>
      throughput(PROCESSOR_CONCURRENCY, PROCESSOR_MS / PROCESSOR_SLICES, async (i) => {
        const m = analyticsMessage(i);
        await firestore!
          .collection('bench-raw')
          .doc(`${run}-${i}`)
          .create({ ...JSON.parse(m.data.toString('utf8')), eventId: m.attributes['ce-id'], type: m.attributes['ce-type'] });
      });

    // The orders path's writes by hand (bench/orders-by-hand.ts), each lane its own orders as above.
    const byHandLanes = Array.from({ length: PROCESSOR_CONCURRENCY }, () => ({ next: orderLane(), write: ordersByHandLane(firestore!, 'processor-orders') }));
    const measureOrdersByHand = (_run: string) => {
      let lane = 0;
      return throughputWithLanes(PROCESSOR_CONCURRENCY, PROCESSOR_MS / PROCESSOR_SLICES, () => {
        const { next, write } = byHandLanes[lane++];
        return () => write(next());
      });
    };
    // The least an exactly-once effect costs: the dedup record and one effect document created in ONE
    // commit (what every processor path writes at the least), to tell the emulator's cost of a second
    // document from our code's.
    const measureFloor = (run: string) =>
      throughput(PROCESSOR_CONCURRENCY, PROCESSOR_MS / PROCESSOR_SLICES, async (i) => {
        const m = analyticsMessage(i);
        const eventId = m.attributes['ce-id'];
        const batch = firestore!.batch();
        batch.create(firestore!.collection('bench-floor-dedup').doc(`${run}-${i}`), {
          consumer: 'bench',
          eventId,
          type: m.attributes['ce-type'],
          messageId: m.messageId,
        });
        batch.create(firestore!.collection('bench-floor').doc(`${run}-${i}`), {
          ...JSON.parse(m.data.toString('utf8')),
          eventId,
          type: m.attributes['ce-type'],
        });
        await batch.commit();
      });

    // Warm-up: the JVM, the gRPC channel, the caches.
    progress('processor warm-up (Firestore emulator JIT) ...');
    await measureRaw('warmup');
    await measureFloor('warmup');
    await measureAnalytics('warmup');
    await measureOrders('warmup');
    await measureOrdersByHand('warmup');

    const sides = { raw: measureRaw, floor: measureFloor, analytics: measureAnalytics, orders: measureOrders, ordersByHand: measureOrdersByHand };
    let slices = 0;
    const { total, rounds } = await interleaved(
      ['raw', 'floor', 'analytics', 'orders', 'ordersByHand'] as const,
      ROUNDS,
      PROCESSOR_SLICES,
      (side) => sides[side](`s${++slices}`),
      (round, r) =>
        progress(
          `processor round ${round}/${ROUNDS}: raw create() ${r.raw.toFixed(0)} msg/s, two creates in one commit ${r.floor.toFixed(0)} msg/s, analytics pipeline ${r.analytics.toFixed(0)} msg/s, orders pipeline ${r.orders.toFixed(0)} msg/s, its writes by hand ${r.ordersByHand.toFixed(0)} msg/s`,
        ),
    );
    const rate = (n: number) => `${n.toFixed(0)} msg/s`;
    const perRound = (side: 'floor' | 'analytics' | 'orders' | 'ordersByHand', of: 'raw' | 'floor' | 'ordersByHand' = 'raw') =>
      rounds.map((r) => (r[side] / r[of]).toFixed(2)).join(', ');
    return [
      {
        name: 'exactly-once floor (two creates in one commit)',
        baseline: 'raw Firestore create() of one document per message',
        ratio: total.floor / total.raw,
        detail: `the dedup record and one effect document in one batch ${rate(total.floor)} vs create() ${rate(total.raw)}, same slices (per-round ratios ${perRound('floor')}): what the emulator itself takes for the second document, with no code of ours on the path`,
      },
      {
        name: 'processor analytics (pipeline -> Firestore)',
        baseline: 'raw Firestore create() of one document per message',
        ratio: total.analytics / total.raw,
        goal: 0.8,
        detail: `${PROCESSOR_CONCURRENCY} in flight on the emulator, ${ROUNDS}x${PROCESSOR_MS / 1000}s per side in interleaved slices: decode + dedup create + user counters (+ like shard) in one batch ${rate(total.analytics)} vs create() ${rate(total.raw)} (per-round ratios ${perRound('analytics')})`,
      },
      {
        name: 'processor orders (pipeline -> Firestore)',
        baseline: 'raw Firestore create() of one document per message',
        ratio: total.orders / total.raw,
        goal: 0.8,
        detail: `${PROCESSOR_CONCURRENCY} orders in flight (created -> paid -> shipped, each in sequence), same slices: dedup create + projection under a precondition in one batch ${rate(total.orders)} vs create() ${rate(total.raw)} (per-round ratios ${perRound('orders')})`,
      },
      {
        name: 'processor orders, its writes by hand (no code of ours)',
        baseline: 'raw Firestore create() of one document per message',
        ratio: total.ordersByHand / total.raw,
        detail: `the orders path's batches written by hand (bench/orders-by-hand.ts) ${rate(total.ordersByHand)} vs create() ${rate(total.raw)} (per-round ratios ${perRound('ordersByHand')}): the emulator's cost of those writes alone`,
      },
      {
        name: 'processor orders vs its writes by hand',
        baseline: 'the same batches written by hand, no consumer runtime or store',
        ratio: total.orders / total.ordersByHand,
        detail: `orders pipeline ${rate(total.orders)} vs its writes by hand ${rate(total.ordersByHand)} (per-round ratios ${perRound('orders', 'ordersByHand')}): our code's cost on the orders path`,
      },
      {
        name: 'processor orders vs the exactly-once floor',
        baseline: 'two creates in one commit (the dedup record and one effect document)',
        ratio: total.orders / total.floor,
        detail: `orders pipeline ${rate(total.orders)} vs two creates in one commit ${rate(total.floor)} (per-round ratios ${perRound('orders', 'floor')}): our code's share of the orders path`,
      },
      {
        name: 'processor analytics vs the exactly-once floor',
        baseline: 'two creates in one commit (the dedup record and one effect document)',
        ratio: total.analytics / total.floor,
        detail: `analytics pipeline ${rate(total.analytics)} vs two creates in one commit ${rate(total.floor)} (per-round ratios ${perRound('analytics', 'floor')})`,
      },
    ];
  } finally {
    await firestore?.terminate().catch(() => undefined);
    await pubsub.close().catch(() => undefined);
    await emulator.stop();
  }
}

export async function run(progress: (line: string) => void = () => undefined): Promise<BenchResult[]> {
  const spec = loadSpec();
  // BENCH_CONSUMER_ONLY=push | processor runs one half.
  const only = process.env.BENCH_CONSUMER_ONLY;
  const results: BenchResult[] = [];
  if (only !== 'processor') results.push(await benchPush(spec, progress));
  if (only !== 'push') results.push(...(await benchProcessor(spec, progress)));
  return results;
}

runWhenMain(module, run);
