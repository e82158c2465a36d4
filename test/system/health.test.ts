import type { Message, PubSub } from '@google-cloud/pubsub';
import { redriveHeld } from '../../shared/consumer/hold-actions';
import { LocalTapHealth } from '../../shared/health';
import { applyLocal } from '../../shared/local';
import { MeshPublisher } from '../../shared/publisher';
import { toPubsubMessage } from '../../shared/envelope';
import { REPLAY_ID_ATTRIBUTE } from '../../shared/replay';
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
    ackDeadline: 10s
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

  it("measures a consumer's private path (replays) apart from its real-time lag, and a replay is not a redrive", async () => {
    const acked: Record<string, string[]> = { fast: [], stuck: [], failing: [] };
    const health = new LocalTapHealth(pubsub, spec, async (consumer, after) => ({ ids: acked[consumer].slice(after), next: acked[consumer].length }));
    health.start();
    const redrive = pubsub.subscription('stuck-redrive');
    const received: Message[] = [];
    redrive.on('message', (m: Message) => received.push(m));
    try {
      // One dead letter waits in the hold of "stuck" ...
      const publisher = new MeshPublisher({ pubsub, spec, source: '//test/health' });
      const held = publisher.prepare('orders', 'order.created', { orderId: 'held', customerId: 'c', sequence: 1 });
      await pubsub.topic('stuck-dlq').publishMessage(toPubsubMessage(held.event, held.orderingKey));
      await eventually(
        async () => ((await health.read()).find((x) => x.consumer === 'stuck')!.deadLettered === 1 ? true : undefined),
        20000,
        'the dead letter',
      );
      // ... then a replay of 6 events, which it does not ack yet: the private path's backlog, never
      // the real-time SLO (backlog 5), and not a redrive (the dead letter still waits).
      for (let i = 0; i < 6; i++) {
        const { event, orderingKey } = publisher.prepare('orders', 'order.created', { orderId: `r-${i}`, customerId: 'c', sequence: 1 });
        const message = toPubsubMessage(event, orderingKey);
        await pubsub.topic('stuck-redrive').publishMessage({ ...message, attributes: { ...message.attributes, [REPLAY_ID_ATTRIBUTE]: 'rp-test' } });
      }
      const waiting = await eventually(
        async () => {
          const h = (await health.read()).find((x) => x.consumer === 'stuck')!;
          return h.privatePath?.backlog === 6 ? h : undefined;
        },
        20000,
        'the replay on the private path',
      );
      expect(waiting).toMatchObject({ backlog: 0, deadLettered: 1, breached: false, state: 'dead-letters' });
      expect(waiting.privatePath!.oldestUnackedSeconds).toBeGreaterThanOrEqual(0);
      // The consumer acks them (its runtime reports the ids): the private path drains.
      await eventually(() => (received.length >= 6 ? true : undefined), 20000, 'the replayed messages delivered');
      for (const m of received) m.ack();
      acked.stuck.push(...received.map((m) => m.id));
      const drained = await eventually(
        async () => {
          const h = (await health.read()).find((x) => x.consumer === 'stuck')!;
          return h.privatePath?.backlog === 0 ? h : undefined;
        },
        20000,
        'the private path drained',
      );
      expect(drained.privatePath!.oldestUnackedSeconds).toBeNull();
    } finally {
      await Promise.all([redrive.close(), health.close()]);
    }
  });

  it('after a consumer process restarts, forgets acks it can no longer hear of once their ack deadline has passed twice', async () => {
    // The old process acked 5 messages but reported only 2 before it was killed: the other 3 were
    // acked (Pub/Sub will not redeliver them) and their report is lost with the process.
    const reported: string[] = [];
    let restarted = false;
    const source = async (consumer: string, after: number) => {
      if (consumer !== 'fast') return { ids: [], next: 0 };
      if (restarted) {
        restarted = false;
        return { ids: [], next: 0, restarted: true };
      }
      return { ids: reported.slice(after), next: reported.length };
    };
    const health = new LocalTapHealth(pubsub, spec, source);
    health.start();
    const fast = pubsub.subscription('fast');
    const ids: string[] = [];
    fast.on('message', (m: Message) => {
      m.ack();
      ids.push(m.id);
    });
    const publisher = new MeshPublisher({ pubsub, spec, source: '//test/health' });
    for (let i = 1; i <= 5; i++) await publisher.publish('orders', 'order.created', { orderId: `r-${i}`, customerId: 'c', sequence: 1 });
    try {
      await eventually(() => (ids.length === 5 ? true : undefined), 20000, 'fast acked all 5');
      reported.push(...ids.slice(0, 2));
      const fastHealth = async () => (await health.read()).find((h) => h.consumer === 'fast')!;
      await eventually(async () => ((await fastHealth()).backlog === 3 ? true : undefined), 20000, 'the 3 unreported acks to show as backlog');
      restarted = true; // the new process numbers its acks from 0 and reports none of the old ones
      const before = Date.now();
      expect((await fastHealth()).backlog).toBe(3);
      // Presumed acked after twice the ack deadline (10 s here) and 10 s: not redelivered by then, so acked.
      const drained = await eventually(async () => ((await fastHealth()).backlog === 0 ? Date.now() : undefined), 45000, 'the unreported acks presumed');
      expect(drained - before).toBeGreaterThanOrEqual(2 * spec.consumers.fast.ackDeadlineSeconds * 1000 + 10_000 - 1000);
    } finally {
      await Promise.all([fast.close(), health.close()]);
    }
  }, 90_000);

  it('when the monitor itself starts again (a dashboard killed), messages it inherits are presumed acked after twice their ack deadline; later ones count as ever', async () => {
    // Published before this monitor started, and acked by a consumer process whose reports went to the
    // monitor before it (and died with it): the new monitor's ack source never names them.
    const publisher = new MeshPublisher({ pubsub, spec, source: '//test/health' });
    for (let i = 1; i <= 3; i++) await publisher.publish('orders', 'order.created', { orderId: `old-${i}`, customerId: 'c', sequence: 1 });
    const health = new LocalTapHealth(pubsub, spec, async () => ({ ids: [], next: 0 }));
    health.start();
    try {
      const byName = async () => Object.fromEntries((await health.read()).map((h) => [h.consumer, h]));
      await eventually(async () => ((await byName()).fast.backlog === 3 ? true : undefined), 20000, 'the inherited messages seen');
      for (let i = 1; i <= 2; i++) await publisher.publish('orders', 'order.created', { orderId: `new-${i}`, customerId: 'c', sequence: 1 });
      const before = Date.now();
      // Nobody reads "fast" now: the 2 new messages are its backlog, the 3 old are presumed acked.
      const settled = await eventually(
        async () => {
          const h = await byName();
          return h.fast.backlog === 2 ? Date.now() : undefined;
        },
        60000,
        'inherited messages presumed, new ones kept',
      );
      expect(settled - before).toBeGreaterThanOrEqual(2 * spec.consumers.fast.ackDeadlineSeconds * 1000 + 10_000 - 5000);
    } finally {
      await health.close();
    }
  }, 90_000);
});
