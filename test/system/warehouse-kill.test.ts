/**
 * The warehouse as a process (`node --import tsx services/warehouse/index.ts`) against the Pub/Sub
 * emulator and a local BigQuery endpoint served by this test: SIGTERM mid-stream writes the buffered
 * rows and exits 0 with every acked row stored; SIGKILL mid-batch loses the buffer but not the
 * events (nothing was acked); after a restart every event is in the tables exactly once, and every
 * orders message once in the raw archive.
 */
(globalThis as { Bun?: unknown }).Bun ??= {};
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BigQuery } from '@google-cloud/bigquery';
import type { PubSub } from '@google-cloud/pubsub';
import { startLocalBigQuery, type LocalBigQuery } from '../../shared/bigquery-local';
import type { StatsSnapshot } from '../../shared/consumer';
import { freePort } from '../../shared/emulators';
import { applyLocal } from '../../shared/local';
import { MeshPublisher } from '../../shared/publisher';
import { parseSpec } from '../../shared/spec';
import { eventually, pubsubHost, testPubSub, uniqueProject } from '../support/emulators';
import { getJson as getServiceJson, killAll, startServiceProcess, waitReady, type ServiceProcess } from '../support/service-process';
import { REPO_TOPICS_YAML } from '../support/specs';

process.env.METADATA_SERVER_DETECTION = 'none';

// Small flow control and a long batch delay: the loader takes ~100 messages per second per
// consumer, so the signals land mid-stream, and a batch is always waiting when SIGKILL comes.
const specText = `
version: 1
project: warehouse-kill
${REPO_TOPICS_YAML}
services:
  warehouse: { localPort: 18083 }
consumers:
  warehouse-analytics: { topic: analytics, delivery: pull, service: warehouse, ackDeadline: 10s, retry: { minBackoff: 0s, maxBackoff: 1s }, deadLetter: { maxAttempts: 50 }, flowControl: { maxMessages: 100 } }
  warehouse-orders: { topic: orders, delivery: pull, service: warehouse, ackDeadline: 10s, retry: { minBackoff: 0s, maxBackoff: 1s }, deadLetter: { maxAttempts: 50 }, flowControl: { maxMessages: 100 } }
  archive-orders: { topic: orders, delivery: bigquery, table: raw_orders, ackDeadline: 10s, retry: { minBackoff: 0s, maxBackoff: 1s }, deadLetter: { maxAttempts: 50 }, flowControl: { maxMessages: 100 } }
warehouse: { dataset: event_mesh }
`;

const ORDERS = 400; // x3 events
const CLICKS = 300;
const TOTAL = ORDERS * 3 + CLICKS;

const project = uniqueProject('wkill');
let dir: string;
let port: number;
let pubsub: PubSub;
let local: LocalBigQuery;
let bigquery: BigQuery;
function startWarehouse(): ServiceProcess {
  return startServiceProcess('warehouse', {
    MESH_SPEC: path.join(dir, 'mesh.yaml'),
    GOOGLE_CLOUD_PROJECT: project,
    PUBSUB_EMULATOR_HOST: pubsubHost(),
    BIGQUERY_EMULATOR_HOST: local.url,
    PORT: String(port),
    LOG_LEVEL: 'info',
    WAREHOUSE_BATCH_DELAY_MS: '1000',
  });
}

const getJson = <T>(route: string) => getServiceJson<T>(`http://127.0.0.1:${port}`, route);

const done = (s: StatsSnapshot) => Object.values(s.consumers).reduce((sum, c) => sum + c.done, 0);
const count = async (sql: string) => Number((await bigquery.query(sql))[0][0].c);
const storedEvents = async () =>
  (await count('SELECT COUNT(*) AS c FROM event_mesh.orders_events')) + (await count('SELECT COUNT(*) AS c FROM event_mesh.analytics_events'));

const waitWarehouseReady = () => waitReady(`http://127.0.0.1:${port}`, 45_000, 'the warehouse to be ready');

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warehouse-kill-'));
  fs.writeFileSync(path.join(dir, 'mesh.yaml'), specText);
  port = await freePort();
  local = await startLocalBigQuery({ port: await freePort(), dataFile: path.join(dir, 'bigquery.duckdb') });
  bigquery = new BigQuery({ projectId: project, apiEndpoint: local.url });
  pubsub = testPubSub(project);
  await applyLocal({ pubsub, spec: parseSpec(specText, path.join(dir, 'mesh.yaml')) });
});

