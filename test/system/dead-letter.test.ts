import type { Message, PubSub } from '@google-cloud/pubsub';
import { listHeld } from '../../shared/consumer/dead-letter-hold';
import { redriveHeld } from '../../shared/consumer/hold-actions';
import { deadLetterAttributes, DeadLetterPublisher } from '../../shared/consumer/dead-letter';
import { toPubsubMessage } from '../../shared/envelope';
import { applyLocal } from '../../shared/local';
import { MeshPublisher } from '../../shared/publisher';
import { eventually, testPubSub, uniqueProject } from '../support/emulators';
import { receive } from '../support/pull';
import { specFromText } from '../support/specs';

const spec = specFromText(`
version: 1
project: dlq-test
topics:
  orders:
    schema: { dir: schemas/orders, revisions: [v1, v2] }
    eventTypes: [order.created]
    orderingKey: orderId
services:
  worker: { localPort: 18080 }
consumers:
  always-fails:
    topic: orders
    delivery: pull
    service: worker
    ackDeadline: 10s
    retry: { minBackoff: 0s, maxBackoff: 1s }
    deadLetter: { maxAttempts: 5 }
warehouse: { dataset: test }
`);

let pubsub: PubSub;
beforeEach(async () => {
  pubsub = testPubSub(uniqueProject('dlq'));
  await applyLocal({ pubsub, spec });
});
afterEach(() => pubsub.close());

