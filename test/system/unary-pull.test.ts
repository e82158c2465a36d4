/**
 * Unary pull (shared/consumer/unary-pull.ts with lease-extender.ts, settle-queue.ts and
 * subscriber-rpc.ts) against the real Pub/Sub emulator: the transport pull consumers use on the
 * emulator, because its StreamingPull ignores flow control. Through PullConsumer (the runtime's pull
 * path) and UnaryPuller itself.
 */
import { v1, type PubSub } from '@google-cloud/pubsub';
import { setTimeout as sleep } from 'node:timers/promises';
import { AckFailedError, createLogger, PullConsumer, UnaryPuller, type PulledMessage } from '../../shared/consumer';
import { applyLocal } from '../../shared/local';
import { MeshPublisher } from '../../shared/publisher';
import { eventually, testPubSub, uniqueProject } from '../support/emulators';
import { specFromText } from '../support/specs';

const spec = specFromText(`
version: 1
project: unary-pull-test
topics:
  analytics:
    schema: { dir: schemas/analytics, revisions: [v1, v2] }
    eventTypes: [click]
services:
  worker: { localPort: 18091 }
consumers:
  worker-clicks:
    topic: analytics
    delivery: pull
    service: worker
    exactlyOnce: true
    ackDeadline: 10s
    retry: { minBackoff: 0s, maxBackoff: 1s }
    deadLetter: { maxAttempts: 5 }
    flowControl: { maxMessages: 10 }
warehouse: { dataset: test }
`);
const consumer = spec.consumers['worker-clicks'];

/** Log lines the code under test wrote, to assert on warnings. */
const logLines: { msg?: string; message?: string }[] = [];
const log = createLogger({ level: 'warn', destination: { write: (line: string) => void logLines.push(JSON.parse(line)) } });

let pubsub: PubSub;
let publisher: MeshPublisher;

beforeAll(async () => {
  pubsub = testPubSub(uniqueProject('unary-pull'));
  await applyLocal({ pubsub, spec });
  publisher = new MeshPublisher({ pubsub, spec, source: '//system-test' });
});

afterAll(async () => {
  await pubsub?.close();
});

beforeEach(() => {
  logLines.length = 0;
});

/** A puller on worker-clicks that acks each message at once and records its id in `into`. */
const ackingPuller = (into: string[], options: { maxInFlight: number; leaseSeconds: number; minPullIntervalMs?: number }) =>
  new UnaryPuller({
    pubsub,
    subscription: 'worker-clicks',
    log,
    ...options,
    onMessage: (m) => {
      into.push(m.incoming.messageId);
      m.ack();
    },
  });

/** Publishes n clicks; returns their message ids. */
const publishClicks = async (n: number) =>
  (await Promise.all(Array.from({ length: n }, (_, i) => publisher.publish('analytics', 'click', { userId: `u-${i}` })))).map((p) => p.messageId);

it('keeps flow control exactly, renews leases past the ack deadline, and delivers a backlog once on an exactly-once subscription', async () => {
  // One message held 12 s (past the 10 s ack deadline), then 250 more at ~350 ms each through 10
  // slots: the backlog outlives the ack deadline. With the emulator's StreamingPull this backlog
  // comes back over and over (its acks then fail with INVALID_ARGUMENT).
  const [slowId] = await publishClicks(1);
  await publishClicks(250);
  const calls = new Map<string, number>();
  let inHandler = 0;
  let maxInHandler = 0;
  const pull = new PullConsumer({
    pubsub,
    consumer,
    log,
    transport: 'unary',
    pipeline: async (message) => {
      calls.set(message.messageId, (calls.get(message.messageId) ?? 0) + 1);
      maxInHandler = Math.max(maxInHandler, ++inHandler);
      await sleep(message.messageId === slowId ? 12_000 : 350);
      inHandler--;
      return 'done';
    },
  });
  await pull.start();
  try {
    expect(pull.ready).toBe(true);
    await eventually(() => (calls.size === 251 && inHandler === 0 ? true : undefined), 45_000, 'all 251 handled');
    await sleep(1500); // a redelivery, had there been one, would show now
  } finally {
    await pull.close();
  }
  expect(calls.get(slowId)).toBe(1);
  expect([...calls.values()].filter((n) => n > 1)).toEqual([]);
  expect(maxInHandler).toBe(10);
  expect(logLines.map((l) => l.message ?? l.msg)).toEqual([]); // no failed ack, no failed renewal
}, 60_000);

