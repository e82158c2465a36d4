/**
 * Restarts mid-stream keep the totals: the dashboard runs as a child process (`node --import tsx
 * services/dashboard/index.ts`) pulling from the emulator; it is stopped with SIGTERM while events
 * flow (graceful: in-flight events flushed and acked, the rest nacked), restarted, killed with
 * SIGKILL mid-stream (a crash: unacked events come back after their ack deadline), restarted again,
 * and the totals in Firestore are then exactly the number of unique events published, duplicates
 * included.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { PubSub } from '@google-cloud/pubsub';
import type { Firestore } from '@google-cloud/firestore';
import type { StatsSnapshot } from '../../shared/consumer';
import { freePort } from '../../shared/emulators';
import { applyLocal } from '../../shared/local';
import { MeshPublisher } from '../../shared/publisher';
import { parseSpec } from '../../shared/spec';
import { DashboardReader } from '../../services/dashboard/reader';
import { eventually, firestoreHost, pubsubHost, testFirestore, testPubSub, uniqueProject } from '../support/emulators';
import { getJson, killAll, startServiceProcess, waitReady, type ServiceProcess } from '../support/service-process';
import { REPO_ROOT } from '../support/specs';

const specText = `
version: 1
project: dashboard-restart
topics:
  analytics:
    schema: { dir: ${path.join(REPO_ROOT, 'schemas/analytics')}, revisions: [v1, v2] }
    eventTypes: [click, view, like.created, like.removed]
  orders:
    schema: { dir: ${path.join(REPO_ROOT, 'schemas/orders')}, revisions: [v1, v2] }
    eventTypes: [order.created, order.paid, order.shipped, order.cancelled]
services:
  dashboard: { localPort: 18081 }
consumers:
  dashboard-analytics: { topic: analytics, delivery: pull, service: dashboard, ackDeadline: 10s, retry: { minBackoff: 0s, maxBackoff: 1s }, deadLetter: { maxAttempts: 50 }, flowControl: { maxMessages: 100 } }
  dashboard-orders: { topic: orders, delivery: pull, service: dashboard, ackDeadline: 10s, retry: { minBackoff: 0s, maxBackoff: 1s }, deadLetter: { maxAttempts: 50 }, flowControl: { maxMessages: 100 } }
warehouse: { dataset: test }
`;

const UNIQUE = 600;
const project = uniqueProject('dash-restart');
let dir: string;
let specFile: string;
let port: number;
let pubsub: PubSub;
let firestore: Firestore;
function startDashboard(): ServiceProcess {
  return startServiceProcess('dashboard', {
    MESH_SPEC: specFile,
    GOOGLE_CLOUD_PROJECT: project,
    PUBSUB_EMULATOR_HOST: pubsubHost(),
    FIRESTORE_EMULATOR_HOST: firestoreHost(),
    PORT: String(port),
    MESH_VERIFY_PUSH_AUTH: 'false',
    MESH_HEALTH: 'off',
    LOG_LEVEL: 'warn',
  });
}

const baseUrl = () => `http://127.0.0.1:${port}`;

async function handled(): Promise<number | undefined> {
  const s = await getJson<StatsSnapshot>(baseUrl(), '/stats');
  return s && Object.values(s.consumers).reduce((sum, c) => sum + c.done, 0);
}

const ready = () => waitReady(baseUrl(), 45000, 'the dashboard to be ready');
const counted = async (reader: DashboardReader) => (await reader.windows('hour', Date.now() - 2 * 3600_000)).reduce((s, w) => s + w.total, 0);

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-dash-restart-'));
  specFile = path.join(dir, 'mesh.yaml');
  fs.writeFileSync(specFile, specText);
  port = await freePort();
  pubsub = testPubSub(project);
  firestore = testFirestore(project);
  await applyLocal({ pubsub, spec: parseSpec(specText, specFile) });
});

afterAll(async () => {
  killAll();
  await pubsub?.close();
  await firestore?.terminate();
  fs.rmSync(dir, { recursive: true, force: true });
});

it('keeps exact totals across a graceful restart and a crash mid-stream', async () => {
  const publisher = new MeshPublisher({ pubsub, spec: parseSpec(specText, specFile), source: '//restart-test' });
  const events = Array.from({ length: UNIQUE }, (_, i) => {
    const topic = i % 3 === 0 ? 'orders' : 'analytics';
    const type = topic === 'orders' ? 'order.created' : 'click';
    const data = topic === 'orders' ? { orderId: `o-${i}`, customerId: `c-${i % 20}`, sequence: 1 } : { userId: `u-${i % 40}` };
    return { topic, type, data, id: publisher.prepare(topic, type, data).event.id };
  });
  // Published in waves (with every tenth event twice) so the restarts happen mid-stream.
  const publishing = (async () => {
    for (let wave = 0; wave < 10; wave++) {
      const slice = events.slice(wave * 60, wave * 60 + 60);
      await Promise.all([...slice, ...slice.filter((_, i) => i % 10 === 0)].map((e) => publisher.publish(e.topic, e.type, e.data, { id: e.id })));
      await new Promise((r) => setTimeout(r, 700));
    }
  })();

  const first = startDashboard();
  await ready();
  await eventually(async () => (((await handled()) ?? 0) >= 60 ? true : undefined), 30000, 'first events handled');
  const termAt = Date.now();
  first.child.kill('SIGTERM');
  expect((await first.exited).code).toBe(0);
  expect(Date.now() - termAt).toBeLessThan(10000);

  const second = startDashboard();
  await ready();
  await eventually(async () => (((await handled()) ?? 0) >= 60 ? true : undefined), 30000, 'more events handled');
  // A crash this time: whatever was acked is committed; the rest comes back after its ack deadline.
  second.child.kill('SIGKILL');
  expect((await second.exited).signal).toBe('SIGKILL');
  await publishing;

  const third = startDashboard();
  await ready();
  const reader = new DashboardReader(firestore);
  await eventually(async () => ((await counted(reader)) >= UNIQUE ? true : undefined), 60000, `${UNIQUE} events counted`).catch(async (error) => {
    const dedup = await Promise.all(['dashboard-analytics', 'dashboard-orders'].map((c) => firestore.collection(`consumers/${c}/dedup`).count().get()));
    const stats = await getJson(baseUrl(), '/stats');
    throw new Error(
      `${(error as Error).message}; counted ${await counted(reader)}, dedup ${dedup.map((d) => String(d.data().count)).join(',')}, stats ${JSON.stringify(stats)}\n${first.output().slice(-1500)}\n${third.output().slice(-2000)}`,
    );
  });
  await new Promise((r) => setTimeout(r, 3000));
  expect(await counted(reader)).toBe(UNIQUE);
  const dedup = await Promise.all(['dashboard-analytics', 'dashboard-orders'].map((c) => firestore.collection(`consumers/${c}/dedup`).count().get()));
  expect(dedup[0].data().count + dedup[1].data().count).toBe(UNIQUE);
  third.child.kill('SIGTERM');
  expect((await third.exited).code).toBe(0);
}, 180000);