describe('dead-letter policy applied by mesh apply --local', () => {
  it('moves a message that keeps failing to the dead-letter hold subscription after max attempts', async () => {
    const publisher = new MeshPublisher({ pubsub, spec, source: '//test/dlq' });
    const { event } = await publisher.publish('orders', 'order.created', { orderId: 'o-dead', customerId: 'c', sequence: 1 });

    const attempts: number[] = [];
    const sub = pubsub.subscription('always-fails');
    sub.on('message', (m: Message) => {
      attempts.push(m.deliveryAttempt);
      m.nack();
    });
    try {
      const [dead] = await receive(pubsub, 'always-fails-dlq-hold', 1, 45000);
      expect(dead.attributes['ce-id']).toBe(event.id);
      expect(dead.attributes.CloudPubSubDeadLetterSourceSubscription).toBe('always-fails');
      expect(Number(dead.attributes.CloudPubSubDeadLetterSourceDeliveryCount)).toBe(5);
      expect(JSON.parse(dead.data.toString()).orderId).toBe('o-dead');
    } finally {
      await sub.close();
    }
    expect(attempts.length).toBeGreaterThanOrEqual(5);
    expect(attempts.slice(0, 5)).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('mesh dead-letters: the hold, listed and redriven', () => {
  it('lists held messages with their reason and leaves them; --redrive sends the originals to that consumer only', async () => {
    const consumer = spec.consumers['always-fails'];
    const publisher = new MeshPublisher({ pubsub, spec, source: '//test/dlq' });
    // One dead-lettered by Pub/Sub after max attempts...
    const { event: exhausted } = await publisher.publish('orders', 'order.created', { orderId: 'o-exhausted', customerId: 'c', sequence: 1 });
    const sub = pubsub.subscription('always-fails');
    sub.on('message', (m: Message) => m.nack());
    try {
      await listHeldUntil(1);
    } finally {
      await sub.close();
    }
    // ... and one by the runtime's poison path (its attributes, as dead-letter.ts writes them).
    const poison = publisher.prepare('orders', 'order.created', { orderId: 'o-poison', customerId: 'c', sequence: 1 });
    const original = toPubsubMessage(poison.event, poison.orderingKey);
    const attributes = deadLetterAttributes(
      { data: Buffer.from(original.data), attributes: original.attributes, messageId: 'm-1', publishTime: new Date(), orderingKey: poison.orderingKey },
      { reason: 'handler', error: 'order service said no', consumer: consumer.name, sourceSubscription: 'always-fails' },
    );
    await pubsub.topic('always-fails-dlq').publishMessage({ data: Buffer.from(original.data), attributes });

    const held = await listHeldUntil(2);
    expect(held.map((h) => [h.eventId, h.reason]).sort()).toEqual(
      [
        [exhausted.id, 'max-delivery-attempts'],
        [poison.event.id, 'handler'],
      ].sort(),
    );
    expect(held.find((h) => h.reason === 'handler')!.error).toBe('order service said no');
    expect(await listHeld(pubsub, consumer, { idleMs: 1500 })).toHaveLength(2); // listing took nothing away

    // The consumer still fails them: each redriven copy is dead-lettered again at once. The redrive
    // must take each only once, not go round the loop.
    const back: Message[] = [];
    const again = pubsub.subscription('always-fails-redrive');
    again.on('message', (m: Message) => {
      back.push(m);
      void pubsub
        .topic('always-fails-dlq')
        .publishMessage({ data: m.data, attributes: { ...m.attributes, reason: 'handler', error: 'still no' } })
        .then(() => m.ack());
    });
    let redriven;
    const paced: number[] = [];
    const progress: number[] = [];
    try {
      // Paced (a rate limit's hook) and counted (a progress bar's): once per message, before its publish.
      redriven = await redriveHeld(pubsub, consumer, {
        idleMs: 2000,
        pace: async () => void paced.push(back.length),
        onTaken: (count) => progress.push(count),
      });
      await eventually(() => (back.length >= 2 ? true : undefined), 20000, 'both redriven copies');
    } finally {
      await again.close();
    }
    expect(redriven).toHaveLength(2);
    expect(paced).toHaveLength(2);
    expect(progress).toEqual([1, 2]);
    expect(back).toHaveLength(2);
    const byId = Object.fromEntries(back.map((m) => [m.attributes['ce-id'], m]));
    for (const id of [exhausted.id, poison.event.id]) {
      const attrs = byId[id].attributes;
      // The original attributes only (the event's, and the canary bucket MeshPublisher adds): none dead-lettering added.
      expect(Object.keys(attrs).filter((k) => !k.startsWith('ce-') && !['content-type', 'mesh_bucket'].includes(k) && !k.startsWith('goog'))).toEqual([]);
    }
    expect(byId[poison.event.id].orderingKey).toBe(poison.orderingKey);
    expect(JSON.parse(byId[exhausted.id].data.toString()).orderId).toBe('o-exhausted');
    // What is held now is the second failure of each, with its new reason.
    expect((await listHeldUntil(2)).map((h) => h.error)).toEqual(['still no', 'still no']);
  }, 90000);
});

describe('the hold keeps a message once (issue 19)', () => {
  it('shows, keeps and redrives once a message dead-lettered twice by a consumer that crashed before acking it', async () => {
    const consumer = spec.consumers['always-fails'];
    const publisher = new MeshPublisher({ pubsub, spec, source: '//test/dlq' });
    const poison = publisher.prepare('orders', 'order.created', { orderId: 'o-twice', customerId: 'c', sequence: 1 });
    const original = toPubsubMessage(poison.event, poison.orderingKey);
    // The runtime's poison path, twice for one delivered message (m-7): the first ack never happened.
    const sink = new DeadLetterPublisher({ pubsub, consumer });
    const delivered = {
      data: Buffer.from(original.data),
      attributes: original.attributes,
      messageId: 'm-7',
      publishTime: new Date(),
      orderingKey: poison.orderingKey,
    };
    const info = { reason: 'schema', error: 'bad payload', consumer: consumer.name, sourceSubscription: 'projects/p/subscriptions/always-fails' };
    await sink.publish(delivered, info);
    await sink.publish({ ...delivered, deliveryAttempt: 2 }, info);
    // Another message with the same event id is another delivery: kept apart.
    await sink.publish({ ...delivered, messageId: 'm-8' }, info);
    await sink.flush();

    const held = await eventually(
      async () => {
        const h = await listHeld(pubsub, consumer, { idleMs: 1500 });
        return h.length >= 2 ? h : undefined;
      },
      30000,
      'the held copies',
    );
    expect(held).toHaveLength(2);
    // The extra copy is gone from the hold itself, not only from the listing.
    const left = await copiesIn(`${consumer.name}-dlq-hold`);
    expect(left.map((m) => m.attributes.messageId).sort()).toEqual(['m-7', 'm-8']);

    const redriven = await redriveHeld(pubsub, consumer, { idleMs: 2000 });
    expect(redriven.map((h) => h.eventId)).toEqual([poison.event.id]); // one event id: sent once
  }, 90000);
});

describe('a message dead-lettered by both the runtime and Pub/Sub is held once (issue 19)', () => {
  it('keeps the runtime copy, which says why, whichever of the two copies the hold has first', async () => {
    const consumer = spec.consumers['always-fails'];
    const publisher = new MeshPublisher({ pubsub, spec, source: '//test/dlq' });
    const sink = new DeadLetterPublisher({ pubsub, consumer });
    const info = { reason: 'not-json', error: 'bad body', consumer: consumer.name, sourceSubscription: 'projects/dlq/subscriptions/always-fails' };
    const runtimeCopyOf = (m: Message) =>
      sink.publish(
        { data: m.data, attributes: m.attributes, messageId: m.id, publishTime: m.publishTime, orderingKey: m.orderingKey, deliveryAttempt: m.deliveryAttempt },
        info,
      );
    // A: the runtime dead-letters it on its first delivery, its service dies before the ack, and
    // every later delivery dies too: Pub/Sub forwards it after max attempts (its copy comes second).
    // B: only Pub/Sub's copy at first; the runtime's copy reaches the hold after it.
    const { event: a } = await publisher.publish('orders', 'order.created', { orderId: 'o-both-a', customerId: 'c', sequence: 1 });
    const { event: b } = await publisher.publish('orders', 'order.created', { orderId: 'o-both-b', customerId: 'c', sequence: 1 });
    const delivered = new Map<string, Message>();
    const sub = pubsub.subscription('always-fails');
    sub.on('message', (m: Message) => {
      const first = !delivered.has(m.attributes['ce-id']);
      delivered.set(m.attributes['ce-id'], m);
      if (first && m.attributes['ce-id'] === a.id) void runtimeCopyOf(m).then(() => m.nack());
      else m.nack();
    });
    try {
      await eventually(async () => ((await copiesIn(`${consumer.name}-dlq-hold`)).length >= 3 ? true : undefined), 60000, 'both forwarded by Pub/Sub');
    } finally {
      await sub.close();
    }
    const raw = await copiesIn(`${consumer.name}-dlq-hold`);
    const forwardedA = raw.find((m) => m.attributes['ce-id'] === a.id && !m.attributes.messageId)!;
    // What the join relies on: Pub/Sub's copy names the subscription and the original publish time.
    expect(forwardedA.attributes.CloudPubSubDeadLetterSourceSubscription).toBe('always-fails');
    expect(Date.parse(forwardedA.attributes.CloudPubSubDeadLetterSourceTopicPublishTime)).toBe(delivered.get(a.id)!.publishTime.getTime());

    // Listed: A once (Pub/Sub's copy, read after the runtime's, is acked away), B once (only Pub/Sub's so far).
    const first = await listHeld(pubsub, consumer, { idleMs: 1500 });
    expect(first.map((h) => [h.eventId, h.reason]).sort()).toEqual(
      [
        [a.id, 'not-json'],
        [b.id, 'max-delivery-attempts'],
      ].sort(),
    );
    // B's runtime copy arrives after Pub/Sub's: it takes the place of Pub/Sub's copy, read first.
    await runtimeCopyOf(delivered.get(b.id)!);
    await sink.flush();
    const second = await eventually(
      async () => {
        const h = await listHeld(pubsub, consumer, { idleMs: 1500 });
        return h.some((m) => m.eventId === b.id && m.reason === 'not-json') ? h : undefined;
      },
      30000,
      "B's runtime copy listed",
    );
    expect(second.map((h) => [h.eventId, h.reason]).sort()).toEqual(
      [
        [a.id, 'not-json'],
        [b.id, 'not-json'],
      ].sort(),
    );
    // Gone from the hold itself: one copy of each, both the runtime's.
    const left = await copiesIn(`${consumer.name}-dlq-hold`);
    expect(left.map((m) => [m.attributes['ce-id'], m.attributes.reason]).sort()).toEqual(second.map((h) => [h.eventId, h.reason]).sort());

    const redriven = await redriveHeld(pubsub, consumer, { idleMs: 2000 });
    expect(redriven.map((h) => h.eventId).sort()).toEqual([a.id, b.id].sort());
  }, 120000);

  it("redrives a message once when Pub/Sub's copy is read before the runtime's", async () => {
    const consumer = spec.consumers['always-fails'];
    const publisher = new MeshPublisher({ pubsub, spec, source: '//test/dlq' });
    const { event } = await publisher.publish('orders', 'order.created', { orderId: 'o-both-c', customerId: 'c', sequence: 1 });
    let last: Message | undefined;
    const sub = pubsub.subscription('always-fails');
    sub.on('message', (m: Message) => {
      last = m;
      m.nack();
    });
    try {
      await eventually(async () => ((await copiesIn(`${consumer.name}-dlq-hold`)).length >= 1 ? true : undefined), 60000, 'forwarded by Pub/Sub');
    } finally {
      await sub.close();
    }
    const sink = new DeadLetterPublisher({ pubsub, consumer });
    await sink.publish(
      { data: last!.data, attributes: last!.attributes, messageId: last!.id, publishTime: last!.publishTime, orderingKey: last!.orderingKey },
      { reason: 'schema', error: 'bad', consumer: consumer.name, sourceSubscription: 'always-fails' },
    );
    await sink.flush();
    await eventually(async () => ((await copiesIn(`${consumer.name}-dlq-hold`)).length >= 2 ? true : undefined), 30000, 'both copies');
    const redriven = await redriveHeld(pubsub, consumer, { idleMs: 2000 });
    expect(redriven.map((h) => [h.eventId, h.reason])).toEqual([[event.id, 'max-delivery-attempts']]);
    // The runtime's copy of the message redriven is an extra: acked, not left to be redriven again.
    expect((await copiesIn(`${consumer.name}-dlq-hold`)).map((m) => m.attributes)).toEqual([]);
  }, 120000);
});

/** Every message a subscription holds now, read raw (held until idle, then released). */
async function copiesIn(subscription: string): Promise<Message[]> {
  const sub = pubsub.subscription(subscription);
  const got = new Map<string, Message>();
  await new Promise<void>((done) => {
    let idle = setTimeout(done, 2500);
    sub.on('message', (m: Message) => {
      got.set(m.id, m);
      clearTimeout(idle);
      idle = setTimeout(done, 2500);
    });
  });
  for (const m of got.values()) m.nack();
  await sub.close();
  return [...got.values()];
}

/** Lists the hold until it shows `count` messages (dead-lettering takes a few redeliveries). */
async function listHeldUntil(count: number, timeoutMs = 45000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const held = await listHeld(pubsub, spec.consumers['always-fails'], { idleMs: 1000 });
    if (held.length >= count || Date.now() > deadline) return held;
  }
}