it('sends what is still out back at close, so it is redelivered at once rather than after its ack deadline', async () => {
  const ids = await publishClicks(5);
  const held: PulledMessage[] = [];
  const first = new UnaryPuller({ pubsub, subscription: 'worker-clicks', maxInFlight: 5, leaseSeconds: 60, log, onMessage: (m) => held.push(m) });
  await first.start();
  await eventually(() => (held.length === 5 ? true : undefined), 10_000, 'five pulled');
  expect(first.inFlight).toBe(5);
  await first.close();

  const again: string[] = [];
  const second = ackingPuller(again, { maxInFlight: 5, leaseSeconds: 10 });
  const start = Date.now();
  await second.start();
  try {
    await eventually(() => (again.length === 5 ? true : undefined), 8_000, 'the five again');
  } finally {
    await second.close();
  }
  expect(again.sort()).toEqual([...ids].sort());
  expect(Date.now() - start).toBeLessThan(8_000); // well before the first puller's 60 s lease
});

it('spaces its Pulls (one per minPullIntervalMs for a trickle) but drains a backlog in back-to-back full Pulls', async () => {
  // Each Pull costs the emulator work that grows with what it has seen (unary-pull.ts MIN_PULL_INTERVAL_MS),
  // so a trickle must not cost a Pull per message.
  const trickle: string[] = [];
  const spaced = ackingPuller(trickle, { maxInFlight: 10, leaseSeconds: 10, minPullIntervalMs: 300 });
  await spaced.start();
  const started = Date.now();
  try {
    for (let i = 0; i < 30; i++) {
      await publishClicks(1);
      await sleep(20);
    }
    await eventually(() => (trickle.length >= 30 ? true : undefined), 15_000, 'the trickle pulled');
  } finally {
    await spaced.stopPulling();
  }
  const pulls = spaced.pullsAnswered.count;
  // At most one Pull per 300 ms (plus the one in flight at the end); a Pull per message would be ~30.
  expect(pulls).toBeLessThanOrEqual(Math.ceil((Date.now() - started) / 300) + 1);
  expect(pulls).toBeLessThan(20);
  await spaced.close();

  // A backlog: a Pull that comes back full with half the slots free again is followed at once,
  // well inside the 5 s interval.
  await publishClicks(100);
  const drained: string[] = [];
  const draining = ackingPuller(drained, { maxInFlight: 25, leaseSeconds: 10, minPullIntervalMs: 5000 });
  const drainStarted = Date.now();
  await draining.start();
  try {
    await eventually(() => (drained.length >= 100 ? true : undefined), 15_000, 'the backlog pulled');
  } finally {
    await draining.close();
  }
  expect(Date.now() - drainStarted).toBeLessThan(4500);
}, 60_000);

it('reports an exactly-once ack Pub/Sub refuses (an expired ack id) as AckFailedError', async () => {
  await publishClicks(1);
  const pulled: PulledMessage[] = [];
  const again: PulledMessage[] = [];
  // Leases never renewed: the 10 s ack deadline runs out while the message is held, and the
  // message goes to the next puller with a new ack id.
  const puller = new UnaryPuller({
    pubsub,
    subscription: 'worker-clicks',
    maxInFlight: 1,
    leaseSeconds: 10,
    maxLeaseMs: 0,
    log,
    onMessage: (m) => pulled.push(m),
  });
  const next = new UnaryPuller({ pubsub, subscription: 'worker-clicks', maxInFlight: 1, leaseSeconds: 10, log, onMessage: (m) => again.push(m) });
  await puller.start();
  try {
    await eventually(() => (pulled.length ? true : undefined), 10_000, 'one pulled');
    await puller.stopPulling();
    await next.start();
    await eventually(() => (again.length ? true : undefined), 15_000, 'the same message again, after its ack deadline');
    expect(again[0].incoming.messageId).toBe(pulled[0].incoming.messageId);
    const refused = await pulled[0].ackWithResponse().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(AckFailedError);
    await expect(again[0].ackWithResponse()).resolves.toBeUndefined();
    // A second settle of the same message is refused locally.
    await expect(again[0].ackWithResponse()).rejects.toThrow(/already settled/);
  } finally {
    await Promise.all([puller.close(), next.close()]);
  }
}, 30_000);

