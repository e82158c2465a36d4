/**
 * The dashboard's operator views (GET /api/health, /api/hot-keys, /api/anomalies) answer from state
 * kept up to date in the background, against the real Pub/Sub and Firestore emulators: with the
 * health source hung and the aggregate reads hung, requests still answer, from what was kept, and
 * say how old it is (`asOf`, `ageSeconds`); the hung refresh is never started twice.
 */
import type { Firestore } from '@google-cloud/firestore';
import type { PubSub } from '@google-cloud/pubsub';
import { createLogger } from '../../shared/consumer';
import { freePort } from '../../shared/emulators';
import type { ConsumerHealth, HealthSource } from '../../shared/health';
import { judge } from '../../shared/health';
import type { TopicHotKeys } from '../../shared/health/hot-keys';
import { applyLocal } from '../../shared/local';
import { MeshPublisher } from '../../shared/publisher';
import { createDashboardApp, type DashboardApp } from '../../services/dashboard/app';
import { eventually, testFirestore, testPubSub, uniqueProject } from '../support/emulators';
import { REPO_TOPICS_YAML, specFromText } from '../support/specs';

const spec = specFromText(`
version: 1
project: dashboard-kept
${REPO_TOPICS_YAML}
services:
  dashboard: { localPort: 18081 }
consumers:
  dashboard-analytics: { topic: analytics, delivery: push, service: dashboard, ackDeadline: 10s, retry: { minBackoff: 0s, maxBackoff: 1s }, deadLetter: { maxAttempts: 5 } }
  dashboard-orders: { topic: orders, delivery: push, service: dashboard, ackDeadline: 10s, retry: { minBackoff: 0s, maxBackoff: 1s }, deadLetter: { maxAttempts: 5 } }
warehouse: { dataset: test }
`);

const log = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** A health source that answers its first read, then hangs every read until released. */
function hangingSource() {
  let reads = 0;
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const source: HealthSource = {
    async read(): Promise<ConsumerHealth[]> {
      if (reads++ > 0) await released;
      return Object.values(spec.consumers).map((c) =>
        judge({
          consumer: c.name,
          topic: c.topic,
          backlog: reads,
          oldestUnackedSeconds: null,
          deadLettered: 0,
          slo: { oldestUnackedSeconds: c.lagSlo.oldestUnackedSeconds, backlog: c.lagSlo.backlog },
          retentionSeconds: 604800,
          source: 'local',
        }),
      );
    },
    close: async () => release(),
  };
  return { source, reads: () => reads, release: () => release() };
}

let pubsub: PubSub;
let firestore: Firestore;
let service: DashboardApp;
let url: string;
const health = hangingSource();

beforeAll(async () => {
  const project = uniqueProject('dash-kept');
  pubsub = testPubSub(project);
  firestore = testFirestore(project);
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  await applyLocal({ pubsub, spec, serviceUrls: { dashboard: url } });
  service = createDashboardApp({
    spec,
    pubsub,
    firestore,
    verifyPushAuth: false,
    log,
    health: health.source,
    healthIntervalMs: 100,
    hotKeysIntervalMs: 100,
    anomaliesIntervalMs: 100,
  });
  await service.start(port, '127.0.0.1');
});

afterAll(async () => {
  health.release();
  await service?.stop();
  await pubsub?.close();
  await firestore?.terminate();
});

const get = async <T>(path: string): Promise<T> => {
  const response = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(10_000) });
  expect(response.status).toBe(200);
  return (await response.json()) as T;
};

interface HealthBody {
  source: string;
  at: string | null;
  asOf: string | null;
  ageSeconds: number | null;
  consumers: ConsumerHealth[];
  slos: unknown[];
}

it('serves the health from the last reading, with its age, while the health source and the aggregate reads hang', async () => {
  // The first reading is kept; every later one hangs (the source does not answer).
  const first = await eventually(async () => {
    const body = await get<HealthBody>('/api/health');
    return body.consumers.length ? body : undefined;
  });
  expect(first.asOf).toBe(first.at);
  expect(first.ageSeconds).toEqual(expect.any(Number));
  await eventually(() => (health.reads() >= 2 ? true : undefined));
  // The page's aggregate reads hang too: the health view does not depend on them.
  service.reader.windows = () => new Promise(() => undefined);
  service.reader.topPosts = () => new Promise(() => undefined);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const later = await get<HealthBody>('/api/health');
  expect(later.asOf).toBe(first.asOf);
  expect(later.consumers.map((c) => c.consumer).sort()).toEqual(['dashboard-analytics', 'dashboard-orders']);
  expect(later.consumers.every((c) => c.backlog === 1)).toBe(true);
  expect(later.ageSeconds!).toBeGreaterThan(first.ageSeconds!);
  expect(later.slos).toHaveLength(2);
  // One refresh at a time: the hung read is not started again beside itself.
  expect(health.reads()).toBe(2);
});

it('serves the hot keys and the anomalies from kept state, with their age', async () => {
  const publisher = new MeshPublisher({ pubsub, spec, source: '//kept-test' });
  await Promise.all([1, 2, 3].map((sequence) => publisher.publish('orders', 'order.created', { orderId: 'o-kept', customerId: 'c', sequence })));
  const hot = await eventually(async () => {
    const body = await get<{ at: string | null; asOf: string | null; ageSeconds: number | null; topics: TopicHotKeys[] }>('/api/hot-keys');
    return body.topics.find((t) => t.topic === 'orders')?.events === 3 ? body : undefined;
  }, 30_000);
  expect(hot.topics.find((t) => t.topic === 'orders')!.keys[0]).toMatchObject({ key: 'o-kept', events: 3 });
  expect(hot.asOf).toEqual(expect.any(String));
  expect(hot.at).toBe(hot.asOf);
  expect(hot.ageSeconds).toEqual(expect.any(Number));

  const anomalies = await get<{ total: number; latest: unknown[]; asOf: string | null; ageSeconds: number | null; kinds: string[] }>('/api/anomalies?latest=3');
  expect(anomalies).toMatchObject({ total: 0, latest: [] });
  expect(anomalies.asOf).toEqual(expect.any(String));
  expect(anomalies.ageSeconds).toEqual(expect.any(Number));
});
