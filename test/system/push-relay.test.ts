/**
 * The local push relay (shared/local/push-relay.ts) against the real Pub/Sub emulator, POSTing to a
 * node:http endpoint that reads bodies with the services' own parser (parseWrapped).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PubSub } from '@google-cloud/pubsub';
import { createLogger, parseWrapped, type ParsedPush } from '../../shared/consumer';
import { applyLocal } from '../../shared/local';
import { InstanceAvailability, PushRelay } from '../../shared/local/push-relay';
import { freePort } from '../../shared/emulators';
import { setTimeout as sleep } from 'node:timers/promises';
import { MeshPublisher } from '../../shared/publisher';
import { eventually, testPubSub, uniqueProject } from '../support/emulators';
import { receive } from '../support/pull';
import { specFromText } from '../support/specs';

const spec = specFromText(`
version: 1
project: relay-test
topics:
  analytics:
    schema: { dir: schemas/analytics, revisions: [v1, v2] }
    eventTypes: [click]
  orders:
    schema: { dir: schemas/orders, revisions: [v1, v2] }
    eventTypes: [order.created]
    orderingKey: orderId
services:
  web: { localPort: 18090, concurrency: 50 }
consumers:
  web-clicks:
    topic: analytics
    delivery: push
    service: web
    ackDeadline: 10s
    retry: { minBackoff: 0s, maxBackoff: 1s }
    deadLetter: { maxAttempts: 5 }
  web-orders:
    topic: orders
    delivery: push
    service: web
    ordering: true
    ackDeadline: 10s
    retry: { minBackoff: 0s, maxBackoff: 1s }
    deadLetter: { maxAttempts: 5 }
warehouse: { dataset: test }
`);

/** What the endpoint does with one delivery: the status to answer, after `delayMs`. */
type Behaviour = (push: ParsedPush) => { status: number; delayMs?: number };

