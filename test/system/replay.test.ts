/**
 * Governed replay against the real Pub/Sub and Firestore emulators and the local BigQuery endpoint
 * (the real clients): a scope read from the warehouse reaches one consumer's private path only, in
 * publish order per key, annotated with the replay id; every step lands in `replay_audit`; a
 * cancelled replay resumes from its checkpoint and nothing in scope is left out.
 */
(globalThis as { Bun?: unknown }).Bun ??= {};
import { BigQuery } from '@google-cloud/bigquery';
import type { Message, PubSub } from '@google-cloud/pubsub';
import { startLocalBigQuery, type LocalBigQuery } from '../../shared/bigquery-local';
import { toPubsubMessage } from '../../shared/envelope';
import supertest from 'supertest';
import express from 'express';
import { firestorePaths, readParityRecords, readRecentReplays, type ReplayStatusRecord } from '../../shared/firestore';
import { panelRoutes, REPLAYS_PATH } from '../../services/dashboard/panels';
import { createLogger } from '../../shared/consumer';
import { applyLocal } from '../../shared/local';
import { MeshPublisher } from '../../shared/publisher';
import {
  appliedCounter,
  parseReplayRequest,
  planLines,
  planReplay,
  REPLAY_ID_ATTRIBUTE,
  ReplayAudit,
  runReplay,
  WarehouseReplaySource,
  type ReplayRequest,
} from '../../shared/replay';
import { eventRow, eventsTableName } from '../../shared/warehouse';
import { ensureWarehouse } from '../../services/warehouse/tables';
import { ProcessorStore } from '../../services/processor/store';
import type { OrderEventData } from '../../services/processor/orders';
import type { DecodedEvent } from '../../shared/consumer';
import { testFirestore, testPubSub, uniqueProject } from '../support/emulators';
import { specFromText } from '../support/specs';

process.env.METADATA_SERVER_DETECTION = 'none';

const spec = specFromText(`
version: 1
project: replay-system
topics:
  orders:
    schema: { dir: schemas/orders, revisions: [v1, v2] }
    eventTypes: [order.created, order.paid, order.shipped, order.cancelled]
    orderingKey: orderId
services:
  processor: { localPort: 18082, uses: [firestore] }
  dashboard: { localPort: 18081, uses: [firestore] }
consumers:
  processor-orders:
    topic: orders
    delivery: pull
    service: processor
    ordering: true
    replay: { ceiling: 500/s }
  dashboard-orders:
    topic: orders
    delivery: pull
    service: dashboard
warehouse: { dataset: replay_system }
`);

let local: LocalBigQuery;
let bigquery: BigQuery;
let pubsub: PubSub;
const project = uniqueProject('replay');
const firestore = testFirestore(project);
const FROM = Date.parse('2026-12-04T10:00:00Z');

/** Order lifecycles stored in the warehouse as the warehouse service stores them: 3 steps per order, 1 s apart. */
const stored: { eventId: string; orderId: string; type: string; publishMs: number }[] = [];

beforeAll(async () => {
  local = await startLocalBigQuery();
  bigquery = new BigQuery({ projectId: project, apiEndpoint: local.url });
  pubsub = testPubSub(project);
  await applyLocal({ pubsub, spec });
  await ensureWarehouse(bigquery, spec, { project });
  const publisher = new MeshPublisher({ pubsub, spec, source: '//test/replay' });
  const rows = [];
  let n = 0;
  for (let order = 0; order < 40; order++) {
    for (const [step, type] of ['order.created', 'order.paid', 'order.shipped'].entries()) {
      const orderId = `o-${String(order).padStart(2, '0')}`;
      const { event, orderingKey } = publisher.prepare('orders', type, { orderId, customerId: 'c', sequence: step + 1 });
      const publishMs = FROM + step * 60_000 + order * 1000;
      const { attributes } = toPubsubMessage(event, orderingKey);
      rows.push(eventRow(spec.topics.orders, { event, messageId: String(++n), publishTime: new Date(publishMs), orderingKey, attributes }));
      stored.push({ eventId: event.id, orderId, type, publishMs });
      // A redelivery stored twice: the replay still sends the event once.
      if (order === 3 && step === 1)
        rows.push(eventRow(spec.topics.orders, { event, messageId: String(++n), publishTime: new Date(publishMs + 5), orderingKey, attributes }));
    }
  }
  await bigquery.dataset(spec.warehouse.dataset).table(eventsTableName('orders')).insert(rows, { raw: true });
}, 60000);

afterAll(async () => {
  await pubsub?.close();
  await firestore.terminate();
  await local?.stop();
});

