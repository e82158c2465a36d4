/**
 * MeshPublisher's flow control against the real Pub/Sub emulator: with 'block' a burst of publishes
 * far beyond the limit all succeed while no more than the limit is ever outstanding; with 'error'
 * the publishes past the limit are refused at once with a typed error, and nothing of them is sent;
 * order within an ordering key holds while publishes wait.
 */
import type { PubSub } from '@google-cloud/pubsub';
import { applyLocal } from '../../shared/local';
import { MeshPublisher, PublisherFlowControlError } from '../../shared/publisher';
import { testPubSub, uniqueProject } from '../support/emulators';
import { receive } from '../support/pull';
import { REPO_TOPICS_YAML, specFromText } from '../support/specs';

const spec = specFromText(`
version: 1
project: publisher-flow-test
${REPO_TOPICS_YAML}
services:
  worker: { localPort: 18096 }
consumers:
  worker-orders:
    topic: orders
    delivery: pull
    service: worker
    ordering: true
    ackDeadline: 30s
    deadLetter: { maxAttempts: 5 }
  worker-analytics:
    topic: analytics
    delivery: pull
    service: worker
    ackDeadline: 30s
    deadLetter: { maxAttempts: 5 }
warehouse: { dataset: test }
`);

let pubsub: PubSub;

beforeAll(async () => {
  pubsub = testPubSub(uniqueProject('publisher-flow'));
  await applyLocal({ pubsub, spec });
});

afterAll(async () => {
  await pubsub?.close();
});

const order = (i: number, key = `fc-${i}`) => ({ orderId: key, customerId: 'c', sequence: i + 1, amountCents: 1 });

it('blocks a burst at the limit: everything is sent, never more than the limit outstanding, in order per key', async () => {
  const publisher = new MeshPublisher({ pubsub, spec, source: '//test', flowControl: { maxOutstandingMessages: 10 } });
  let most = 0;
  const watch = setInterval(() => (most = Math.max(most, publisher.outstanding('orders').messages)), 1);
  try {
    // 300 at once on one ordering key: the client may batch them; flow control lets 10 out at a time.
    const sent = await Promise.all(Array.from({ length: 300 }, (_, i) => publisher.publish('orders', 'order.created', order(i, 'fc-key'))));
    expect(sent).toHaveLength(300);
  } finally {
    clearInterval(watch);
  }
  expect(most).toBeGreaterThan(0);
  expect(most).toBeLessThanOrEqual(10);
  expect(publisher.outstanding('orders')).toEqual({ messages: 0, bytes: 0 });
  const received = await receive(pubsub, 'worker-orders', 300, 30_000);
  const sequences = received.map((m) => (JSON.parse(m.data.toString()) as { sequence: number }).sequence);
  expect(sequences).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
});

it("refuses past the limit with 'error', sending nothing of what it refused", async () => {
  const publisher = new MeshPublisher({ pubsub, spec, source: '//test', flowControl: { maxOutstandingMessages: 5, limitExceededBehavior: 'error' } });
  const view = (i: number) => ({ userId: `fc-${i}`, postId: 'p', durationMs: 1 });
  const results = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => publisher.publish('analytics', 'view', view(i))));
  const refused = results.filter((r) => r.status === 'rejected').map((r) => r.reason as Error);
  const sent = results.filter((r) => r.status === 'fulfilled').length;
  expect(refused.length).toBeGreaterThan(0);
  expect(refused.every((e) => e instanceof PublisherFlowControlError)).toBe(true);
  expect(refused[0].message).toMatch(/refused by publisher flow control: 5 messages/);
  expect(sent).toBeGreaterThanOrEqual(5);
  // What was refused never reached Pub/Sub: the subscription holds exactly what was sent.
  const received = await receive(pubsub, 'worker-analytics', sent, 30_000);
  expect(received).toHaveLength(sent);
  await expect(receive(pubsub, 'worker-analytics', 1, 2000)).rejects.toThrow(/received 0 of 1/);
});

it('refuses options that would never let anything out', () => {
  expect(() => new MeshPublisher({ pubsub, spec, source: '//test', flowControl: { maxOutstandingMessages: 0 } })).toThrow(/positive integer/);
});