afterAll(async () => {
  killAll();
  await pubsub?.close();
  await local?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

it('loses nothing across a SIGTERM and a SIGKILL mid-batch, and stores every event once', async () => {
  const first = startWarehouse();
  await waitWarehouseReady();
  const publisher = new MeshPublisher({ pubsub, spec: parseSpec(specText, path.join(dir, 'mesh.yaml')), source: '//kill-test' });
  const sends: Promise<unknown>[] = [];
  for (const [step, type] of ['order.created', 'order.paid', 'order.shipped'].entries()) {
    for (let o = 0; o < ORDERS; o++) sends.push(publisher.publish('orders', type, { orderId: `order-${o}`, customerId: 'c', sequence: step + 1 }));
  }
  for (let i = 0; i < CLICKS; i++) sends.push(publisher.publish('analytics', 'click', { userId: `user-${i % 30}` }));
  await Promise.all(sends);

  // SIGTERM mid-stream: the buffered batch is written at once, and whatever was acked is stored.
  await eventually(
    async () => {
      const s = await getJson<StatsSnapshot>('/stats');
      return s && done(s) >= TOTAL * 0.15 ? true : undefined;
    },
    60_000,
    'the first events to be loaded',
  );
  const signalledAt = Date.now();
  first.child.kill('SIGTERM');
  const exit = await first.exited;
  expect(exit.code).toBe(0);
  expect(Date.now() - signalledAt).toBeLessThan(10_000);
  const stopped = first.lines.find((l) => l.message === 'stopped') as { stats: Record<string, { done: number }> } | undefined;
  expect(stopped).toBeDefined();
  const ackedBeforeStop = Object.values(stopped!.stats).reduce((sum, c) => sum + c.done, 0);
  expect(ackedBeforeStop).toBeLessThan(TOTAL); // it really was mid-stream
  // Acked rows were written before the ack (done counts redeliveries too, which insertId drops, so
  // the stored count can be lower than done; the exact check is the exactly-once one at the end).
  expect(await storedEvents()).toBeGreaterThan(0);

  // SIGKILL while a batch is waiting in memory: those messages were never acked, so they come back.
  const second = startWarehouse();
  await waitWarehouseReady();
  await eventually(
    async () => {
      const loader = await getJson<{ pendingRows: number }>('/loader');
      const s = await getJson<StatsSnapshot>('/stats');
      return loader && s && loader.pendingRows > 0 && done(s) > 0 ? true : undefined;
    },
    60_000,
    'rows buffered in the second warehouse',
  );
  second.child.kill('SIGKILL');
  expect((await second.exited).signal).toBe('SIGKILL');
  expect(await storedEvents()).toBeLessThan(TOTAL);
  // The messages leased to the killed process come back after their ack deadline (10 s here).
  // (Locally only because shared/local/apply.ts leaves out the retry policy: with one, the emulator
  // never redelivers them.)

  const third = startWarehouse();
  await waitWarehouseReady();
  await eventually(
    async () =>
      (await count('SELECT COUNT(*) AS c FROM event_mesh.orders_events_dedup')) === ORDERS * 3 &&
      (await count('SELECT COUNT(*) AS c FROM event_mesh.analytics_events_dedup')) === CLICKS &&
      (await count('SELECT COUNT(DISTINCT message_id) AS c FROM event_mesh.raw_orders')) === ORDERS * 3
        ? true
        : undefined,
    120_000,
    `all ${TOTAL} events and ${ORDERS * 3} archive rows to land`,
  ).catch(async (error) => {
    const counts = await Promise.all(
      ['orders_events_dedup', 'analytics_events_dedup', 'raw_orders'].map((t) => count(`SELECT COUNT(*) AS c FROM event_mesh.${t}`)),
    );
    console.log(
      'stored',
      counts,
      JSON.stringify(await getJson('/stats')),
      JSON.stringify(await getJson('/loader')),
      third.lines.filter((l) => l.severity !== 'INFO').slice(0, 20),
    );
    throw error;
  });
  // Exactly once: redeliveries were dropped by insertId (event id, or message id in the archive).
  expect(await storedEvents()).toBe(TOTAL);
  expect(await count('SELECT COUNT(*) AS c FROM event_mesh.raw_orders')).toBe(ORDERS * 3);
  expect(await count(`SELECT COUNT(DISTINCT order_id) AS c FROM event_mesh.orders_events_dedup WHERE event_type = 'order.shipped'`)).toBe(ORDERS);

  third.child.kill('SIGTERM');
  expect((await third.exited).code).toBe(0);
}, 300_000);
