/**
 * The dashboard against the real Pub/Sub and Firestore emulators: real push deliveries to the
 * service on a free port, real StreamingPull with two instances on one subscription, and duplicates
 * (republished event ids) that must never count twice.
 */
import type { Message, PubSub, Subscription } from '@google-cloud/pubsub';
import type { Firestore } from '@google-cloud/firestore';
import { createLogger } from '../../shared/consumer';
import { freePort } from '../../shared/emulators';
import { applyLocal } from '../../shared/local';
import { MeshPublisher } from '../../shared/publisher';
import type { MeshSpec } from '../../shared/spec';
import { createDashboardApp, type DashboardApp } from '../../services/dashboard/app';
import { HLL_STANDARD_ERROR } from '../../services/dashboard/hll';
import { DashboardReader } from '../../services/dashboard/reader';
import type { WindowAggregate } from '../../services/dashboard/reader';
import { eventually, testFirestore, testPubSub, uniqueProject } from '../support/emulators';
import { specFromText, REPO_TOPICS_YAML } from '../support/specs';

// Pull consumers get a small flow window: with unary Pull (the emulator's transport) each instance
// takes at most that many at a time, so two instances on one subscription both get work.
const specFor = (delivery: 'push' | 'pull') => {
  const flow = delivery === 'pull' ? ', flowControl: { maxMessages: 20 }' : '';
  return specFromText(`
version: 1
project: dashboard-system
${REPO_TOPICS_YAML}
services:
  dashboard: { localPort: 18081 }
consumers:
  dashboard-analytics: { topic: analytics, delivery: ${delivery}, service: dashboard, ackDeadline: 10s, retry: { minBackoff: 0s, maxBackoff: 1s }, deadLetter: { maxAttempts: 5 }${flow} }
  dashboard-orders: { topic: orders, delivery: ${delivery}, service: dashboard, ackDeadline: 10s, retry: { minBackoff: 0s, maxBackoff: 1s }, deadLetter: { maxAttempts: 5 }${flow} }
warehouse: { dataset: test }
`);
};

const log = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

interface Workload {
  /** Unique events, each published once, plus `duplicates` of them published again with the same id. */
  publish(): Promise<void>;
  unique: number;
  duplicates: number;
  byType: Record<string, number>;
  users: number;
  likes: Record<string, number>;
}

/** `n` unique events over both topics, ~10 % of them published a second time with the same event id. */
function workload(publisher: MeshPublisher, n: number, tag: string): Workload {
  const events: { topic: string; type: string; data: Record<string, unknown>; id: string }[] = [];
  const byType: Record<string, number> = {};
  const likes: Record<string, number> = {};
  const users = new Set<string>();
  for (let i = 0; i < n; i++) {
    let topic: string;
    let type: string;
    let data: Record<string, unknown>;
    if (i % 4 === 3) {
      topic = 'orders';
      type = ['order.created', 'order.paid', 'order.shipped'][i % 3];
      data = { orderId: `${tag}-o${i}`, customerId: `${tag}-u${i % 37}`, sequence: 1 };
      users.add(`${tag}-u${i % 37}`);
    } else {
      topic = 'analytics';
      type = i % 4 === 0 ? 'like.created' : i % 4 === 1 ? 'click' : 'view';
      data = { userId: `${tag}-u${i % 53}`, postId: type === 'like.created' ? `${tag}-post-${i % 5}` : '' };
      users.add(`${tag}-u${i % 53}`);
      if (type === 'like.created') likes[`${tag}-post-${i % 5}`] = (likes[`${tag}-post-${i % 5}`] ?? 0) + 1;
    }
    byType[`${topic}|${type}`] = (byType[`${topic}|${type}`] ?? 0) + 1;
    events.push({ topic, type, data, id: publisher.prepare(topic, type, data).event.id });
  }
  const repeats = events.filter((_, i) => i % 10 === 5);
  return {
    unique: n,
    duplicates: repeats.length,
    byType,
    users: users.size,
    likes,
    async publish() {
      await Promise.all(events.map((e) => publisher.publish(e.topic, e.type, e.data, { id: e.id })));
      await Promise.all(repeats.map((e) => publisher.publish(e.topic, e.type, e.data, { id: e.id })));
    },
  };
}

const sum = (windows: WindowAggregate[], pick: (w: WindowAggregate) => number) => windows.reduce((s, w) => s + pick(w), 0);

