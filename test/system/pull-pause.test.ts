/**
 * PullConsumer.pause() / resume() against the real Pub/Sub emulator, by both transports: while
 * paused nothing new is handled and nothing is nacked for the pause (unary spends no delivery
 * attempt); what was published meanwhile is handled after resume, each once. A consumer paused
 * before start() pulls nothing at all.
 */
import type { PubSub } from '@google-cloud/pubsub';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger, PullConsumer, type Pipeline, type PullTransport } from '../../shared/consumer';
import { applyLocal } from '../../shared/local';
import { MeshPublisher } from '../../shared/publisher';
import { eventually, testPubSub, uniqueProject } from '../support/emulators';
import { REPO_TOPICS_YAML, specFromText } from '../support/specs';

const spec = specFromText(`
version: 1
project: pull-pause-test
${REPO_TOPICS_YAML}
services:
  worker: { localPort: 18094 }
consumers:
  worker-analytics:
    topic: analytics
    delivery: pull
    service: worker
    ackDeadline: 20s
    retry: { minBackoff: 0s, maxBackoff: 1s }
    deadLetter: { maxAttempts: 10 }
warehouse: { dataset: test }
`);

describe.each<PullTransport>(['unary', 'streaming'])('%s pull', (transport) => {
  let pubsub: PubSub;
  let publisher: MeshPublisher;

  beforeAll(async () => {
    pubsub = testPubSub(uniqueProject(`pull-pause-${transport}`));
    await applyLocal({ pubsub, spec });
    publisher = new MeshPublisher({ pubsub, spec, source: '//system-test' });
  });

  afterAll(async () => {
    await pubsub?.close();
  });

  const publish = (n: number, prefix: string) =>
    Promise.all(Array.from({ length: n }, (_, i) => publisher.publish('analytics', 'view', { userId: `${prefix}-${i}`, postId: 'p', durationMs: 1 })));

  it('handles nothing while paused and everything after resume, each once', async () => {
    /** event id -> delivery attempts seen */
    const seen = new Map<string, (number | undefined)[]>();
    const pipeline: Pipeline = async (message) => {
      const id = message.attributes['ce-id'];
      seen.set(id, [...(seen.get(id) ?? []), message.deliveryAttempt]);
      return 'done';
    };
    const consumer = new PullConsumer({ pubsub, consumer: spec.consumers['worker-analytics'], pipeline, log: createLogger({ level: 'silent' }), transport });
    await consumer.start();
    try {
      await publish(20, 'before');
      await eventually(() => (seen.size >= 20 ? true : undefined), 30_000, 'the first 20 handled');
      await consumer.pause();
      expect(consumer.paused).toBe(true);
      expect(consumer.ready).toBe(true);
      await publish(30, 'during');
      await sleep(3000);
      expect(seen.size).toBe(20);
      await consumer.resume();
      await eventually(() => (seen.size >= 50 ? true : undefined), 30_000, 'the 30 published while paused');
      await sleep(1000);
      expect(seen.size).toBe(50);
      // Each once; unary never took them while paused, so their first delivery is their first attempt.
      expect([...seen.values()].every((attempts) => attempts.length === 1)).toBe(true);
      if (transport === 'unary') expect([...seen.values()].map((a) => a[0] ?? 1).every((n) => n === 1)).toBe(true);
    } finally {
      await consumer.close();
    }
  });

  it('pulls nothing when paused before it starts', async () => {
    let handled = 0;
    const consumer = new PullConsumer({
      pubsub,
      consumer: spec.consumers['worker-analytics'],
      pipeline: async () => (handled++, 'done'),
      log: createLogger({ level: 'silent' }),
      transport,
    });
    await consumer.pause();
    await consumer.start();
    try {
      await publish(10, 'paused-start');
      await sleep(3000);
      expect(handled).toBe(0);
      await consumer.resume();
      await eventually(() => (handled >= 10 ? true : undefined), 30_000, 'the 10 after resume');
    } finally {
      await consumer.close();
    }
  });
});
