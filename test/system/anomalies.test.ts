/**
 * Order anomalies counted exactly once per event, on the real Pub/Sub and Firestore emulators: the
 * processor pulls an impossible transition (shipped before paid) and a sequence gap, one of them is
 * redelivered after its commit (the ack "lost") and the other republished with the same id, and the
 * shared reader (shared/firestore/anomalies.ts) still counts one of each, with the latest offending
 * orders newest first. The /stats section and the structured log lines say the same.
 */
import { Writable } from 'node:stream';
import type { Firestore } from '@google-cloud/firestore';
import type { PubSub } from '@google-cloud/pubsub';
import { createLogger, TransientError, type DecodedEvent, type Handlers } from '../../shared/consumer';
import { freePort } from '../../shared/emulators';
import { anomalyPaths, readAnomalies } from '../../shared/firestore';
import { applyLocal } from '../../shared/local';
import { MeshPublisher } from '../../shared/publisher';
import { createProcessorApp, type ProcessorApp } from '../../services/processor/app';
import type { OrderEventData } from '../../services/processor/orders';
import { ProcessorStore } from '../../services/processor/store';
import { clearForRebuild } from '../../shared/replay/rebuild';
import { eventually, testFirestore, testPubSub, uniqueProject } from '../support/emulators';
import { specFromText } from '../support/specs';

const spec = specFromText(`
version: 1
project: anomalies-system
topics:
  orders:
    schema: { dir: schemas/orders, revisions: [v1, v2] }
    eventTypes: [order.created, order.paid, order.shipped, order.cancelled]
    orderingKey: orderId
services:
  processor: { localPort: 18092 }
consumers:
  processor-orders:
    topic: orders
    delivery: pull
    service: processor
    ordering: true
    exactlyOnce: true
    ackDeadline: 30s
    retry: { minBackoff: 0s, maxBackoff: 1s }
    deadLetter: { maxAttempts: 5 }
warehouse: { dataset: test }
`);

const project = uniqueProject('anomalies');
let pubsub: PubSub;
let firestore: Firestore;
let service: ProcessorApp;
let publisher: MeshPublisher;
let port: number;
const logLines: Record<string, unknown>[] = [];
/** Handler results per event id, in order. */
const results = new Map<string, string[]>();
/** Event ids whose first successful commit is followed by a failure: the ack is lost, Pub/Sub redelivers. */
const loseAckOnce = new Set<string>();

function recording(handlers: Handlers): Handlers {
  return Object.fromEntries(
    Object.entries(handlers).map(([name, handler]) => [
      name,
      async (decoded: DecodedEvent, ctx: Parameters<typeof handler>[1]) => {
        const result = await handler(decoded, ctx);
        results.set(decoded.event.id, [...(results.get(decoded.event.id) ?? []), result]);
        if (loseAckOnce.delete(decoded.event.id)) throw new TransientError(`ack of ${decoded.event.id} lost after its commit`);
        return result;
      },
    ]),
  );
}

beforeAll(async () => {
  pubsub = testPubSub(project);
  firestore = testFirestore(project);
  port = await freePort();
  await applyLocal({ pubsub, spec, serviceUrls: { processor: `http://127.0.0.1:${port}` } });
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  service = createProcessorApp({
    spec,
    pubsub,
    firestore,
    verifyPushAuth: false,
    log: createLogger({ level: 'warn', destination }),
    decorate: recording,
    pullTransport: 'unary',
  });
  await service.start(port, '127.0.0.1');
  publisher = new MeshPublisher({ pubsub, spec, source: '//anomalies-test' });
});

afterAll(async () => {
  await service?.stop();
  await pubsub?.close();
  await firestore?.terminate();
});

const resultsOf = (id: string) => results.get(id) ?? [];
const order = (orderId: string, sequence: number) => ({ orderId, customerId: 'c-anomaly', sequence, amountCents: 1000 });