async function totals(reader: DashboardReader) {
  const windows = await reader.windows('minute', Date.now() - 3600_000);
  const byType: Record<string, number> = {};
  for (const w of windows)
    for (const [topic, types] of Object.entries(w.events))
      for (const [type, n] of Object.entries(types)) byType[`${topic}|${type}`] = (byType[`${topic}|${type}`] ?? 0) + n;
  return { total: sum(windows, (w) => w.total), byType, windows, hours: await reader.windows('hour', Date.now() - 2 * 3600_000) };
}

/** Waits for `expected` events counted, then checks the count stays there (nothing late doubles it). */
async function expectExactly(reader: DashboardReader, expected: number, what: string) {
  // The emulator's own push (two requests in flight) takes ~8 events/s here, 300 in ~38 s on a quiet
  // machine: the wait leaves room for a busy one.
  await eventually(async () => ((await totals(reader)).total >= expected ? true : undefined), 100_000, `${expected} events counted (${what})`).catch(
    async (error) => {
      throw new Error(`${(error as Error).message}; counted ${(await totals(reader)).total}`);
    },
  );
  await new Promise((r) => setTimeout(r, 2500));
  const result = await totals(reader);
  expect(result.total).toBe(expected);
  expect(sum(result.hours, (w) => w.total)).toBe(expected);
  return result;
}

async function setup(delivery: 'push' | 'pull', port?: number) {
  const spec = specFor(delivery);
  const project = uniqueProject(`dash-${delivery}`);
  const pubsub = testPubSub(project);
  const firestore = testFirestore(project);
  await applyLocal({ pubsub, spec, serviceUrls: port ? { dashboard: `http://127.0.0.1:${port}` } : undefined });
  return {
    spec,
    project,
    pubsub,
    firestore,
    publisher: new MeshPublisher({ pubsub, spec, source: '//dashboard-test' }),
    reader: new DashboardReader(firestore),
  };
}

const app = (spec: MeshSpec, pubsub: PubSub, firestore: Firestore) =>
  createDashboardApp({ spec, pubsub, firestore, verifyPushAuth: false, log, health: false, pullTransport: 'unary' });

