import type { Message, PubSub } from '@google-cloud/pubsub';
import { redriveHeld } from '../../shared/consumer/dead-letter-hold';
import { LocalTapHealth } from '../../shared/health';
import { applyLocal } from '../../shared/local';
import { MeshPublisher } from '../../shared/publisher';
import { eventually, testPubSub, uniqueProject } from '../support/emulators';
import { specFromText } from '../support/specs';

const spec = specFromText(`
version: 1
project: health-test
topics:
  orders:
    schema: { dir: schemas/orders, revisions: [v1, v2] }
    eventTypes: [order.created]
services:
  worker: { localPort: 18081 }
consumers:
  fast:
    topic: orders
    delivery: pull
    service: worker
    lagSlo: { oldestUnacked: 1h, backlog: 100 }
  stuck:
    topic: orders
    delivery: pull
    service: worker
    lagSlo: { oldestUnacked: 1h, backlog: 5 }
  failing:
    topic: orders
    delivery: pull
    service: worker
    retry: { minBackoff: 0s, maxBackoff: 1s }
    deadLetter: { maxAttempts: 5 }
warehouse: { dataset: test }
`);

let pubsub: PubSub;
beforeEach(async () => {
  pubsub = testPubSub(uniqueProject('health'));
  await applyLocal({ pubsub, spec });
});
afterEach(() => pubsub.close());

describe('local consumer health (tap subscriptions + acks reported by the runtimes)', () => {
  it('measures backlog, lag and dead letters per consumer against its SLO', async () => {
    // Acks kept whole and read by cursor, as a runtime's /stats/acks serves them.
    const acked: Record<string, string[]> = { fast: [], stuck: [], failing: [] };
    const cursors: Record<string, number[]> = { fast: [], stuck: [], failing: [] };
    const source = async (consumer: string, after: number) => {
      cursors[consumer].push(after);
      return { ids: acked[consumer].slice(after), next: acked[consumer].length };
    };
    const health = new LocalTapHealth(pubsub, spec, source);
    health.start();
    // "fast" acks everything; "stuck" never reads; "failing" nacks everything until Pub/Sub dead-letters it.
    const fast = pubsub.subscription('fast');
    fast.on('message', (m: Message) => {
      m.ack();
      acked.fast.push(m.id);
    });
    const publisher = new MeshPublisher({ pubsub, spec, source: '//test/health' });
    for (let i = 1; i <= 10; i++) await publisher.publish('orders', 'order.created', { orderId: `o-${i}`, customerId: 'c', sequence: 1 });
    const failing = pubsub.subscription('failing');
    failing.on('message', (m: Message) => m.nack());
    try {
      const result = await eventually(
        async () => {
          const all = await health.read();
          const byName = Object.fromEntries(all.map((h) => [h.consumer, h]));
          return byName.fast.backlog === 0 && byName.failing.deadLettered === 10 ? byName : undefined;
        },
        45000,
        'fast drained and failing dead-lettered',
      );
      expect(result.fast).toMatchObject({ backlog: 0, oldestUnackedSeconds: null, deadLettered: 0, breached: false, state: 'ok', source: 'local' });
      expect(result.stuck).toMatchObject({ backlog: 10, deadLettered: 0, breached: true, state: 'breached' });
      expect(result.stuck.oldestUnackedSeconds).toBeGreaterThan(0);
      // Dead letters are not lag: within the SLO, but flagged for someone to look at.
      expect(result.failing).toMatchObject({ backlog: 0, deadLettered: 10, breached: false, state: 'dead-letters' });
      // The monitor advanced its own cursor; the source kept every id for other readers.
      expect(acked.fast).toHaveLength(10);
      await health.read();
      expect(cursors.fast.at(-1)).toBe(10);

      // `mesh dead-letters failing --redrive` sends them back: they no longer wait in the hold.
      await failing.close();
      expect(await redriveHeld(pubsub, spec.consumers.failing, { idleMs: 1500 })).toHaveLength(10);
      const redriven = await eventually(
        async () => {
          const h = (await health.read()).find((x) => x.consumer === 'failing')!;
          return h.deadLettered === 0 ? h : undefined;
        },
        20000,
        'the redriven dead letters to leave the count',
      );
      expect(redriven.state).toBe('ok');
    } finally {
      await Promise.all([fast.close(), failing.close(), health.close()]);
    }
  });
});