it('counts an impossible transition and a gap once each, through a redelivery and a republish', async () => {
  // Order a: shipped before paid. Its commit succeeds, the ack is "lost", Pub/Sub delivers it again.
  await publisher.publish('orders', 'order.created', order('a-order', 1));
  const shipped = publisher.prepare('orders', 'order.shipped', order('a-order', 2)).event;
  loseAckOnce.add(shipped.id);
  await publisher.publish('orders', shipped.type, shipped.data, { id: shipped.id });
  await eventually(() => (resultsOf(shipped.id).length >= 2 ? true : undefined), 30000, 'the redelivery of the shipped event');
  expect(resultsOf(shipped.id)).toEqual(['done', 'duplicate']);

  // Order b, after a's anomaly is in: paid with sequence 3 after 1 (a gap), republished with the same id.
  await publisher.publish('orders', 'order.created', order('b-order', 1));
  const paid = publisher.prepare('orders', 'order.paid', order('b-order', 3)).event;
  await publisher.publish('orders', paid.type, paid.data, { id: paid.id });
  await eventually(() => (resultsOf(paid.id).length ? true : undefined), 20000, 'the gap');
  await publisher.publish('orders', paid.type, paid.data, { id: paid.id });
  // Order c: a clean lifecycle, no anomaly.
  for (const [i, type] of ['order.created', 'order.paid', 'order.shipped'].entries()) await publisher.publish('orders', type, order('c-order', i + 1));
  await eventually(() => (resultsOf(paid.id).length >= 2 ? true : undefined), 20000, 'the republished gap');
  expect(resultsOf(paid.id)).toEqual(['done', 'duplicate']);
  await eventually(async () => ((await service.store.readOrder('c-order'))?.state === 'shipped' ? true : undefined), 20000, 'order c');

  const report = await readAnomalies(firestore, ['orders']);
  expect(report).toMatchObject({ since: null, total: 2, counts: { orders: { 'invalid-transition': 1, gap: 1 } } });
  expect(report.latest.map((e) => [e.orderId, e.kind, e.type, e.reason])).toEqual([
    ['b-order', 'gap', 'order.paid', 'sequence 3 after 1: 1 event(s) missing'],
    ['a-order', 'invalid-transition', 'order.shipped', 'shipped before paid'],
  ]);
  expect(report.latest.map((e) => e.eventId)).toEqual([paid.id, shipped.id]);
  expect(Date.parse(report.latest[0].detectedAt)).toBeGreaterThanOrEqual(Date.parse(report.latest[1].detectedAt));
  expect((await readAnomalies(firestore, ['orders'], { latest: 1 })).latest.map((e) => e.orderId)).toEqual(['b-order']);
  // Counted by detection time: from between the two anomalies on, only b's; from later on, nothing.
  const between = Date.parse(report.latest[1].detectedAt) + 1;
  expect(between).toBeLessThanOrEqual(Date.parse(report.latest[0].detectedAt)); // b waited for a's redelivery
  expect((await readAnomalies(firestore, ['orders'], { since: between })).counts).toEqual({ orders: { gap: 1 } });
  const later = Date.now() + 3600_000;
  expect(await readAnomalies(firestore, ['orders'], { since: later })).toEqual({
    since: new Date(later).toISOString(),
    total: 0,
    counts: {},
    latest: [],
  });
  // The per-order records are still there too (GET /orders/<id> on the processor).
  expect((await service.store.readAnomalies('a-order')).map((a) => a.kind)).toEqual(['invalid-transition']);

  // This instance's /stats: the same, once each.
  const stats = (await (await fetch(`http://127.0.0.1:${port}/stats`)).json()) as { sections: { anomalies: unknown } };
  expect(stats.sections.anomalies).toEqual({ orders: { 'invalid-transition': 1, gap: 1 } });

  // One structured line per anomaly committed, none for the redelivery or the republish.
  expect(logLines.filter((l) => l.anomaly).map((l) => [l.severity, l.anomaly])).toEqual([
    ['WARNING', { topic: 'orders', kind: 'invalid-transition', orderId: 'a-order' }],
    ['WARNING', { topic: 'orders', kind: 'gap', orderId: 'b-order' }],
  ]);
}, 90000);

it('counts once with transaction writes too (the other commit path of the store)', async () => {
  const store = new ProcessorStore(firestore, { orderWrites: 'transaction' });
  const decoded = (type: string, sequence: number): DecodedEvent<OrderEventData> => {
    const { event } = publisher.prepare('orders', type, order('t-order', sequence));
    return { event: event as unknown as DecodedEvent<OrderEventData>['event'], readAs: 'v2', messageId: `m-${event.id}`, attributes: {} };
  };
  // Another topic name, so this test's counts stand apart from the first one's.
  expect((await store.applyOrderEvent('processor-orders', decoded('order.created', 1), 'returns')).result).toBe('done');
  // Sequence 1 again: stale. Applied twice, as a redelivery would.
  const stale = decoded('order.paid', 1);
  const first = await store.applyOrderEvent('processor-orders', stale, 'returns');
  const again = await store.applyOrderEvent('processor-orders', stale, 'returns');
  expect([first.result, first.anomaly?.kind, again.result, again.anomaly]).toEqual(['done', 'stale', 'duplicate', undefined]);
  expect((await readAnomalies(firestore, ['returns'])).counts).toEqual({ returns: { stale: 1 } });
  const entries = await firestore.collection(anomalyPaths.log()).where('topic', '==', 'returns').get();
  expect(entries.docs.map((d) => [d.id, d.get('kind')])).toEqual([[stale.event.id, 'stale']]);
});

it('a rebuild clears an order anomaly with its log entry, and replaying it counts it once again', async () => {
  const store = new ProcessorStore(firestore);
  const decoded = (type: string, sequence: number): DecodedEvent<OrderEventData> => {
    const { event } = publisher.prepare('orders', type, order('r-order', sequence));
    return { event: event as unknown as DecodedEvent<OrderEventData>['event'], readAs: 'v2', messageId: `m-${event.id}`, attributes: {} };
  };
  // Its own topic name, so the counts stand apart from the other tests'.
  const history = [decoded('order.created', 1), decoded('order.shipped', 2)];
  for (const d of history) await store.applyOrderEvent('processor-orders', d, 'rebuilt');
  const count = async () => (await readAnomalies(firestore, ['rebuilt'], { latest: 0 })).counts;
  expect(await count()).toEqual({ rebuilt: { 'invalid-transition': 1 } });

  const ids = history.map((d) => d.event.id);
  expect(await clearForRebuild(firestore, 'processor-orders', ['r-order'], ids)).toEqual({ projections: 1, anomalies: 1, dedupRecords: 2 });
  expect(await count()).toEqual({});
  // The rebuild's replay meets the same anomaly: counted again, once (not added to what was there).
  for (const d of history) expect((await store.applyOrderEvent('processor-orders', d, 'rebuilt')).result).toBe('done');
  expect(await count()).toEqual({ rebuilt: { 'invalid-transition': 1 } });
  expect((await store.readOrder('r-order'))?.state).toBe('created');
});