it("pulls through its own generated client and closes it at close, leaving the PubSub object's own clients open", async () => {
  const closes = jest.spyOn(v1.SubscriberClient.prototype, 'close');
  try {
    const [id] = await publishClicks(1);
    const got: string[] = [];
    const onMessage = (m: PulledMessage) => (got.push(m.incoming.messageId), m.ack());
    const puller = new UnaryPuller({ pubsub, subscription: 'worker-clicks', maxInFlight: 1, leaseSeconds: 10, log, onMessage });
    await puller.start();
    expect(puller.path).toBe(`projects/${pubsub.projectId}/subscriptions/worker-clicks`);
    try {
      await eventually(() => (got.includes(id) ? true : undefined), 10_000, 'the click');
    } finally {
      await puller.close();
    }
    expect(closes).toHaveBeenCalledTimes(1);
    await expect(publishClicks(1)).resolves.toHaveLength(1); // the PubSub object still works
  } finally {
    closes.mockRestore();
  }
});

it('fails readiness while its subscription cannot be pulled, and says why', async () => {
  const puller = new UnaryPuller({ pubsub, subscription: 'no-such-subscription', maxInFlight: 1, leaseSeconds: 10, log, onMessage: () => undefined });
  await puller.start();
  try {
    await eventually(() => (puller.ready ? undefined : true), 5_000, 'not ready');
    expect(logLines.some((l) => (l.message ?? l.msg) === 'unary pull failed')).toBe(true);
  } finally {
    await puller.close();
  }
});

it('on an ordered exactly-once subscription, an ack goes through when the emulator has redelivered the key out of order', async () => {
  // The emulator redelivers a message nacked while a later one of its key waits behind that one
  // ([B, A]) and refuses an ack of A while B is out. The runtime nacks B (it waits for A) and acks A
  // at once: the puller sends the nack first, so the ack is taken and the key moves on.
  const [topic] = await pubsub.createTopic('unary-ordered');
  await topic.createSubscription('unary-ordered-sub', { enableMessageOrdering: true, enableExactlyOnceDelivery: true, ackDeadlineSeconds: 60 });
  const ordered = pubsub.topic('unary-ordered', { messageOrdering: true });
  const publish = (name: string) => ordered.publishMessage({ data: Buffer.from(name), attributes: { name }, orderingKey: 'k' });
  const pulled: PulledMessage[] = [];
  const puller = new UnaryPuller({ pubsub, subscription: 'unary-ordered-sub', maxInFlight: 10, leaseSeconds: 60, log, onMessage: (m) => pulled.push(m) });
  const names = () => pulled.map((m) => m.incoming.attributes.name);
  await puller.start();
  try {
    await publish('A');
    await eventually(() => (pulled.length === 1 ? true : undefined), 10_000, 'A pulled');
    await publish('B');
    await sleep(300);
    expect(names()).toEqual(['A']); // B waits for A: the key has one message out
    pulled.shift()!.nack();
    await eventually(() => (pulled.length === 2 ? true : undefined), 10_000, 'A and B pulled');
    expect(names()).toEqual(['B', 'A']); // the emulator's order; GCP would send A first
    const [b, a] = pulled.splice(0, 2);
    b.nack();
    await expect(a.ackWithResponse()).resolves.toBeUndefined();
    await eventually(() => (pulled.length === 1 ? true : undefined), 10_000, 'B again, at once');
    expect(names()).toEqual(['B']);
    await expect(pulled[0].ackWithResponse()).resolves.toBeUndefined();
  } finally {
    await puller.close();
  }
  expect(logLines).toEqual([]);
}, 40_000);
