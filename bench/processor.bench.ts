/**
 * The processor's throughput on the Firestore emulator, each side against a baseline measured in
 * the same run: msgs/s through the processor's real pipelines (decode -> handler -> one Firestore
 * commit with the dedup record and the effect, one commit for the events in flight)
 * against raw Firestore `create()` of one document per message, same concurrency, on a Firestore
 * emulator this bench starts on a free port. More sides, to tell our code's cost from the emulator's:
 *
 * - the floor of any exactly-once effect: the dedup record and one effect document created in one
 *   commit with no code of ours around it (the pipelines are also given against it);
 * - each pipeline committing each event alone (the group commit's gain, and like for like with its
 *   writes by hand);
 * - each path's own batches written by hand (bench/analytics-by-hand.ts, bench/orders-by-hand.ts):
 *   the same documents, fields, transforms and preconditions, with no consumer runtime or store.
 *
 * The sides take turns (one 3-second slice per side and round; who goes first rotates), and each
 * ratio is of the rates over all slices, so load from other processes hits the sides alike.
 * BENCH_PROCESSOR_ROUNDS, _MS (per side and round) and _CONCURRENCY change the defaults (3, 3000,
 * 64). On a shared 2-core machine the ratios are noisy: run it twice before believing a small change.
 */
import type { PubSub } from '@google-cloud/pubsub';
import type { Firestore } from '@google-cloud/firestore';
import { createLogger, type Pipeline } from '../shared/consumer';
import { toPubsubMessage, type IncomingMessage } from '../shared/envelope';
import { emulatorFirestore, emulatorPubSub, EmulatorMissingError, startFirestoreEmulator, type RunningEmulator } from '../shared/emulators';
import { MeshPublisher } from '../shared/publisher';
import { consumerResources, loadSpec, type MeshSpec } from '../shared/spec';
import { createProcessorApp } from '../services/processor/app';
import { subscriptionPath } from '../test/support/push-body';
import { analyticsByHand } from './analytics-by-hand';
import { ordersByHandLane } from './orders-by-hand';
import { runWhenMain } from './standalone';
import { interleaved, throughput, throughputWithLanes } from './turns';
import type { BenchResult } from './types';

process.env.METADATA_SERVER_DETECTION ??= 'none';

const ROUNDS = Number(process.env.BENCH_PROCESSOR_ROUNDS ?? 3);
/** Measured time per side and round. */
const PROCESSOR_MS = Number(process.env.BENCH_PROCESSOR_MS ?? 3000);
/** Concurrent messages in flight against Firestore, every side. */
const PROCESSOR_CONCURRENCY = Number(process.env.BENCH_PROCESSOR_CONCURRENCY ?? 64);
/** Turns per side and round: with 64 in flight at emulator latencies, a short slice would mostly measure its own start and tail. */
const PROCESSOR_SLICES = 1;

const silent = createLogger({ level: 'silent' });

/** The consumer's subscription as the pipelines take it. */
const subscriptionOf = (spec: MeshSpec, consumer: string) => subscriptionPath(spec.project, consumerResources({ name: consumer }).subscription);

const ANALYTICS_TYPES = ['view', 'view', 'view', 'view', 'view', 'view', 'click', 'click', 'click', 'like.created'];