/** Everything a subscription receives until it is quiet for `quietMs`, acked. */
async function drain(subscription: string, quietMs = 2500): Promise<Message[]> {
  const sub = pubsub.subscription(subscription);
  const got: Message[] = [];
  await new Promise<void>((done) => {
    let idle = setTimeout(done, quietMs);
    sub.on('message', (m: Message) => {
      m.ack();
      got.push(m);
      clearTimeout(idle);
      idle = setTimeout(done, quietMs);
    });
  });
  await sub.close();
  return got;
}

const request = (input: Partial<Parameters<typeof parseReplayRequest>[1]> = {}): ReplayRequest =>
  parseReplayRequest(
    spec,
    {
      consumer: 'processor-orders',
      from: new Date(FROM).toISOString(),
      to: new Date(FROM + 2 * 60_000).toISOString(), // created and paid steps only
      owner: 'commerce-oncall',
      intent: 'rebuild after INC-42',
      operator: 'test',
      ...input,
    },
    new Date(FROM + 3_600_000),
  );

describe('mesh replay', () => {
  it('plans the blast radius, then sends the scope to one consumer only, in order, annotated and audited', async () => {
    const source = new WarehouseReplaySource(bigquery, spec, project);
    // With Firestore: each step is also the replay's line in the dashboard's replay panel.
    const audit = new ReplayAudit(bigquery, spec, project, { firestore });
    const replay = request({ keyRange: 'o-10..o-20' });
    const inScope = stored.filter((s) => s.orderId >= 'o-10' && s.orderId < 'o-20' && s.type !== 'order.shipped');

    // The consumer applied 4 of them already (its dedup records): the plan says so.
    for (const s of inScope.slice(0, 4)) await firestore.doc(firestorePaths.dedup('processor-orders', s.eventId)).set({ consumer: 'processor-orders' });
    const plan = await planReplay(spec, source, replay, { applied: appliedCounter(spec, 'processor-orders', firestore) });
    expect(plan).toMatchObject({ inScope: 20, perType: { 'order.created': 10, 'order.paid': 10 }, keys: 10, alreadyApplied: 4, estimatedSeconds: 20 / 500 });
    const lines = planLines(plan);
    expect(lines).toContain('in scope: 20 events (10 order.created, 10 order.paid), 10 distinct ordering keys');
    expect(lines).toContain('effects: 16 to apply, 4 applied already (sent, then dropped by its dedup)');
    expect(plan.warnings).toEqual([]);

    const outcome = await runReplay({ pubsub, spec, source, audit, request: replay, inScope: plan.inScope, pageSize: 7 });
    expect(outcome).toMatchObject({ state: 'completed', sent: 20, sentNow: 20 });

    const replayed = await drain('processor-orders-redrive');
    expect(replayed.map((m) => m.attributes['ce-id']).sort()).toEqual(inScope.map((s) => s.eventId).sort());
    for (const m of replayed) {
      expect(m.attributes[REPLAY_ID_ATTRIBUTE]).toBe(replay.id);
      expect(m.attributes['ce-dataschema']).toBe('urn:event-mesh:schema:orders:v2');
      expect(m.attributes).not.toHaveProperty('ce-schemaversion');
      expect(m.orderingKey).toBe(JSON.parse(m.data.toString()).orderId);
    }
    // Per key, in publish order: created before paid.
    const byKey = new Map<string, string[]>();
    for (const m of replayed) byKey.set(m.orderingKey ?? '', [...(byKey.get(m.orderingKey ?? '') ?? []), m.attributes['ce-type']]);
    for (const types of byKey.values()) expect(types).toEqual(['order.created', 'order.paid']);
    // No other consumer, and not the consumer's real-time subscription, saw anything.
    expect(await drain('processor-orders', 1500)).toHaveLength(0);
    expect(await drain('dashboard-orders', 1500)).toHaveLength(0);
    expect(await drain('dashboard-orders-redrive', 1500)).toHaveLength(0);

    const history = await audit.history(replay.id);
    expect(history.map((r) => [r.state, r.sent])).toEqual([
      ['started', 0],
      ['completed', 20],
    ]);
    expect(history[1]).toMatchObject({
      owner: 'commerce-oncall',
      intent: 'rebuild after INC-42',
      consumer: 'processor-orders',
      inScope: 20,
      scope: replay.scope,
    });
    expect((await audit.latest()).find((r) => r.replayId === replay.id)?.state).toBe('completed');

    // The dashboard's panel (GET /api/replays) reads its latest step: completed, 20 of 20, its rate.
    const app = express();
    panelRoutes(app, { parity: () => readParityRecords(firestore), replays: () => readRecentReplays(firestore), log: createLogger({ level: 'silent' }) });
    const body = (await supertest(app).get(REPLAYS_PATH).expect(200)).body as { replays: ReplayStatusRecord[] };
    const line = body.replays.find((r) => r.replayId === replay.id)!;
    expect(line).toMatchObject({
      consumer: 'processor-orders',
      topic: 'orders',
      state: 'completed',
      sent: 20,
      inScope: 20,
      owner: 'commerce-oncall',
      ceilingPerSecond: 500,
    });
    expect(line.ratePerSecond).toBeGreaterThan(0);
    expect(line.updatedAt).toBe(history[1].recordedAt);
  }, 90000);

  it('cancels cleanly and resumes from its checkpoint, leaving nothing in scope out', async () => {
    const source = new WarehouseReplaySource(bigquery, spec, project);
    const audit = new ReplayAudit(bigquery, spec, project);
    const replay = request({ types: 'order.created,order.paid' });
    const controller = new AbortController();
    const first = await runReplay({
      pubsub,
      spec,
      source,
      audit,
      request: replay,
      inScope: 80,
      pageSize: 10,
      signal: controller.signal,
      onSent: (sent) => sent === 25 && controller.abort(new Error('cancelled')),
    });
    expect(first.state).toBe('cancelled');
    expect(first.sent).toBeGreaterThanOrEqual(25);
    expect(first.sent).toBeLessThan(80);
    const cancelled = (await audit.history(replay.id)).at(-1)!;
    expect(cancelled).toMatchObject({ state: 'cancelled', sent: first.sent, checkpoint: first.checkpoint });

    const second = await runReplay({
      pubsub,
      spec,
      source,
      audit,
      request: replay,
      inScope: 80,
      resume: { checkpoint: cancelled.checkpoint, sent: cancelled.sent, elapsedSeconds: cancelled.elapsedSeconds },
    });
    expect(second.state).toBe('completed');
    const received = await drain('processor-orders-redrive');
    const ids = new Set(received.map((m) => m.attributes['ce-id']));
    const wanted = stored.filter((s) => s.type !== 'order.shipped').map((s) => s.eventId);
    expect(wanted.filter((id) => !ids.has(id))).toEqual([]); // nothing left out
    expect(received.length).toBeLessThanOrEqual(80 + 10); // at most the page in flight at the cancel twice
    expect(second.sent).toBeGreaterThanOrEqual(80);
    expect((await audit.history(replay.id)).map((r) => r.state)).toEqual(['started', 'cancelled', 'started', 'completed']);
  }, 90000);

  it.each(['optimistic', 'transaction'] as const)(
    'marks what a replayed event changes in the processor with the replay id (%s writes)',
    async (orderWrites) => {
      const store = new ProcessorStore(firestore, { orderWrites });
      const publisher = new MeshPublisher({ pubsub, spec, source: '//test/replay' });
      const orderId = `o-mark-${orderWrites}`;
      const decoded = (type: string, sequence: number, replayId?: string) => {
        const { event } = publisher.prepare('orders', type, { orderId, customerId: 'c', sequence });
        return {
          event,
          readAs: 'v2',
          messageId: `m-${event.id}`,
          attributes: replayId ? { [REPLAY_ID_ATTRIBUTE]: replayId } : {},
        } as unknown as DecodedEvent<OrderEventData>;
      };
      await store.applyOrderEvent('processor-orders', decoded('order.created', 1), 'orders');
      expect((await firestore.doc(firestorePaths.order(orderId)).get()).get('lastReplayId')).toBeUndefined();
      const paid = decoded('order.paid', 2, 'rp-20261204120000-aaaaaa');
      expect((await store.applyOrderEvent('processor-orders', paid, 'orders')).result).toBe('done');
      expect((await firestore.doc(firestorePaths.order(orderId)).get()).data()).toMatchObject({ state: 'paid', lastReplayId: 'rp-20261204120000-aaaaaa' });
      expect((await firestore.doc(firestorePaths.dedup('processor-orders', paid.event.id)).get()).get('replayId')).toBe('rp-20261204120000-aaaaaa');
      // A real-time step after it leaves the mark: the last replay that touched the order.
      await store.applyOrderEvent('processor-orders', decoded('order.shipped', 3), 'orders');
      expect((await firestore.doc(firestorePaths.order(orderId)).get()).data()).toMatchObject({ state: 'shipped', lastReplayId: 'rp-20261204120000-aaaaaa' });
      // The same replayed event again is a duplicate: nothing changes.
      expect((await store.applyOrderEvent('processor-orders', paid, 'orders')).result).toBe('duplicate');
    },
  );

  it('says where the warehouse does not cover the range', async () => {
    const source = new WarehouseReplaySource(bigquery, spec, project);
    const plan = await planReplay(spec, source, request({ from: new Date(FROM - 3_600_000).toISOString(), to: new Date(FROM + 3_000_000).toISOString() }));
    expect(plan.inScope).toBe(120);
    expect(plan.warnings).toEqual([
      expect.stringMatching(/^the warehouse holds orders events published from 2026-12-04T10:00:00(\.0+)?Z only/),
      expect.stringMatching(/^the warehouse holds orders events published up to 2026-12-04T10:02:39/),
    ]);
  }, 60000);
});
