/**
 * Replay with the real processor service (issue 20). Isolation: while a replay runs at its ceiling to the processor's orders
 * consumer, real-time orders keep flowing through the consumer's own subscription within its lag
 * SLO. The real processor service (unary Pull, the local mesh's transport) on the Pub/Sub and
 * Firestore emulators; the replay is read from the local BigQuery endpoint. The emulator keeps no
 * oldest-unacked metric, so the real-time lag is measured where it ends: publish to handled.
 * Rebuild: projections made wrong are made again from the warehouse's events.
 */
(globalThis as { Bun?: unknown }).Bun ??= {};
import { BigQuery } from '@google-cloud/bigquery';
import type { PubSub } from '@google-cloud/pubsub';
import { startLocalBigQuery, type LocalBigQuery } from '../../shared/bigquery-local';
import { createLogger } from '../../shared/consumer';
import { freePort } from '../../shared/emulators';
import { toPubsubMessage } from '../../shared/envelope';
import { applyLocal } from '../../shared/local';
import { MeshPublisher } from '../../shared/publisher';
import { clearScope, parseReplayRequest, planReplay, ReplayAudit, runReplay, WarehouseReplaySource } from '../../shared/replay';
import { firestorePaths } from '../../shared/firestore';
import type { OrderProjection } from '../../services/processor/orders';
import { eventRow, eventsTableName, type InsertRow } from '../../shared/warehouse';
import { createProcessorApp, type ProcessorApp } from '../../services/processor/app';
import { ensureWarehouse } from '../../services/warehouse/tables';
import { eventually, testFirestore, testPubSub, uniqueProject } from '../support/emulators';
import { recordHandled, storeOrdersHistory, type HandledEvent } from '../support/replay-history';
import { specFromText } from '../support/specs';

process.env.METADATA_SERVER_DETECTION = 'none';

const LAG_SLO_SECONDS = 20;
const spec = specFromText(`
version: 1
project: replay-isolation
topics:
  orders:
    schema: { dir: schemas/orders, revisions: [v1, v2] }
    eventTypes: [order.created, order.paid, order.shipped, order.cancelled]
    orderingKey: orderId
services:
  processor: { localPort: 18082, uses: [firestore] }
consumers:
  processor-orders:
    topic: orders
    delivery: pull
    service: processor
    ordering: true
    ackDeadline: 30s
    retry: { minBackoff: 0s, maxBackoff: 1s }
    replay: { ceiling: 150/s }
    lagSlo: { oldestUnacked: ${LAG_SLO_SECONDS}s }
warehouse: { dataset: replay_isolation }
`);

const project = uniqueProject('replay-iso');
let local: LocalBigQuery;
let bigquery: BigQuery;
let pubsub: PubSub;
let service: ProcessorApp;
const firestore = testFirestore(project);
/** Handled events: replayed or not, and publish-to-handled seconds. */
const handled: HandledEvent[] = [];

beforeAll(async () => {
  local = await startLocalBigQuery();
  bigquery = new BigQuery({ projectId: project, apiEndpoint: local.url });
  pubsub = testPubSub(project);
  await applyLocal({ pubsub, spec });
  await ensureWarehouse(bigquery, spec, { project });
  service = createProcessorApp({
    spec,
    pubsub,
    firestore,
    verifyPushAuth: false,
    log: createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    decorate: recordHandled(handled),
    pullTransport: 'unary',
  });
  await service.start(await freePort(), '127.0.0.1');
}, 60000);

afterAll(async () => {
  await service?.stop();
  await pubsub?.close();
  await firestore.terminate();
  await local?.stop();
});

it('keeps the real-time path within its lag SLO while a replay runs at the ceiling', async () => {
  const publisher = new MeshPublisher({ pubsub, spec, source: '//test/replay-isolation' });
  // History in the warehouse: 1,500 orders created, never applied (a backfill: all take effect).
  const from = Date.now() - 3_600_000;
  await storeOrdersHistory(bigquery, spec, publisher, { count: 1500, from, prefix: 'h-' });

  const request = parseReplayRequest(spec, {
    consumer: 'processor-orders',
    from: new Date(from).toISOString(),
    to: new Date(from + 1500).toISOString(),
    owner: 'test',
    intent: 'isolation under a replay at the ceiling',
    operator: 'test',
  });
  const replay = runReplay({
    pubsub,
    spec,
    source: new WarehouseReplaySource(bigquery, spec, project),
    audit: new ReplayAudit(bigquery, spec, project),
    request,
    inScope: 1500,
  });
  // Real time meanwhile: 20 orders a second for the 10 s the replay takes.
  const realtime: string[] = [];
  for (let second = 0; second < 10; second++) {
    const sends = Array.from({ length: 20 }, (_, i) =>
      publisher.publish('orders', 'order.created', { orderId: `rt-${second}-${i}`, customerId: 'c', sequence: 1 }).then((r) => realtime.push(r.event.id)),
    );
    await Promise.all([...sends, new Promise((resolve) => setTimeout(resolve, 1000))]);
  }
  expect((await replay).state).toBe('completed');
  await eventually(
    () => (handled.filter((h) => h.replayed).length >= 1500 && handled.filter((h) => !h.replayed).length >= 200 ? true : undefined),
    90000,
    'all handled',
  );

  const realtimeLags = handled.filter((h) => !h.replayed).map((h) => h.lagSeconds);
  expect(new Set(handled.filter((h) => !h.replayed).map((h) => h.eventId))).toEqual(new Set(realtime));
  const sorted = [...realtimeLags].sort((a, b) => a - b);
  console.log(
    `real-time publish-to-handled during the replay: p50 ${sorted[Math.floor(sorted.length / 2)].toFixed(2)} s, max ${sorted.at(-1)!.toFixed(2)} s (SLO ${LAG_SLO_SECONDS} s)`,
  );
  expect(Math.max(...realtimeLags)).toBeLessThan(LAG_SLO_SECONDS);
  // Replayed messages came only through the replay path (their publish time is the replay's).
  expect(handled.filter((h) => h.replayed)).toHaveLength(1500);
}, 180000);