describe('push: counting once', () => {
  let env: Awaited<ReturnType<typeof setup>>;
  let service: DashboardApp;
  let port: number;
  const held: Message[] = [];
  let hold: Subscription;

  beforeAll(async () => {
    port = await freePort();
    env = await setup('push', port);
    service = app(env.spec, env.pubsub, env.firestore);
    await service.start(port, '127.0.0.1');
    hold = env.pubsub.subscription('dashboard-analytics-dlq-hold');
    hold.on('message', (m: Message) => {
      held.push(m);
      m.ack();
    });
  });
  afterAll(async () => {
    await service?.stop();
    await hold?.close();
    await env?.pubsub.close();
    await env?.firestore.terminate();
  });

  it('N events with 10% duplicates give exactly N counts, per type, per user, per post', async () => {
    const w = workload(env.publisher, 300, 'push');
    await w.publish();
    const result = await expectExactly(env.reader, w.unique, 'push');
    expect(result.byType).toEqual(w.byType);
    // Every duplicate reached the handler and was recognised as one.
    await eventually(
      () => (service.stats.of('dashboard-analytics').duplicate + service.stats.of('dashboard-orders').duplicate >= w.duplicates ? true : undefined),
      20000,
      'duplicates seen',
    );
    const dedup = await env.firestore.collection('consumers/dashboard-analytics/dedup').count().get();
    const dedupOrders = await env.firestore.collection('consumers/dashboard-orders/dedup').count().get();
    expect(dedup.data().count + dedupOrders.data().count).toBe(w.unique);
    // Unique users: HyperLogLog, within 3 standard errors of the truth.
    const hour = result.hours.find((h) => h.total > 0)!;
    const users = result.hours.length === 1 ? hour.users.total : w.users; // an hour boundary splits users between windows
    expect(Math.abs(users - w.users)).toBeLessThanOrEqual(Math.ceil(3 * HLL_STANDARD_ERROR * w.users));
    // Likes per post, top N of the hour.
    if (result.hours.length === 1) {
      const top = await env.reader.topPosts('hour', hour.window, 3);
      const expected = Object.entries(w.likes)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 3);
      expect(top.map((p) => p.likes)).toEqual(expected.map(([, n]) => n));
    }
    // The JSON API says the same.
    const api = await (await fetch(`http://127.0.0.1:${port}/api/windows?granularity=hour`)).json();
    expect(sum(api.windows, (x: WindowAggregate) => x.total)).toBe(w.unique);
  }, 150_000);

  it('dead-letters poison with a reason and counts nothing for it', async () => {
    const before = (await totals(env.reader)).total;
    const { event } = env.publisher.prepare('analytics', 'like.created', { userId: 'poison-user', postId: '' });
    const id = await env.pubsub.topic('analytics').publishMessage({
      data: Buffer.from(JSON.stringify(event.data)),
      attributes: {
        'ce-id': event.id,
        'ce-type': 'like.created',
        'ce-source': '//t',
        'ce-specversion': '1.0',
        'ce-time': event.time,
        'ce-dataschema': event.dataschema!,
      },
    });
    const badType = await env.pubsub.topic('analytics').publishMessage({
      data: Buffer.from(JSON.stringify({ ...event.data, postId: 'p' })),
      attributes: {
        'ce-id': `${event.id}-2`,
        'ce-type': 'purchase',
        'ce-source': '//t',
        'ce-specversion': '1.0',
        'ce-time': event.time,
        'ce-dataschema': event.dataschema!,
      },
    });
    const m = await eventually(() => held.find((x) => x.attributes.messageId === id), 15000, 'poison dead letter');
    expect(m.attributes).toMatchObject({ reason: 'handler', consumer: 'dashboard-analytics' });
    const m2 = await eventually(() => held.find((x) => x.attributes.messageId === badType), 15000, 'unknown type dead letter');
    expect(m2.attributes.reason).toBe('unknown-type');
    await new Promise((r) => setTimeout(r, 1000));
    expect((await totals(env.reader)).total).toBe(before);
    expect(service.ready).toBe(true);
  });

  it('serves the snapshot, the health endpoint and the acked ids by cursor', async () => {
    const base = `http://127.0.0.1:${port}`;
    const snapshot = await (await fetch(`${base}/api/snapshot`)).json();
    expect(snapshot.consumers.map((c: { name: string }) => c.name).sort()).toEqual(['dashboard-analytics', 'dashboard-orders']);
    expect(sum(snapshot.windows.minute, (x: WindowAggregate) => x.total)).toBeGreaterThanOrEqual(300);
    expect((await fetch(`${base}/api/windows?granularity=week`)).status).toBe(400);
    const page = await fetch(`${base}/api/stats/acks`);
    expect(page.status).toBe(404);
    const first = await (await fetch(`${base}/stats/acks?consumer=dashboard-analytics&after=0&limit=5`)).json();
    expect(first.ids).toHaveLength(5);
    const again = await (await fetch(`${base}/stats/acks?consumer=dashboard-analytics&after=0&limit=5`)).json();
    expect(again.ids).toEqual(first.ids); // a second reader gets the same ids
    const next = await (await fetch(`${base}/stats/acks?consumer=dashboard-analytics&after=${first.next}`)).json();
    expect(next.ids[0]).not.toBe(first.ids[0]);
    expect((await fetch(`${base}/stats/acks?consumer=nope`)).status).toBe(404);
    expect((await fetch(`${base}/`)).headers.get('content-type')).toMatch(/text\/html/);
    expect((await fetch(`${base}/vendor/chart.umd.js`)).status).toBe(200);
  });
});

describe('pull: two instances on one subscription', () => {
  it('produce one correct total', async () => {
    const env = await setup('pull');
    const a = app(env.spec, env.pubsub, env.firestore);
    const b = app(env.spec, env.pubsub, env.firestore);
    try {
      await Promise.all([a.start(0, '127.0.0.1'), b.start(0, '127.0.0.1')]);
      const w = workload(env.publisher, 300, 'pull');
      await w.publish();
      const result = await expectExactly(env.reader, w.unique, 'two instances');
      expect(result.byType).toEqual(w.byType);
      const handled = (s: DashboardApp) => s.stats.of('dashboard-analytics').done + s.stats.of('dashboard-orders').done;
      expect(handled(a) + handled(b)).toBe(w.unique);
      expect(handled(a)).toBeGreaterThan(0);
      expect(handled(b)).toBeGreaterThan(0);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      await env.pubsub.close();
      await env.firestore.terminate();
    }
  }, 150_000);
});
