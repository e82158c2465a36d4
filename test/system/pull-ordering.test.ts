/**
 * PullConsumer keeps each ordering key in publish order across its own retries, against the real
 * Pub/Sub emulator, by both transports. The emulator redelivers the messages sent back behind a
 * failed one out of order (after 1 done, 2 failed twice: 2, then 4 before 3; seen on 3 to 35 keys of
 * 40 before KeyOrder), so this fails without shared/consumer/ordering.ts.
 */
import type { PubSub } from '@google-cloud/pubsub';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger, PullConsumer, type Outcome, type Pipeline, type PullTransport } from '../../shared/consumer';
import { applyLocal } from '../../shared/local';
import { MeshPublisher } from '../../shared/publisher';
import { eventually, testPubSub, uniqueProject } from '../support/emulators';
import { REPO_TOPICS_YAML, specFromText } from '../support/specs';

const KEYS = 40;
const SEQUENCES = [1, 2, 3, 4];
/** Sequence 2 of every key fails this many times before it is done. */
const FAILURES = 2;

const specWith = (exactlyOnce: boolean) =>
  specFromText(`
version: 1
project: pull-ordering-test
${REPO_TOPICS_YAML}
services:
  worker: { localPort: 18093 }
consumers:
  worker-orders:
    topic: orders
    delivery: pull
    service: worker
    ordering: true
    exactlyOnce: ${exactlyOnce}
    ackDeadline: 60s
    retry: { minBackoff: 0s, maxBackoff: 1s }
    deadLetter: { maxAttempts: 10 }
    flowControl: { maxMessages: 500 }
warehouse: { dataset: test }
`);

describe.each<[PullTransport, boolean]>([
  ['unary', true],
  ['unary', false],
  ['streaming', true],
  ['streaming', false],
])('%s pull, exactly-once %s', (transport, exactlyOnce) => {
  const spec = specWith(exactlyOnce);
  let pubsub: PubSub;

  beforeAll(async () => {
    pubsub = testPubSub(uniqueProject(`pull-ordering-${transport}`));
    await applyLocal({ pubsub, spec });
  });

  afterAll(async () => {
    await pubsub?.close();
  });

  it('runs every key in publish order when a message fails and the ones behind it come back', async () => {
    /** event id -> [key, sequence] */
    const events = new Map<string, [string, number]>();
    /** key -> sequences done, in the order they were done */
    const done = new Map<string, number[]>();
    const failuresLeft = new Map<string, number>();
    const pipeline: Pipeline = async (message) => {
      const [key, sequence] = events.get(message.attributes['ce-id'])!;
      await sleep(5 + Math.random() * 25); // a handler's write
      const left = failuresLeft.get(key) ?? FAILURES;
      if (sequence === 2 && left > 0) {
        failuresLeft.set(key, left - 1);
        return 'retry' satisfies Outcome;
      }
      done.set(key, [...(done.get(key) ?? []), sequence]);
      return 'done' satisfies Outcome;
    };
    const consumer = new PullConsumer({ pubsub, consumer: spec.consumers['worker-orders'], pipeline, log: createLogger({ level: 'silent' }), transport });
    await consumer.start();
    const publisher = new MeshPublisher({ pubsub, spec, source: '//system-test' });
    try {
      const keys = Array.from({ length: KEYS }, (_, i) => `order-${i}`);
      await Promise.all(
        keys.map(async (key) => {
          for (const sequence of SEQUENCES) {
            const data = { orderId: key, customerId: 'c', sequence };
            const { event } = publisher.prepare('orders', 'order.created', data);
            events.set(event.id, [key, sequence]);
            await publisher.publish('orders', 'order.created', data, { id: event.id });
          }
        }),
      );
      await eventually(() => (keys.every((k) => (done.get(k)?.length ?? 0) >= SEQUENCES.length) ? true : undefined), 40_000, 'every key done');
      await sleep(300); // a late redelivery would show as a fifth entry
      const outOfOrder = keys.filter((k) => done.get(k)!.join() !== SEQUENCES.join()).map((k) => `${k}: ${done.get(k)!.join()}`);
      expect(outOfOrder).toEqual([]);
    } finally {
      await consumer.close();
    }
  }, 60_000);
});