let pubsub: PubSub;
let project: string;
let server: http.Server;
let endpoint: string;
let behaviour: Behaviour = () => ({ status: 204 });
/** Every delivery, in arrival order, with the status answered. */
let deliveries: { push: ParsedPush; status: number }[] = [];
let inFlight = 0;
let maxInFlight = 0;
/** Requests in flight per ordering key, and the most seen at once for any key. */
const keyInFlight = new Map<string, number>();
let maxPerKey = 0;
const relays: PushRelay[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const push = parseWrapped(Buffer.concat(chunks));
      const key = push.message.orderingKey;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      if (key) {
        keyInFlight.set(key, (keyInFlight.get(key) ?? 0) + 1);
        maxPerKey = Math.max(maxPerKey, keyInFlight.get(key)!);
      }
      const { status, delayMs = 0 } = behaviour(push);
      setTimeout(() => {
        inFlight--;
        if (key) keyInFlight.set(key, keyInFlight.get(key)! - 1);
        deliveries.push({ push, status });
        res.writeHead(status).end();
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

beforeEach(async () => {
  project = uniqueProject('relay');
  pubsub = testPubSub(project);
  await applyLocal({ pubsub, spec, push: 'relay' });
  deliveries = [];
  inFlight = maxInFlight = maxPerKey = 0;
  keyInFlight.clear();
  behaviour = () => ({ status: 204 });
});

afterEach(async () => {
  await Promise.all(relays.splice(0).map((r) => r.close()));
  await pubsub.close();
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function relay(consumer: string): Promise<PushRelay> {
  const r = new PushRelay({
    pubsub,
    consumer: spec.consumers[consumer],
    subscription: consumer,
    endpoint: `${endpoint}/pubsub/push/${consumer}`,
    maxInFlight: 50,
    log: createLogger({ level: 'silent' }),
  });
  relays.push(r);
  await r.start();
  return r;
}

const acked = (id: string) => deliveries.filter((d) => d.push.message.attributes['ce-id'] === id && d.status === 204);

it("posts GCP's wrapped push form, with the subscription, deliveryAttempt and orderingKey the emulator's own push leaves out", async () => {
  await relay('web-orders');
  const publisher = new MeshPublisher({ pubsub, spec, source: '//test/relay' });
  const { event } = await publisher.publish('orders', 'order.created', { orderId: 'o-1', customerId: 'c', sequence: 1 });
  await eventually(() => (acked(event.id).length ? true : undefined), 15000, 'the delivery');
  const [{ push }] = deliveries;
  expect(push).toMatchObject({
    form: 'wrapped',
    subscription: `projects/${project}/subscriptions/web-orders`,
    message: { orderingKey: 'o-1', deliveryAttempt: 1 },
  });
  expect(push.message.attributes).toMatchObject({ 'ce-id': event.id, 'ce-type': 'order.created' });
  expect(JSON.parse(push.message.data.toString())).toMatchObject({ orderId: 'o-1' });
  expect(push.message.publishTime!.getTime()).toBeGreaterThan(Date.now() - 60_000);
});

it('keeps up to maxInFlight requests in flight (the emulator keeps two)', async () => {
  behaviour = () => ({ status: 204, delayMs: 200 });
  const publisher = new MeshPublisher({ pubsub, spec, source: '//test/relay' });
  await Promise.all(Array.from({ length: 100 }, (_, i) => publisher.publish('analytics', 'click', { userId: `u-${i}` })));
  const r = await relay('web-clicks'); // a backlog: the window, not the publisher, sets the pace
  await eventually(() => (r.stats.acked >= 100 ? true : undefined), 20000, '100 deliveries acked');
  expect(maxInFlight).toBeGreaterThanOrEqual(20);
  expect(maxInFlight).toBeLessThanOrEqual(50);
  expect(r.stats).toMatchObject({ acked: 100, nacked: 0 });
  // Its progress (logged every minute by mesh up) says it is pulling, with nothing left out.
  const progress = r.progress();
  expect(progress).toMatchObject({ acked: 100, inFlight: 0 });
  expect(progress.pulls).toBeGreaterThan(0);
  expect(progress.lastPullAgoMs).toBeLessThan(5000);
});

it('pulls only what it can post: a backlog longer than the ack deadline is delivered once, not redelivered', async () => {
  behaviour = () => ({ status: 204, delayMs: 300 });
  const r = new PushRelay({
    pubsub,
    consumer: spec.consumers['web-clicks'],
    subscription: 'web-clicks',
    endpoint: `${endpoint}/pubsub/push/web-clicks`,
    maxInFlight: 10,
    log: createLogger({ level: 'silent' }),
  });
  relays.push(r);
  const publisher = new MeshPublisher({ pubsub, spec, source: '//test/relay' });
  await Promise.all(Array.from({ length: 400 }, (_, i) => publisher.publish('analytics', 'click', { userId: `u-${i}` })));
  await r.start();
  // 400 x 300 ms / 10 in flight = 12 s, more than the 10 s ack deadline.
  await eventually(() => (deliveries.length >= 400 ? true : undefined), 40000, '400 deliveries');
  await new Promise((resolve) => setTimeout(resolve, 1000));
  expect(new Set(deliveries.map((d) => d.push.message.messageId)).size).toBe(400);
  expect(deliveries).toHaveLength(400);
  expect(maxInFlight).toBe(10);
}, 60000);

it('posts one message per ordering key at a time, in order; a failing message holds its key back until it succeeds', async () => {
  const publisher = new MeshPublisher({ pubsub, spec, source: '//test/relay' });
  const failFirst = new Map<string, number>();
  behaviour = (push) => {
    const id = push.message.attributes['ce-id'];
    const left = failFirst.get(id) ?? 0;
    if (left > 0) failFirst.set(id, left - 1);
    return { status: left > 0 ? 503 : 204, delayMs: 5 + Math.floor(Math.random() * 20) };
  };
  const ids: Record<string, string[]> = {};
  for (const key of ['a', 'b', 'c']) {
    ids[key] = [];
    for (let seq = 1; seq <= 8; seq++) {
      const { event } = publisher.prepare('orders', 'order.created', { orderId: key, customerId: 'c', sequence: seq });
      ids[key].push(event.id);
    }
  }
  failFirst.set(ids.a[2], 2); // a's third message fails twice
  await Promise.all(
    Object.values(ids).flatMap((list, k) =>
      list.map((id, i) => publisher.publish('orders', 'order.created', { orderId: 'abc'[k], customerId: 'c', sequence: i + 1 }, { id })),
    ),
  );
  await relay('web-orders');
  await eventually(() => (deliveries.filter((d) => d.status === 204).length >= 24 ? true : undefined), 30000, 'all 24 acked');
  for (const key of ['a', 'b', 'c']) {
    const acceptedInOrder = deliveries.filter((d) => d.push.message.orderingKey === key && d.status === 204).map((d) => d.push.message.attributes['ce-id']);
    expect(acceptedInOrder).toEqual(ids[key]);
  }
  expect(maxPerKey).toBe(1);
  expect(deliveries.filter((d) => d.push.message.attributes['ce-id'] === ids.a[2]).map((d) => [d.status, d.push.message.deliveryAttempt])).toEqual([
    [503, 1],
    [503, 2],
    [204, 3],
  ]);
}, 45000);

it('nacks what keeps failing until the emulator dead-letters it after maxAttempts', async () => {
  behaviour = () => ({ status: 500 });
  const r = await relay('web-clicks');
  const publisher = new MeshPublisher({ pubsub, spec, source: '//test/relay' });
  const { event, messageId } = await publisher.publish('analytics', 'click', { userId: 'u-doomed' });
  const [dead] = await receive(pubsub, 'web-clicks-dlq-hold', 1, 30000);
  expect(r.answeredFailures(messageId)).toBe(5); // the service answered each failure: retried as transient
  expect(r.answeredFailures('never-seen')).toBeUndefined();
  expect(dead.attributes['ce-id']).toBe(event.id);
  expect(Number(dead.attributes.CloudPubSubDeadLetterSourceDeliveryCount)).toBe(5);
  expect(deliveries.map((d) => d.push.message.deliveryAttempt).slice(0, 5)).toEqual([1, 2, 3, 4, 5]);
  expect(r.stats.acked).toBe(0);
  expect(r.stats.nacked).toBeGreaterThanOrEqual(5);
}, 45000);

it('holds a delivery pending while the service restarts, as Cloud Run does, so the restart costs no delivery attempt', async () => {
  // Nothing listens on this port at first: the service is down.
  const port = await freePort();
  const received: ParsedPush[] = [];
  const restarted = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push(parseWrapped(Buffer.concat(chunks)));
      res.writeHead(204).end();
    });
  });
  const availability = new InstanceAvailability();
  const r = new PushRelay({
    pubsub,
    consumer: spec.consumers['web-clicks'],
    subscription: 'web-clicks',
    endpoint: `http://127.0.0.1:${port}/pubsub/push/web-clicks`,
    maxInFlight: 10,
    availability,
    log: createLogger({ level: 'silent' }),
  });
  relays.push(r);
  await r.start();
  const publisher = new MeshPublisher({ pubsub, spec, source: '//test/relay' });
  const { event } = await publisher.publish('analytics', 'click', { userId: 'u-waits' });
  await sleep(2500); // refused for 2.5 s: the relay keeps the request pending
  expect(r.stats).toMatchObject({ acked: 0, nacked: 0 });
  await new Promise<void>((resolve) => restarted.listen(port, '127.0.0.1', resolve));
  try {
    await eventually(() => (r.stats.acked === 1 ? true : undefined), 10_000, 'the pending delivery');
    expect(received.map((p) => [p.message.attributes['ce-id'], p.message.deliveryAttempt])).toEqual([[event.id, 1]]);
    expect(r.stats.nacked).toBe(0);
    // It learnt the start-up took ~2.5 s: still the 10 s floor.
    expect(availability.pendingWindowMs()).toBe(10_000);
  } finally {
    await new Promise((resolve) => restarted.close(resolve));
  }
}, 30_000);