export async function run(progress: (line: string) => void = () => undefined): Promise<BenchResult[]> {
  const spec = loadSpec();
  let emulator: RunningEmulator;
  try {
    emulator = await startFirestoreEmulator();
  } catch (error) {
    if (error instanceof EmulatorMissingError) throw new Error(`processor bench: needs the Firestore emulator. ${error.message}`, { cause: error });
    throw error;
  }
  let firestore: Firestore | undefined;
  // Never contacted: the bench sends no poison, so nothing is dead-lettered, and no pull consumer is opened.
  const pubsub = emulatorPubSub('127.0.0.1:9', spec.project);
  try {
    const project = `bench-processor-${Date.now().toString(36)}`;
    firestore = emulatorFirestore(emulator.hostPort, project);
    const app = createProcessorApp({ spec, pubsub, firestore, verifyPushAuth: false, log: silent });
    const analytics: Pipeline = app.pipelines['processor-analytics'];
    // The same pipelines committing each event alone (no group commit): like for like with the writes
    // by hand, so those lines keep telling our code's cost, and against them the group commit's gain.
    const alone = createProcessorApp({
      spec,
      pubsub,
      firestore,
      verifyPushAuth: false,
      log: silent,
      store: {
        analyticsCommits: { maxEvents: 1, maxCommitsInFlight: PROCESSOR_CONCURRENCY },
        orderCommits: { maxEvents: 1, maxCommitsInFlight: PROCESSOR_CONCURRENCY },
      },
    });
    const analyticsAlone: Pipeline = alone.pipelines['processor-analytics'];
    const ordersAlone: Pipeline = alone.pipelines['processor-orders'];
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
    const measureAnalyticsAlone = (_run: string) =>
      throughput(PROCESSOR_CONCURRENCY, PROCESSOR_MS / PROCESSOR_SLICES, async (i) => expectDone(await analyticsAlone(analyticsMessage(i), analyticsSub)));
    // One order sequence per lane, kept across slices, so every slice sees the steady mix of steps.
    // Each pipeline has lanes of its own: its store caches the projections it wrote.
    const measureOrdersThrough = (pipeline: Pipeline) => {
      const lanes = Array.from({ length: PROCESSOR_CONCURRENCY }, () => orderLane());
      return (_run: string) => {
        let lane = 0;
        return throughputWithLanes(PROCESSOR_CONCURRENCY, PROCESSOR_MS / PROCESSOR_SLICES, () => {
          const next = lanes[lane++];
          return async () => expectDone(await pipeline(next(), ordersSub));
        });
      };
    };
    const measureOrders = measureOrdersThrough(orders);
    const measureOrdersAlone = measureOrdersThrough(ordersAlone);
    // Baseline: one create() per message, of a document the size of the event (same messages built).
    const measureRaw = (run: string) =>
      throughput(PROCESSOR_CONCURRENCY, PROCESSOR_MS / PROCESSOR_SLICES, async (i) => {
        const m = analyticsMessage(i);
        await firestore!
          .collection('bench-raw')
          .doc(`${run}-${i}`)
          .create({ ...JSON.parse(m.data.toString('utf8')), eventId: m.attributes['ce-id'], type: m.attributes['ce-type'] });
      });

    // The analytics path's writes by hand (bench/analytics-by-hand.ts), same messages.
    const writeAnalyticsByHand = analyticsByHand(firestore, 'processor-analytics');
    const measureAnalyticsByHand = (_run: string) =>
      throughput(PROCESSOR_CONCURRENCY, PROCESSOR_MS / PROCESSOR_SLICES, (i) => writeAnalyticsByHand(analyticsMessage(i)));
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

    const sides = {
      raw: measureRaw,
      floor: measureFloor,
      analytics: measureAnalytics,
      analyticsAlone: measureAnalyticsAlone,
      analyticsByHand: measureAnalyticsByHand,
      orders: measureOrders,
      ordersAlone: measureOrdersAlone,
      ordersByHand: measureOrdersByHand,
    };
    type Side = keyof typeof sides;

    // Warm-up: the JVM, the gRPC channel, the caches.
    progress('processor warm-up (Firestore emulator JIT) ...');
    for (const measure of Object.values(sides)) await measure('warmup');

    let slices = 0;
    const { total, rounds } = await interleaved(
      Object.keys(sides) as Side[],
      ROUNDS,
      PROCESSOR_SLICES,
      (side) => sides[side](`s${++slices}`),
      (round, r) =>
        progress(
          `processor round ${round}/${ROUNDS}: raw create() ${r.raw.toFixed(0)} msg/s, two creates in one commit ${r.floor.toFixed(0)} msg/s, analytics pipeline ${r.analytics.toFixed(0)} msg/s, one commit per event ${r.analyticsAlone.toFixed(0)} msg/s, its writes by hand ${r.analyticsByHand.toFixed(0)} msg/s, orders pipeline ${r.orders.toFixed(0)} msg/s, one commit per event ${r.ordersAlone.toFixed(0)} msg/s, its writes by hand ${r.ordersByHand.toFixed(0)} msg/s`,
        ),
    );
    const rate = (n: number) => `${n.toFixed(0)} msg/s`;
    const groupsOf = (stats: { commits: number; events: number; largestGroup: number }) =>
      `${(stats.events / Math.max(1, stats.commits)).toFixed(1)} events per commit over the run, at most ${stats.largestGroup}`;
    const groups = groupsOf(app.store.analyticsCommits.stats);
    const orderGroups = groupsOf(app.store.orderCommits.stats);
    const perRound = (side: Side, of: Side = 'raw') => rounds.map((r) => (r[side] / r[of]).toFixed(2)).join(', ');
    /** A path's writes by hand against create(), and the path's pipeline against them (our code's cost). */
    const byHandLines = (path: 'analytics' | 'orders', pipeline: Side, byHand: Side, file: string): BenchResult[] => [
      {
        name: `processor ${path}, its writes by hand (no code of ours)`,
        baseline: 'raw Firestore create() of one document per message',
        ratio: total[byHand] / total.raw,
        detail: `the ${path} path's batches written by hand (${file}) ${rate(total[byHand])} vs create() ${rate(total.raw)} (per-round ratios ${perRound(byHand)}): the emulator's cost of those writes alone`,
      },
      {
        name: `processor ${path} vs its writes by hand`,
        baseline: 'the same batches written by hand, no consumer runtime or store',
        ratio: total[pipeline] / total[byHand],
        detail: `${path} pipeline${pipeline === path ? '' : ', one commit per event as by hand,'} ${rate(total[pipeline])} vs its writes by hand ${rate(total[byHand])} (per-round ratios ${perRound(pipeline, byHand)}): our code's cost on the ${path} path`,
      },
    ];
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
        detail: `${PROCESSOR_CONCURRENCY} in flight on the emulator, ${ROUNDS}x${PROCESSOR_MS / 1000}s per side in interleaved slices: decode + dedup create + user counters (+ like shard), the events in flight in one commit (${groups}) ${rate(total.analytics)} vs create() ${rate(total.raw)} (per-round ratios ${perRound('analytics')})`,
      },
      {
        name: 'processor analytics, group commit vs one commit per event',
        baseline: 'the same pipeline committing each event alone',
        ratio: total.analytics / total.analyticsAlone,
        detail: `analytics pipeline ${rate(total.analytics)} vs the same with one commit per event ${rate(total.analyticsAlone)} (per-round ratios ${perRound('analytics', 'analyticsAlone')}): what grouping the events in flight gains (services/processor/analytics-commits.ts)`,
      },
      ...byHandLines('analytics', 'analyticsAlone', 'analyticsByHand', 'bench/analytics-by-hand.ts'),
      {
        name: 'processor orders (pipeline -> Firestore)',
        baseline: 'raw Firestore create() of one document per message',
        ratio: total.orders / total.raw,
        goal: 0.8,
        detail: `${PROCESSOR_CONCURRENCY} orders in flight (created -> paid -> shipped, each in sequence), same slices: dedup create + projection under a precondition, the orders in flight in one commit (${orderGroups}) ${rate(total.orders)} vs create() ${rate(total.raw)} (per-round ratios ${perRound('orders')})`,
      },
      {
        name: 'processor orders, group commit vs one commit per event',
        baseline: 'the same pipeline committing each event alone',
        ratio: total.orders / total.ordersAlone,
        detail: `orders pipeline ${rate(total.orders)} vs the same with one commit per event ${rate(total.ordersAlone)} (per-round ratios ${perRound('orders', 'ordersAlone')}): what grouping the orders in flight gains (services/processor/order-commits.ts)`,
      },
      ...byHandLines('orders', 'ordersAlone', 'ordersByHand', 'bench/orders-by-hand.ts'),
      {
        name: 'processor orders vs the exactly-once floor',
        baseline: 'two creates in one commit (the dedup record and one effect document)',
        ratio: total.orders / total.floor,
        detail: `orders pipeline ${rate(total.orders)} vs two creates in one commit ${rate(total.floor)} (per-round ratios ${perRound('orders', 'floor')}): the grouped commits against the least one event's own commit costs`,
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

runWhenMain(module, run);
