import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { PubSub } from '@google-cloud/pubsub';
import { bucketOf } from '../../shared/canary/routing';
import { fromPubsubMessage } from '../../shared/envelope';
import { applyLocal } from '../../shared/local';
import { EventRejectedError, MeshPublisher, PublishFailedError } from '../../shared/publisher';
import { topicSchemas } from '../../shared/schemas';
import { pubsubHost, testPubSub, uniqueProject } from '../support/emulators';
import { receive } from '../support/pull';
import { REPO_ROOT, defaultSpec } from '../support/specs';

const spec = defaultSpec();
let pubsub: PubSub;
let project: string;
let publisher: MeshPublisher;

beforeEach(async () => {
  project = uniqueProject('publisher');
  pubsub = testPubSub(project);
  await applyLocal({ pubsub, spec });
  publisher = new MeshPublisher({ pubsub, spec, source: '//test/publisher' });
});
afterEach(() => pubsub.close());

const order = (orderId: string, sequence: number) => ({ orderId, customerId: 'c-1', sequence, amountCents: 100 * sequence });

describe('MeshPublisher on the Pub/Sub emulator', () => {
  it('publishes with ordering keys, and each order reads back in publish order', async () => {
    const orders = ['o-a', 'o-b', 'o-c', 'o-d', 'o-e'];
    const sends: Promise<unknown>[] = [];
    for (let sequence = 1; sequence <= 10; sequence++) {
      for (const id of orders) sends.push(publisher.publish('orders', 'order.created', order(id, sequence)));
    }
    await Promise.all(sends);
    const messages = await receive(pubsub, 'processor-orders', 50);
    const seen = new Map<string, number[]>();
    for (const m of messages) {
      const event = fromPubsubMessage(m);
      const data = event.data as { orderId: string; sequence: number };
      expect(m.orderingKey).toBe(data.orderId);
      expect(m.attributes.mesh_bucket).toBe(String(bucketOf(data.orderId)).padStart(2, '0')); // one order, one canary side
      expect(event.subject).toBe(data.orderId);
      seen.set(data.orderId, [...(seen.get(data.orderId) ?? []), data.sequence]);
    }
    for (const id of orders) expect(seen.get(id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('round-trips the envelope through Pub/Sub, with defaults filled in', async () => {
    const { event, messageId } = await publisher.publish('analytics', 'like.created', { userId: 'u-7', postId: 'p-42' }, { id: 'evt-fixed-1' });
    const [message] = await receive(pubsub, 'warehouse-analytics', 1);
    expect(message.id).toBe(messageId);
    const back = fromPubsubMessage(message);
    expect(back).toEqual(event);
    expect(back).toMatchObject({ id: 'evt-fixed-1', type: 'like.created', source: '//test/publisher', schemaVersion: 'v2' });
    expect(back.data).toEqual({ userId: 'u-7', sessionId: '', page: '', element: '', postId: 'p-42', country: '', durationMs: 0 });
    // Its canary bucket (shared/canary/routing.ts): from the event id, the topic being unordered.
    expect(message.attributes.mesh_bucket).toBe(String(bucketOf('evt-fixed-1')).padStart(2, '0'));
  });

  it('sends ce-dataschema, ce-traceparent, ce-tracestate and extension attributes through Pub/Sub, and nothing of ce-schemaversion', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const { event } = await publisher.publish(
      'analytics',
      'click',
      { userId: 'u-8', page: '/x' },
      { schemaVersion: 'v1', traceparent, tracestate: 'rojo=00f067aa0ba902b7', extensions: { tenant: 'acme', partition7: 'p7' } },
    );
    const [message] = await receive(pubsub, 'warehouse-analytics', 1);
    expect(message.attributes).toMatchObject({
      'ce-dataschema': 'urn:event-mesh:schema:analytics:v1',
      'ce-traceparent': traceparent,
      'ce-tracestate': 'rojo=00f067aa0ba902b7',
      'ce-tenant': 'acme',
      'ce-partition7': 'p7',
    });
    expect(message.attributes).not.toHaveProperty('ce-schemaversion');
    expect(fromPubsubMessage(message)).toEqual(event);
  });

  it('rejects an event that fails its schema before sending, naming the field', async () => {
    await expect(publisher.publish('orders', 'order.paid', { orderId: 'o-1', customerId: 'c', sequence: 'two' })).rejects.toMatchObject({
      name: 'EventRejectedError',
      field: 'sequence',
    });
    await expect(publisher.publish('orders', 'order.refunded', order('o-1', 1))).rejects.toThrow(/does not carry event type "order.refunded"/);
    await expect(publisher.publish('payments', 'x', {})).rejects.toBeInstanceOf(EventRejectedError);
    // Nothing was sent: the first message on the subscription is the next valid one.
    await publisher.publish('orders', 'order.created', order('o-ok', 1));
    const [first] = await receive(pubsub, 'warehouse-orders', 1);
    expect(JSON.parse(first.data.toString()).orderId).toBe('o-ok');
  });

  it('resumes publishing on an ordering key after a failure', async () => {
    await pubsub.topic('orders').delete();
    const failed = await publisher.publish('orders', 'order.created', order('o-r', 1)).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(PublishFailedError);
    expect(failed).toMatchObject({ orderingKey: 'o-r', code: 5 });
    await applyLocal({ pubsub, spec, recreate: true });
    // Without resumePublishing the client would refuse every later message on o-r.
    const { retryOptions, eventId, eventTime } = failed as PublishFailedError;
    // A retry is the same event: same ce-id and ce-time (the warehouse dedups on both), in the same trace.
    expect(retryOptions).toEqual({ id: eventId, time: eventTime, traceparent: expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/) });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const retried = await publisher.publish('orders', 'order.created', order('o-r', 1), retryOptions);
    expect(retried.event.id).toBe(eventId);
    expect(retried.event.time).toBe(eventTime);
    expect(retried.event.traceparent).toBe(retryOptions.traceparent);
    await publisher.publish('orders', 'order.paid', order('o-r', 2));
    const messages = await receive(pubsub, 'processor-orders', 2);
    expect(messages.map((m) => JSON.parse(m.data.toString()).sequence)).toEqual([1, 2]);
    // The producer-side signal: one failure by its status, then two published.
    expect(publisher.stats().orders).toMatchObject({ published: 2, failed: 1, rejected: 0, throttled: 0, failuresByCode: { NOT_FOUND: 1 } });
    expect(publisher.stats().orders.lastFailure).toMatchObject({ code: 'NOT_FOUND', message: expect.stringMatching(/not.?found/i) });
  });

  it('counts per topic what was published, failed, rejected before sending and throttled', async () => {
    const strict = new MeshPublisher({ pubsub, spec, source: '//test/publisher', flowControl: { maxOutstandingMessages: 1, limitExceededBehavior: 'error' } });
    await strict.publish('analytics', 'view', { userId: 'u', sessionId: 's', page: '/' });
    await expect(strict.publish('analytics', 'no.such.type', {})).rejects.toThrow(EventRejectedError);
    await expect(strict.publish('analytics', 'view', { userId: 3 })).rejects.toThrow(EventRejectedError);
    // Two at once with room for one outstanding: the second is refused by flow control.
    const both = await Promise.allSettled([
      strict.publish('orders', 'order.created', order('o-s', 1)),
      strict.publish('orders', 'order.created', order('o-t', 1)),
    ]);
    expect(both.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
    expect(strict.stats()).toEqual({
      analytics: { published: 1, failed: 0, rejected: 2, throttled: 0, failuresByCode: {} },
      orders: { published: 1, failed: 0, rejected: 0, throttled: 1, failuresByCode: {} },
    });
    // A topic the spec lacks is nobody's to count.
    await expect(strict.publish('nope', 'view', {})).rejects.toThrow(EventRejectedError);
    expect(Object.keys(strict.stats())).toEqual(['analytics', 'orders']);
  });
});

describe('raw @google-cloud/pubsub producers', () => {
  const attributes = (type: string) => ({
    'ce-id': `raw-${Math.random()}`,
    'ce-type': type,
    'ce-source': '//legacy/shop',
    'ce-specversion': '1.0',
    'ce-time': new Date().toISOString(),
  });

  it('publish natural JSON with every field, which consumers decode like any other event', async () => {
    const data = { orderId: 'o-raw', customerId: 'c-9', sequence: 1, amountCents: 4200, currency: 'EUR', itemCount: 2, reason: '', carrier: '' };
    await pubsub.topic('orders', { messageOrdering: true }).publishMessage({ json: data, attributes: attributes('order.created'), orderingKey: 'o-raw' });
    const [message] = await receive(pubsub, 'warehouse-orders', 1);
    const event = fromPubsubMessage(message);
    expect(topicSchemas(spec, 'orders').read(event.data)).toEqual(data);
    expect(event.source).toBe('//legacy/shop');
  });

  it('get INVALID_ARGUMENT from Pub/Sub for data that fails the topic schema', async () => {
    const topic = pubsub.topic('orders');
    await expect(topic.publishMessage({ json: { orderId: 'o-raw', sequence: 1 }, attributes: attributes('order.created') })).rejects.toMatchObject({ code: 3 });
    await expect(topic.publishMessage({ data: Buffer.from('not json'), attributes: attributes('order.created') })).rejects.toMatchObject({ code: 3 });
  });

  it('works as documented in examples/raw-producer.ts', async () => {
    const { stdout } = await promisify(execFile)(path.join(REPO_ROOT, 'node_modules/.bin/tsx'), ['examples/raw-producer.ts'], {
      cwd: REPO_ROOT,
      env: { ...process.env, PUBSUB_EMULATOR_HOST: pubsubHost(), GOOGLE_CLOUD_PROJECT: project },
    });
    expect(stdout).toMatch(/published order.created/);
    expect(stdout).toMatch(/refused as expected: 3 INVALID_ARGUMENT/);
    const messages = await receive(pubsub, 'processor-orders', 2);
    const events = messages.map((m) => fromPubsubMessage(m));
    expect(events.map((e) => e.type)).toEqual(['order.created', 'order.paid']);
    for (const e of events) expect(topicSchemas(spec, 'orders').read(e.data, e.schemaVersion)).toMatchObject({ customerId: 'c-42' });
  });
});
