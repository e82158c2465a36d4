/**
 * The warehouse in verify mode (GCP's default: the deployment owns the tables) against the real
 * Pub/Sub emulator and the local BigQuery endpoint: it listens at once, is not ready (503, naming the
 * table) while the tables are missing, creates nothing, and becomes ready and loads events once
 * someone else has created them. Create mode still creates them itself.
 */
(globalThis as { Bun?: unknown }).Bun ??= {};
import { BigQuery } from '@google-cloud/bigquery';
import { startLocalBigQuery, type LocalBigQuery } from '../../shared/bigquery-local';
import { createLogger } from '../../shared/consumer';
import { applyLocal } from '../../shared/local';
import { MeshPublisher } from '../../shared/publisher';
import type { MeshSpec } from '../../shared/spec';
import { createWarehouseApp, type WarehouseApp } from '../../services/warehouse/app';
import { ensureArchiveTables } from '../../services/warehouse/archive';
import { ensureWarehouse } from '../../services/warehouse/tables';
import { eventually, testPubSub, uniqueProject } from '../support/emulators';
import { specFromText } from '../support/specs';

process.env.METADATA_SERVER_DETECTION = 'none';

const meshSpec = (dataset: string): MeshSpec =>
  specFromText(`
version: 1
project: warehouse-verify
topics:
  analytics:
    schema: { dir: schemas/analytics, revisions: [v1, v2] }
    eventTypes: [click, view, like.created, like.removed]
  orders:
    schema: { dir: schemas/orders, revisions: [v1, v2] }
    eventTypes: [order.created, order.paid, order.shipped, order.cancelled]
    orderingKey: orderId
services:
  warehouse: { localPort: 18093 }
consumers:
  warehouse-analytics:
    topic: analytics
    delivery: pull
    service: warehouse
    ackDeadline: 20s
    retry: { minBackoff: 0s, maxBackoff: 1s }
  warehouse-orders:
    topic: orders
    delivery: pull
    service: warehouse
    ackDeadline: 20s
    retry: { minBackoff: 0s, maxBackoff: 1s }
  archive-orders:
    topic: orders
    delivery: bigquery
    table: raw_orders
warehouse: { dataset: ${dataset} }
`);

const log = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
let local: LocalBigQuery;
let bigquery: BigQuery;
const apps: WarehouseApp[] = [];

beforeAll(async () => {
  local = await startLocalBigQuery();
  bigquery = new BigQuery({ projectId: 'warehouse-verify', apiEndpoint: local.url });
});

afterAll(async () => {
  for (const app of apps) await app.stop().catch(() => undefined);
  await local?.stop();
});

async function readyz(app: WarehouseApp): Promise<{ status: number; body: Record<string, any> }> {
  const { port } = app.server!.address() as { port: number };
  const res = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

describe('verify mode', () => {
  it('waits (readyz 503 naming the table) until someone else creates the tables, then loads', async () => {
    const spec = meshSpec('verify_system');
    const pubsub = testPubSub(uniqueProject('warehouse-verify'));
    await applyLocal({ pubsub, spec });
    const app = createWarehouseApp({
      spec,
      pubsub,
      bigquery,
      bigqueryProject: 'warehouse-verify',
      archiveBigQuerySubscriptions: true,
      tables: 'verify',
      verify: { initialDelayMs: 50, maxDelayMs: 200 },
      log,
    });
    apps.push(app);
    expect(app.tablesMode).toBe('verify');
    const started = app.start(0, '127.0.0.1');

    const waiting = await eventually(async () => (app.server?.listening && app.waitingFor ? readyz(app) : undefined), 10_000, 'the waiting listener');
    expect(waiting.status).toBe(503);
    expect(waiting.body.waitingFor).toMatchObject({ table: 'verify_system.analytics_events', reason: 'missing' });
    const { port } = app.server!.address() as { port: number };
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    expect(app.ready).toBe(false);
    // It created nothing while waiting.
    const [exists] = await bigquery.dataset('verify_system').exists();
    expect(exists).toBe(false);

    // The deployment creates the tables.
    const made = await ensureWarehouse(bigquery, spec, { project: 'warehouse-verify' });
    await ensureArchiveTables(made.dataset, spec);

    expect(await started).toBe(port); // the same port, now the service's
    await eventually(async () => ((await readyz(app)).status === 200 ? true : undefined), 15_000, 'ready');
    expect(app.waitingFor).toBeUndefined();
    expect(app.tableChanges.every((c) => c.action === 'unchanged')).toBe(true);

    const publisher = new MeshPublisher({ pubsub, spec, source: '//verify-test' });
    const { event } = await publisher.publish('orders', 'order.created', {
      orderId: 'o-1',
      customerId: 'c-1',
      sequence: 1,
      amountCents: 100,
      currency: 'EUR',
      itemCount: 1,
    });
    await eventually(
      async () => {
        const [[row]] = await bigquery.query(`SELECT COUNT(*) AS c FROM verify_system.orders_events WHERE event_id = '${event.id}'`);
        return Number(row.c) === 1 ? true : undefined;
      },
      20_000,
      'the event in orders_events',
    );
    await app.stop();
    await pubsub.close();
  }, 60_000);

  it('stops cleanly while still waiting', async () => {
    const spec = meshSpec('verify_never_created');
    const pubsub = testPubSub(uniqueProject('warehouse-verify'));
    await applyLocal({ pubsub, spec });
    const app = createWarehouseApp({ spec, pubsub, bigquery, tables: 'verify', verify: { initialDelayMs: 50, maxDelayMs: 50 }, log });
    const started = app.start(0, '127.0.0.1');
    await eventually(() => (app.waitingFor ? true : undefined), 10_000, 'waiting');
    await app.stop();
    await expect(started).resolves.toEqual(expect.any(Number));
    expect(app.server).toBeUndefined();
    await pubsub.close();
  });
});

describe('create mode (the local endpoint default)', () => {
  it('creates the tables itself, as before', async () => {
    const spec = meshSpec('create_system');
    const pubsub = testPubSub(uniqueProject('warehouse-create'));
    await applyLocal({ pubsub, spec });
    const app = createWarehouseApp({ spec, pubsub, bigquery, bigqueryProject: 'warehouse-verify', archiveBigQuerySubscriptions: true, log });
    apps.push(app);
    expect(app.tablesMode).toBe('create');
    await app.start(0, '127.0.0.1');
    expect(app.tableChanges.map((c) => `${c.table} ${c.action}`)).toEqual([
      'analytics_events created',
      'analytics_events_dedup created',
      'orders_events created',
      'orders_events_dedup created',
      'dead_letters created',
      'raw_orders created',
    ]);
    await eventually(async () => ((await readyz(app)).status === 200 ? true : undefined), 15_000, 'ready');
    await app.stop();
    await pubsub.close();
  });
});
