/**
 * The processor against the real Pub/Sub and Firestore emulators: REAL push deliveries from the
 * emulator to the service listening on a free port (processor-analytics), and real pulls with
 * ordering + exactly-once (processor-orders), by either transport: processor.test.ts runs it with
 * StreamingPull (GCP's), processor-unary.test.ts with unary Pull (the local mesh's).
 */
import type { Message, PubSub, Subscription } from '@google-cloud/pubsub';
import type { Firestore } from '@google-cloud/firestore';
import { createLogger, TransientError, type DecodedEvent, type Handlers, type PullTransport } from '../../shared/consumer';
import { freePort } from '../../shared/emulators';
import { applyLocal } from '../../shared/local';
import { toPubsubMessage } from '../../shared/envelope';
import { MeshPublisher } from '../../shared/publisher';
import { createProcessorApp, type ProcessorApp } from '../../services/processor/app';
import type { OrderProjection } from '../../services/processor/orders';
import { eventually, testFirestore, testPubSub, uniqueProject } from '../support/emulators';
import { specFromText } from '../support/specs';

// Small backoff and 5 attempts so retries and Pub/Sub's own dead-lettering happen within a test.
// order.updated: a type the processor's state machine does not know, which only advances the sequence.
const spec = specFromText(`
version: 1
project: processor-system
topics:
  analytics:
    schema: { dir: schemas/analytics, revisions: [v1, v2] }
    eventTypes: [click, view, like.created, like.removed]
  orders:
    schema: { dir: schemas/orders, revisions: [v1, v2] }
    eventTypes: [order.created, order.paid, order.shipped, order.cancelled, order.updated]
    orderingKey: orderId
services:
  processor: { localPort: 18082 }
consumers:
  processor-analytics:
    topic: analytics
    delivery: push
    service: processor
    ackDeadline: 10s
    retry: { minBackoff: 0s, maxBackoff: 1s }
    deadLetter: { maxAttempts: 5 }
  processor-orders:
    topic: orders
    delivery: pull
    service: processor
    ordering: true
    exactlyOnce: true
    ackDeadline: 60s
    retry: { minBackoff: 0s, maxBackoff: 1s }
    deadLetter: { maxAttempts: 5 }
    flowControl: { maxMessages: 500, maxBytes: 10485760 }
warehouse: { dataset: test }
`);