it('rebuilds wrong projections from the events: plain replay cannot, its dedup drops them', async () => {
  const publisher = new MeshPublisher({ pubsub, spec, source: '//test/replay-rebuild' });
  const from = new Date(Date.now() - 1000).toISOString();
  // 40 orders through the real path (created, paid, shipped), and their rows in the warehouse.
  const keys = Array.from({ length: 40 }, (_, i) => `rb-${String(i).padStart(2, '0')}`);
  const rows: InsertRow[] = [];
  let beforeShipped = '';
  for (const [step, type] of ['order.created', 'order.paid', 'order.shipped'].entries()) {
    if (type === 'order.shipped') beforeShipped = new Date().toISOString();
    for (const orderId of keys) {
      const { event, orderingKey } = publisher.prepare('orders', type, { orderId, customerId: 'c', sequence: step + 1 });
      const message = toPubsubMessage(event, orderingKey);
      const messageId = await pubsub.topic('orders', { messageOrdering: true }).publishMessage(message);
      rows.push(eventRow(spec.topics.orders, { event, messageId, publishTime: new Date(), orderingKey, attributes: message.attributes }));
    }
  }
  const table = bigquery.dataset(spec.warehouse.dataset).table(eventsTableName('orders'));
  await table.insert(rows, { raw: true });
  const projection = async (orderId: string) =>
    (await firestore.doc(firestorePaths.order(orderId)).get()).data() as (OrderProjection & { lastReplayId?: string }) | undefined;
  const shipped = async () => (await Promise.all(keys.map(projection))).filter((p) => p?.state === 'shipped' && p.lastSequence === 3).length;
  await eventually(async () => ((await shipped()) === 40 ? true : undefined), 60000, 'all 40 orders shipped');

  // Made wrong: 20 projections rewritten, 20 deleted.
  for (const [i, orderId] of keys.entries()) {
    if (i % 2) await firestore.doc(firestorePaths.order(orderId)).set({ orderId, state: 'cancelled', lastSequence: 9 });
    else await firestore.doc(firestorePaths.order(orderId)).delete();
  }
  const to = new Date(Date.now() + 1000).toISOString();
  const source = new WarehouseReplaySource(bigquery, spec, project);
  const audit = new ReplayAudit(bigquery, spec, project);
  const base = { consumer: 'processor-orders', from, to, keys: keys.join(','), owner: 'test', intent: 'rebuild after a bad deploy', operator: 'test' };

  // A plain replay sends them and the dedup drops every one: still wrong.
  const plain = parseReplayRequest(spec, base);
  expect((await runReplay({ pubsub, spec, source, audit, request: plain, inScope: 120 })).sent).toBe(120);
  await eventually(() => (handled.filter((h) => h.replayed).length >= 1500 + 120 ? true : undefined), 30000, 'the plain replay handled');
  expect(await shipped()).toBe(0);

  // A rebuild whose range leaves out part of a key's history is refused before it clears anything.
  const partial = parseReplayRequest(spec, { ...base, to: beforeShipped, rebuild: true });
  const partialPlan = await planReplay(spec, source, partial);
  expect(partialPlan.blockers[0]).toMatch(/event\(s\) of these keys lie outside the range: a rebuild must replay each key's whole history/);
  await expect(clearScope({ firestore, source, audit, request: partial, inScope: 0 })).rejects.toThrow(/outside the range/);

  const rebuild = parseReplayRequest(spec, { ...base, rebuild: true });
  const plan = await planReplay(spec, source, rebuild);
  expect(plan).toMatchObject({ inScope: 120, keys: 40, blockers: [] });
  const cleared = await clearScope({ firestore, source, audit, request: rebuild, inScope: plan.inScope });
  expect(cleared).toEqual({ projections: 20, anomalies: 0, dedupRecords: 120 });
  expect((await runReplay({ pubsub, spec, source, audit, request: rebuild, inScope: plan.inScope })).state).toBe('completed');
  await eventually(async () => ((await shipped()) === 40 ? true : undefined), 60000, 'all 40 rebuilt');
  for (const orderId of keys) expect(await projection(orderId)).toMatchObject({ state: 'shipped', lastSequence: 3, lastReplayId: rebuild.id });
  expect((await audit.history(rebuild.id)).map((r) => r.state)).toEqual(['cleared', 'started', 'completed']);
  expect((await audit.history(rebuild.id))[0].detail).toBe('rebuild cleared 20 projections, 0 anomalies and 120 dedup records of 40 keys');
}, 180000);