export function processorSuite(transport: PullTransport): void {
  const project = uniqueProject(`processor-${transport}`);
  let pubsub: PubSub;
  let firestore: Firestore;
  let service: ProcessorApp;
  let publisher: MeshPublisher;
  let port: number;
  /** Injected transient failures: event id -> failures left. */
  const faults = new Map<string, number>();
  /** Handler calls per event id. */
  const attempts = new Map<string, number>();
  /** Handler results per event id, in order. */
  const results = new Map<string, string[]>();
  const resultsOf = (id: string) => results.get(id) ?? [];
  /** Messages on the dead-letter hold subscriptions, by consumer. */
  const held: Record<string, Message[]> = { 'processor-analytics': [], 'processor-orders': [] };
  const holds: Subscription[] = [];

  function withFaults(handlers: Handlers): Handlers {
    const out: Handlers = {};
    for (const [name, handler] of Object.entries(handlers)) {
      out[name] = async (decoded: DecodedEvent, ctx) => {
        const id = decoded.event.id;
        attempts.set(id, (attempts.get(id) ?? 0) + 1);
        const left = faults.get(id) ?? 0;
        if (left > 0) {
          faults.set(id, left - 1);
          throw new TransientError(`injected failure for ${id}`);
        }
        const result = await handler(decoded, ctx);
        results.set(id, [...resultsOf(id), result]);
        return result;
      };
    }
    return out;
  }

  beforeAll(async () => {
    pubsub = testPubSub(project);
    firestore = testFirestore(project);
    port = await freePort();
    await applyLocal({ pubsub, spec, serviceUrls: { processor: `http://127.0.0.1:${port}` } });
    service = createProcessorApp({
      spec,
      pubsub,
      firestore,
      verifyPushAuth: false,
      log: createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
      decorate: withFaults,
      pullTransport: transport,
    });
    await service.start(port, '127.0.0.1');
    publisher = new MeshPublisher({ pubsub, spec, source: '//system-test' });
    for (const consumer of Object.keys(held)) {
      const hold = pubsub.subscription(`${consumer}-dlq-hold`);
      hold.on('message', (m: Message) => {
        held[consumer].push(m);
        m.ack();
      });
      holds.push(hold);
    }
  });

  afterAll(async () => {
    await service?.stop();
    await Promise.all(holds.map((h) => h.close()));
    await pubsub?.close();
    await firestore?.terminate();
  });

  const stats = (consumer: string) => service.stats.of(consumer);
  const heldWith = (consumer: string, key: string, value: string) => held[consumer].find((m) => m.attributes[key] === value);

  /** A message the topic's schema accepts, with the envelope spoiled by `spoil`. */
  async function publishRaw(topic: string, type: string, data: Record<string, unknown>, spoil: (attrs: Record<string, string>) => void = () => undefined) {
    const { event, orderingKey } = publisher.prepare(topic, type, data);
    const attributes: Record<string, string> = {
      'ce-id': event.id,
      'ce-type': event.type,
      'ce-source': event.source,
      'ce-specversion': '1.0',
      'ce-time': event.time,
      'ce-dataschema': event.dataschema!,
      'content-type': 'application/json',
    };
    spoil(attributes);
    const messageId = await pubsub
      .topic(topic, { messageOrdering: Boolean(orderingKey) })
      .publishMessage({ data: Buffer.from(JSON.stringify(event.data)), attributes, orderingKey });
    return { messageId, data: JSON.stringify(event.data) };
  }

  describe('push (processor-analytics)', () => {
    it('applies an event published three times with the same id exactly once', async () => {
      const id = '01900000-0000-7000-8000-00000000d001';
      for (let i = 0; i < 3; i++) await publisher.publish('analytics', 'like.created', { userId: 'dup-user', postId: 'dup-post' }, { id });
      await eventually(() => (resultsOf(id).length >= 3 ? true : undefined), 20000, 'three deliveries');
      expect(resultsOf(id).sort()).toEqual(['done', 'duplicate', 'duplicate']);
      expect(await service.store.readLikeCount('dup-post')).toBe(1);
      expect(await service.store.readUserActivity('dup-user')).toEqual({ total: 1, counts: { like_created: 1 } });
      const dedup = await firestore.doc(`consumers/processor-analytics/dedup/${id}`).get();
      expect(dedup.get('expiresAt').toMillis()).toBeGreaterThan(Date.now() + 6.9 * 24 * 3600 * 1000);
    });

    it('counts likes over shards, including removals', async () => {
      const published = [];
      for (let i = 0; i < 30; i++) published.push(publisher.publish('analytics', 'like.created', { userId: `liker-${i}`, postId: 'hot-post' }));
      for (let i = 0; i < 5; i++) published.push(publisher.publish('analytics', 'like.removed', { userId: `liker-${i}`, postId: 'hot-post' }));
      await Promise.all(published);
      await eventually(async () => ((await service.store.readLikeCount('hot-post')) === 25 ? true : undefined), 20000, '25 likes');
      const shards = await firestore.collection('posts/hot-post/likeShards').get();
      expect(shards.size).toBeGreaterThan(3);
    });

    it('keeps an id Firestore cannot take as it is under its percent-encoded id (the one document-id rule)', async () => {
      await publisher.publish('analytics', 'like.created', { userId: 'team/a', postId: 'post/1' });
      await eventually(async () => ((await service.store.readUserActivity('team/a'))?.total === 1 ? true : undefined), 20000, 'the effect of team/a');
      expect((await firestore.doc('users/team%2Fa').get()).get('userId')).toBe('team/a');
      expect(await service.store.readLikeCount('post/1')).toBe(1);
      expect((await firestore.collection('posts/post%2F1/likeShards').get()).size).toBe(1);
    });

    it.each([
      ['unknown-type', 'click', (a: Record<string, string>) => (a['ce-type'] = 'purchase'), {}],
      ['missing-attribute', 'click', (a: Record<string, string>) => delete a['ce-source'], {}],
      ['unsupported-specversion', 'click', (a: Record<string, string>) => (a['ce-specversion'] = '0.3'), {}],
      // Pub/Sub accepts it (v2 is in the topic's range) but the message claims v1, which has no "country".
      ['schema', 'view', (a: Record<string, string>) => (a['ce-dataschema'] = 'urn:event-mesh:schema:analytics:v1'), { country: 'NL' }],
      ['handler', 'like.created', () => undefined, { postId: '' }],
      // Over Firestore's 1,500 bytes for a document id, encoded or not (shared/firestore/ids.ts).
      ['bad-id', 'click', () => undefined, { userId: 'u'.repeat(1501) }],
    ])('dead-letters a poison message (%s) within a second, data unchanged', async (reason, type, spoil, data) => {
      const { messageId, data: body } = await publishRaw('analytics', type, { userId: 'poison-user', ...data }, spoil);
      const m = await eventually(() => heldWith('processor-analytics', 'messageId', messageId), 10000, `dead letter of ${messageId}`);
      expect(m.attributes).toMatchObject({
        reason,
        consumer: 'processor-analytics',
        sourceSubscription: `projects/${project}/subscriptions/processor-analytics`,
      });
      expect(m.attributes.error).toEqual(expect.any(String));
      expect(m.data.toString()).toBe(body);
      // Pub/Sub's own clocks: publish of the original -> publish of its dead letter.
      expect(m.publishTime.getTime() - new Date(m.attributes.publishTime).getTime()).toBeLessThan(1000);
    });

    it('retries a transient failure (5xx) until it succeeds', async () => {
      const { event } = publisher.prepare('analytics', 'click', { userId: 'flaky-user' });
      faults.set(event.id, 2);
      const failedBefore = stats('processor-analytics').failed;
      await publisher.publish('analytics', 'click', event.data, { id: event.id });
      await eventually(async () => ((await service.store.readUserActivity('flaky-user'))?.total === 1 ? true : undefined), 20000, 'the effect after retries');
      expect(attempts.get(event.id)).toBe(3);
      expect(stats('processor-analytics').failed - failedBefore).toBe(2);
    });

    it('lets Pub/Sub dead-letter a message that keeps failing after maxAttempts', async () => {
      const { event } = publisher.prepare('analytics', 'click', { userId: 'doomed-user' });
      faults.set(event.id, Number.POSITIVE_INFINITY);
      await publisher.publish('analytics', 'click', event.data, { id: event.id });
      const m = await eventually(() => heldWith('processor-analytics', 'ce-id', event.id), 40000, 'Pub/Sub dead letter');
      expect(m.attributes.reason).toBeUndefined();
      expect(Number(m.attributes.CloudPubSubDeadLetterSourceDeliveryCount)).toBeGreaterThanOrEqual(5);
      expect(attempts.get(event.id)).toBeGreaterThanOrEqual(5);
      expect(await service.store.readUserActivity('doomed-user')).toBeUndefined();
    }, 60000);

    it('accepts the no-wrapper push form (form-urlencoded body, metadata in headers)', async () => {
      // A second subscription pushing the same topic without the wrapper to the same path.
      const [nowrap] = await pubsub.topic('analytics').createSubscription('processor-analytics-nowrap', {
        pushConfig: { pushEndpoint: `http://127.0.0.1:${port}/pubsub/push/processor-analytics`, noWrapper: { writeMetadata: true } },
      });
      try {
        const { event } = await publisher.publish('analytics', 'view', { userId: 'nowrap-user', page: '/a b&c=d', durationMs: 1234 });
        await eventually(() => (resultsOf(event.id).length >= 2 ? true : undefined), 20000, 'both deliveries');
        expect(resultsOf(event.id).sort()).toEqual(['done', 'duplicate']);
        expect(await service.store.readUserActivity('nowrap-user')).toEqual({ total: 1, counts: { view: 1 } });
      } finally {
        await nowrap.delete();
      }
    });
  });

  describe(`pull (processor-orders, ordered, exactly-once, ${transport})`, () => {
    const ordersOf = async (ids: string[]) => Promise.all(ids.map((id) => service.store.readOrder(id)));

    it('projects 500 events on 20 orders in publish order, without anomalies', async () => {
      const orderIds = Array.from({ length: 20 }, (_, i) => `bulk-${i}`);
      const typeAt = (seq: number) => (seq === 1 ? 'order.created' : seq === 2 ? 'order.paid' : seq === 25 ? 'order.shipped' : 'order.updated');
      const published: Promise<unknown>[] = [];
      for (let seq = 1; seq <= 25; seq++) {
        for (const orderId of orderIds)
          published.push(
            publisher.publish('orders', typeAt(seq), {
              orderId,
              customerId: 'c-bulk',
              sequence: seq,
              amountCents: 100 * seq,
              carrier: seq === 25 ? 'DHL' : '',
            }),
          );
      }
      await Promise.all(published);
      const orders = await eventually(
        async () => {
          const found = await ordersOf(orderIds);
          return found.every((o) => o?.lastSequence === 25) ? (found as OrderProjection[]) : undefined;
        },
        50000,
        'all 20 orders at sequence 25',
      );
      for (const order of orders) {
        expect(order).toMatchObject({ state: 'shipped', carrier: 'DHL', anomalyCount: 0 });
        expect(order.history.map((h) => h.sequence)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
      }
      const anomalies = await Promise.all(orderIds.map((id) => service.store.readAnomalies(id)));
      expect(anomalies.flat()).toEqual([]);
      const dedup = await firestore.collection('consumers/processor-orders/dedup').count().get();
      expect(dedup.data().count).toBeGreaterThanOrEqual(500);
    }, 60000);

    it('applies an order event published three times with the same id exactly once', async () => {
      const before = { ...stats('processor-orders') };
      const id = '01900000-0000-7000-8000-00000000d002';
      for (let i = 0; i < 3; i++)
        await publisher.publish('orders', 'order.created', { orderId: 'dup-order', customerId: 'c1', sequence: 1, amountCents: 500 }, { id });
      await eventually(() => (resultsOf(id).length >= 3 ? true : undefined), 20000, 'three deliveries');
      expect(resultsOf(id).sort()).toEqual(['done', 'duplicate', 'duplicate']);
      expect(stats('processor-orders').duplicate - before.duplicate).toBe(2);
      const order = await service.store.readOrder('dup-order');
      expect(order).toMatchObject({ state: 'created', lastSequence: 1, anomalyCount: 0 });
      expect(order!.history).toHaveLength(1);
    });

    it('records impossible transitions and sequence problems as anomalies', async () => {
      await publisher.publish('orders', 'order.created', { orderId: 'odd-order', customerId: 'c1', sequence: 1 });
      await publisher.publish('orders', 'order.shipped', { orderId: 'odd-order', customerId: 'c1', sequence: 2 });
      await publisher.publish('orders', 'order.paid', { orderId: 'odd-order', customerId: 'c1', sequence: 5 });
      await publisher.publish('orders', 'order.cancelled', { orderId: 'odd-order', customerId: 'c1', sequence: 4 });
      const anomalies = await eventually(
        async () => {
          const found = await service.store.readAnomalies('odd-order');
          return found.length === 3 ? found : undefined;
        },
        20000,
        'three anomalies',
      );
      expect(anomalies.map((a) => [a.sequence, a.kind]).sort()).toEqual([
        [2, 'invalid-transition'],
        [4, 'stale'],
        [5, 'gap'],
      ]);
      expect(await service.store.readOrder('odd-order')).toMatchObject({ state: 'paid', lastSequence: 5, anomalyCount: 3 });
    });

    it('dead-letters a poison message within a second', async () => {
      const { messageId } = await publishRaw(
        'orders',
        'order.created',
        { orderId: 'poison-order', customerId: 'c', sequence: 1 },
        (a) => (a['ce-type'] = 'order.refunded'),
      );
      const m = await eventually(() => heldWith('processor-orders', 'messageId', messageId), 10000, 'dead letter');
      expect(m.attributes).toMatchObject({ reason: 'unknown-type', consumer: 'processor-orders', orderingKey: 'poison-order' });
      expect(m.publishTime.getTime() - new Date(m.attributes.publishTime).getTime()).toBeLessThan(1000);
    });

    it('retries a transient failure without breaking the order of the key', async () => {
      const events = ['order.created', 'order.paid', 'order.updated', 'order.shipped'].map(
        (type, i) => publisher.prepare('orders', type, { orderId: 'flaky-order', customerId: 'c1', sequence: i + 1 }).event,
      );
      faults.set(events[1].id, 2);
      for (const e of events) await publisher.publish('orders', e.type, e.data, { id: e.id });
      const order = await eventually(
        async () => {
          const o = await service.store.readOrder('flaky-order');
          return o?.lastSequence === 4 ? o : undefined;
        },
        30000,
        'the order after retries',
      );
      expect(attempts.get(events[1].id)).toBe(3);
      expect(order).toMatchObject({ state: 'shipped', anomalyCount: 0 });
      expect(order.history.map((h) => h.sequence)).toEqual([1, 2, 3, 4]);
    });

    // The emulator cannot dead-letter from an ordered subscription (it ends the stream with UNKNOWN
    // instead), so here the runtime does it on the last attempt, as it would in production.
    it('dead-letters a message that keeps failing on its last attempt, and the key moves on', async () => {
      const { event } = publisher.prepare('orders', 'order.created', { orderId: 'doomed-order', customerId: 'c1', sequence: 1 });
      faults.set(event.id, Number.POSITIVE_INFINITY);
      await publisher.publish('orders', event.type, event.data, { id: event.id });
      await publisher.publish('orders', 'order.created', { orderId: 'doomed-order', customerId: 'c1', sequence: 1 });
      const m = await eventually(() => heldWith('processor-orders', 'ce-id', event.id), 30000, 'dead letter after max attempts');
      expect(m.attributes).toMatchObject({ reason: 'max-attempts', deliveryAttempt: '5', error: `injected failure for ${event.id}` });
      expect(attempts.get(event.id)).toBe(5);
      // The next event of the same order was held back behind it, then applied.
      const order = await eventually(() => service.store.readOrder('doomed-order'), 10000, 'the next event');
      expect(order).toMatchObject({ state: 'created', lastSequence: 1 });
      expect(service.ready).toBe(true);
    }, 60000);
  });

  describe("redrives and replays (each consumer's private redrive topic)", () => {
    /** What `mesh dead-letters --redrive` publishes: the original message, on the consumer's redrive topic. */
    async function redrive(consumer: string, topic: string, type: string, data: Record<string, unknown>) {
      const { event, orderingKey } = publisher.prepare(topic, type, data);
      await pubsub.topic(`${consumer}-redrive`, { messageOrdering: true }).publishMessage({ ...toPubsubMessage(event, orderingKey) });
      return event.id;
    }

    it('a pull consumer takes them from its redrive subscription', async () => {
      const id = await redrive('processor-orders', 'orders', 'order.created', { orderId: 'redriven-order', customerId: 'c1', sequence: 1 });
      await eventually(() => (resultsOf(id).length ? true : undefined), 20000, 'the redriven event');
      expect(resultsOf(id)).toEqual(['done']);
      expect(await service.store.readOrder('redriven-order')).toMatchObject({ state: 'created', lastSequence: 1 });
    });

    it('a push consumer gets them pushed to the same endpoint', async () => {
      const id = await redrive('processor-analytics', 'analytics', 'like.created', { userId: 'redriven-user', postId: 'redriven-post' });
      await eventually(() => (resultsOf(id).length ? true : undefined), 20000, 'the redriven event');
      expect(resultsOf(id)).toEqual(['done']);
      expect(await service.store.readLikeCount('redriven-post')).toBe(1);
    });
  });

  describe('service endpoints', () => {
    it('is ready and reports its counters', async () => {
      const base = `http://127.0.0.1:${port}`;
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      const body = await (await fetch(`${base}/stats`)).json();
      expect(body.service).toBe('processor');
      expect(Object.keys(body.consumers).sort()).toEqual(['processor-analytics', 'processor-orders']);
      expect(body.consumers['processor-orders'].done).toBeGreaterThanOrEqual(500);
      // The group commits' counters: every applied event went through one, never more commits than events.
      for (const section of ['analyticsCommits', 'orderCommits']) {
        const { commits, events } = body.sections[section] as { commits: number; events: number };
        expect(events).toBeGreaterThan(0);
        expect(commits).toBeLessThanOrEqual(events);
      }
      expect(body.sections.orderCommits.events).toBeGreaterThanOrEqual(body.consumers['processor-orders'].done);
      expect((await fetch(`${base}/orders/bulk-0`)).status).toBe(200);
      expect((await fetch(`${base}/posts/hot-post/likes`).then((r) => r.json())).likes).toBe(25);
    });
  });
}
