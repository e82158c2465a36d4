/**
 * The warehouse service against the real Pub/Sub emulator and the local BigQuery endpoint, through
 * the real @google-cloud/bigquery client: duplicates, the analyst examples end to end, refused rows,
 * poison, the local archive of BigQuery-kind consumers, schema evolution, and backpressure.
 */
(globalThis as { Bun?: unknown }).Bun ??= {};
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { BigQuery } from '@google-cloud/bigquery';
import type { PubSub } from '@google-cloud/pubsub';
import { startLocalBigQuery, type LocalBigQuery } from '../../shared/bigquery-local';
import { createLogger } from '../../shared/consumer';
import { toPubsubMessage } from '../../shared/envelope';
import { applyLocal } from '../../shared/local';
import { MeshPublisher } from '../../shared/publisher';
import type { MeshSpec } from '../../shared/spec';
import { analystQuery } from '../../services/warehouse/analyst-queries';
import { createWarehouseApp, type TableSummary, type WarehouseApp } from '../../services/warehouse/app';
import { IncompatibleSchemaError } from '../../services/warehouse/tables';
import { eventually, testPubSub, uniqueProject } from '../support/emulators';
import { receive } from '../support/pull';
import { REPO_ROOT, specFromText } from '../support/specs';

process.env.METADATA_SERVER_DETECTION = 'none';

/** A mesh with the warehouse's two pull consumers and the raw orders archive, in `dataset`. */
const meshSpec = (dataset: string, options: { analyticsRevisions?: string; analyticsDir?: string; flowControl?: string; extra?: string } = {}): MeshSpec =>
  specFromText(`
version: 1
project: warehouse-system
topics:
  analytics:
    schema: { dir: ${options.analyticsDir ?? 'schemas/analytics'}, revisions: [${options.analyticsRevisions ?? 'v1, v2'}] }
    eventTypes: [click, view, like.created, like.removed]
  orders:
    schema: { dir: schemas/orders, revisions: [v1, v2] }
    eventTypes: [order.created, order.paid, order.shipped, order.cancelled]
    orderingKey: orderId
services:
  warehouse: { localPort: 18083 }
  audit: { localPort: 18084 }
consumers:
  warehouse-analytics:
    topic: analytics
    delivery: pull
    service: warehouse
    ackDeadline: 20s
    retry: { minBackoff: 0s, maxBackoff: 1s }
    deadLetter: { maxAttempts: 20 }
    flowControl: ${options.flowControl ?? '{ maxMessages: 5000, maxBytes: 52428800 }'}
  warehouse-orders:
    topic: orders
    delivery: pull
    service: warehouse
    ackDeadline: 20s
    retry: { minBackoff: 0s, maxBackoff: 1s }
    deadLetter: { maxAttempts: 20 }
  archive-orders:
    topic: orders
    delivery: bigquery
    table: raw_orders
    ackDeadline: 20s
    retry: { minBackoff: 0s, maxBackoff: 1s }
${options.extra ?? ''}
warehouse: { dataset: ${dataset} }
`);

const log = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
let dir: string;
let local: LocalBigQuery;
let bigquery: BigQuery;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warehouse-system-'));
  local = await startLocalBigQuery({ dataFile: path.join(dir, 'bigquery.duckdb') });
  bigquery = new BigQuery({ projectId: 'warehouse-system', apiEndpoint: local.url });
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await local?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Running {
  app: WarehouseApp;
  pubsub: PubSub;
  publisher: MeshPublisher;
  port: number;
}

/** Applies `spec` to a fresh (or given) emulator project and starts the warehouse on it. */
async function startWarehouse(spec: MeshSpec, options: { project?: string; client?: BigQuery; archive?: boolean } = {}): Promise<Running> {
  const pubsub = testPubSub(options.project ?? uniqueProject('warehouse'));
  await applyLocal({ pubsub, spec });
  const app = createWarehouseApp({
    spec,
    pubsub,
    bigquery: options.client ?? bigquery,
    bigqueryProject: 'warehouse-system',
    archiveBigQuerySubscriptions: options.archive ?? true,
    log,
  });
  const port = await app.start(0, '127.0.0.1');
  const publisher = new MeshPublisher({ pubsub, spec, source: '//warehouse-test' });
  cleanups.push(async () => {
    await app.stop();
    await pubsub.close();
  });
  return { app, pubsub, publisher, port };
}

const count = async (sql: string) => Number((await bigquery.query(sql))[0][0].c);

describe('10k events with duplicates', () => {
  it('land once each in the dedup view; each republished copy is kept in the table, so the view can pick the first published', async () => {
    const { app, publisher } = await startWarehouse(meshSpec('dedup_mesh'));
    const UNIQUE = 8000;
    const REPUBLISHED = 2000;
    const ids: string[] = [];
    const times: string[] = [];
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < UNIQUE; i++) {
      sends.push(
        publisher.publish('analytics', i % 3 ? 'view' : 'click', { userId: `u-${i % 311}`, page: `/p/${i % 17}` }).then((p) => {
          ids[i] = p.event.id;
          times[i] = p.event.time;
        }),
      );
    }
    await Promise.all(sends);
    // The same events again (same id and time, new message id), as a producer retrying after a timeout would.
    await Promise.all(
      Array.from({ length: REPUBLISHED }, (_, k) => {
        const i = (k * 7) % UNIQUE;
        return publisher.publish('analytics', 'view', { userId: 'again' }, { id: ids[i], time: times[i] });
      }),
    );

    await eventually(
      async () => {
        const s = app.stats.of('warehouse-analytics');
        return s.done + s.duplicate >= UNIQUE + REPUBLISHED ? true : undefined;
      },
      120_000,
      'all 10k messages to be loaded',
    );
    expect(await count('SELECT COUNT(*) AS c FROM dedup_mesh.analytics_events_dedup')).toBe(UNIQUE);
    // A copy is a message of its own (insertId = message id): stored; the view keeps the earliest.
    expect(await count('SELECT COUNT(*) AS c FROM dedup_mesh.analytics_events')).toBe(UNIQUE + REPUBLISHED);
    expect(await count("SELECT COUNT(*) AS c FROM dedup_mesh.analytics_events_dedup WHERE JSON_VALUE(data, '$.userId') = 'again'")).toBe(0);
    const [rows] = await bigquery.query('SELECT event_id FROM dedup_mesh.analytics_events_dedup');
    expect(new Set(rows.map((r: { event_id: string }) => r.event_id))).toEqual(new Set(ids));
    // Every message reached the loader: the duplicates were really delivered, and dropped by insertId.
    expect(app.stats.of('warehouse-analytics').received).toBeGreaterThanOrEqual(UNIQUE + REPUBLISHED);
    const loaded = app.loader.stats().analytics_events;
    expect(loaded.written).toBeGreaterThanOrEqual(UNIQUE + REPUBLISHED);
    expect(loaded.batches).toBeLessThan((UNIQUE + REPUBLISHED) / 10); // batched, not row by row
    expect(loaded.peakPending).toBeLessThanOrEqual(5000); // the subscription's flow control
  }, 180_000);
});

describe('end to end: analyst examples, refused rows, poison, raw archive', () => {
  let running: Running;
  const now = Date.now();
  const hour = 3_600_000;
  const H = Math.floor(now / hour) * hour - 3 * hour;
  const at = (minutes: number) => new Date(H + minutes * 60_000);
  /** Every event published: id, topic, type, time. */
  const published: { id: string; topic: string; type: string; time: Date }[] = [];
  let ordersMessages = 0;
  let analyticsMessages = 0;
  let poisonMessageId: string;
  let refusedId: string;

  const view = (user: string, extra: Record<string, unknown> = {}) => ({ userId: user, sessionId: `s-${user}`, page: '/posts/p-1', postId: 'p-1', ...extra });
  const order = (orderId: string, customerId: string, sequence: number, extra: Record<string, unknown> = {}) => ({
    orderId,
    customerId,
    sequence,
    amountCents: 2599,
    currency: 'USD',
    itemCount: 1,
    ...extra,
  });

  beforeAll(async () => {
    // The documented queries name the dataset event_mesh.
    running = await startWarehouse(meshSpec('event_mesh'));
    const { publisher, pubsub } = running;
    const send = async (topic: 'analytics' | 'orders', id: string, type: string, time: Date, data: Record<string, unknown>) => {
      await publisher.publish(topic, type, data, { id, time });
      if (!published.some((p) => p.id === id)) published.push({ id, topic, type, time });
      if (topic === 'orders') ordersMessages++;
      else analyticsMessages++;
    };
    // Funnel: u1 views, clicks, likes; u2 views, clicks; u3 only views; u4 clicks without viewing;
    // u5 views, likes, then clicks (liked before clicking).
    await send('analytics', 'a-u1-view', 'view', at(1), view('u1'));
    await send('analytics', 'a-u1-click', 'click', at(2), view('u1', { element: 'like-button' }));
    await send('analytics', 'a-u1-like', 'like.created', at(3), view('u1'));
    await send('analytics', 'a-u2-view', 'view', at(5), view('u2'));
    await send('analytics', 'a-u2-click', 'click', at(6), view('u2'));
    await send('analytics', 'a-u3-view', 'view', at(7), view('u3'));
    await send('analytics', 'a-u4-click', 'click', at(61), view('u4'));
    await send('analytics', 'a-u5-view', 'view', at(61), view('u5'));
    await send('analytics', 'a-u5-like', 'like.created', at(62), view('u5'));
    await send('analytics', 'a-u5-click', 'click', at(63), view('u5'));
    await send('analytics', 'a-u1-view', 'view', at(1), view('u1')); // republished
    // Orders: o1 shipped (dhl); o2 paid long ago, never shipped (stuck); o3 cancelled after paying;
    // o4 paid 4 minutes ago (not stuck yet); o6 (ups), o7 (dhl) shipped; o8 created just now (not late).
    await send('orders', 'o1-created', 'order.created', at(10), order('o1', 'c1', 1));
    await send('orders', 'o1-paid', 'order.paid', at(11), order('o1', 'c1', 2));
    await send('orders', 'o1-shipped', 'order.shipped', at(30), order('o1', 'c1', 3, { carrier: 'dhl' }));
    await send('orders', 'o2-created', 'order.created', at(12), order('o2', 'c2', 1));
    await send('orders', 'o2-paid', 'order.paid', at(13), order('o2', 'c2', 2));
    await send('orders', 'o3-created', 'order.created', at(14), order('o3', 'c3', 1));
    await send('orders', 'o3-paid', 'order.paid', at(15), order('o3', 'c3', 2));
    await send('orders', 'o3-cancelled', 'order.cancelled', at(20), order('o3', 'c3', 3, { reason: 'customer request' }));
    await send('orders', 'o4-created', 'order.created', new Date(now - 5 * 60_000), order('o4', 'c4', 1));
    await send('orders', 'o4-paid', 'order.paid', new Date(now - 4 * 60_000), order('o4', 'c4', 2));
    await send('orders', 'o6-shipped', 'order.shipped', at(40), order('o6', 'c6', 3, { carrier: 'ups', amountCents: 1000 }));
    await send('orders', 'o7-shipped', 'order.shipped', at(41), order('o7', 'c7', 3, { carrier: 'dhl', amountCents: 401 }));
    await send('orders', 'o8-created', 'order.created', new Date(), order('o8', 'c8', 1));
    await send('orders', 'o2-paid', 'order.paid', at(13), order('o2', 'c2', 2)); // republished

    // A plain-client producer with an HTTP-date ce-time: not RFC 3339 (CloudEvents' time), so poison
    // at once. (Before, Date.parse took it and BigQuery refused its row: BigQuery never sees it now.)
    const bad = publisher.prepare('analytics', 'view', view('u9'));
    refusedId = bad.event.id;
    await pubsub.topic('analytics').publishMessage({
      data: Buffer.from(JSON.stringify(bad.event.data)),
      attributes: {
        'ce-id': bad.event.id,
        'ce-type': 'view',
        'ce-source': '//plain',
        'ce-specversion': '1.0',
        'ce-time': 'Fri, 01 Mar 2024 12:00:00 GMT',
        'ce-dataschema': 'urn:event-mesh:schema:analytics:v2',
      },
    });
    // Poison for the warehouse (no ce-id), though the topic's schema accepts its data.
    const poison = publisher.prepare('orders', 'order.created', order('o9', 'c9', 1));
    poisonMessageId = await pubsub.topic('orders').publishMessage({
      data: Buffer.from(JSON.stringify(poison.event.data)),
      attributes: { 'ce-type': 'order.created', 'ce-source': '//plain', 'ce-specversion': '1.0' },
    });
    ordersMessages++;

    const analytics = published.filter((p) => p.topic === 'analytics').length;
    const orders = published.filter((p) => p.topic === 'orders').length;
    await eventually(
      async () =>
        (await count('SELECT COUNT(*) AS c FROM event_mesh.analytics_events_dedup')) === analytics &&
        (await count('SELECT COUNT(*) AS c FROM event_mesh.orders_events_dedup')) === orders &&
        (await count('SELECT COUNT(*) AS c FROM event_mesh.raw_orders')) === ordersMessages
          ? true
          : undefined,
      60_000,
      'every event and the archive rows to land',
    );
  }, 120_000);

  const run = async (name: string) => (await bigquery.query(analystQuery(name).sql))[0] as Record<string, unknown>[];

  it('events_per_type_per_hour counts each event once per topic, type and hour', async () => {
    const expected = new Map<string, number>();
    for (const p of published) {
      const key = `${new Date(Math.floor(p.time.getTime() / hour) * hour).toISOString()} ${p.topic} ${p.type}`;
      expected.set(key, (expected.get(key) ?? 0) + 1);
    }
    const rows = await run('events_per_type_per_hour');
    expect(rows.map((r) => `${(r.hour as { value: string }).value} ${String(r.topic)} ${String(r.event_type)} ${String(r.events)}`)).toEqual(
      [...expected].map(([k, n]) => `${k} ${n}`).sort(),
    );
  });

  it('funnel: 4 sessions viewed, 3 clicked after viewing, 1 liked after clicking', async () => {
    expect(await run('funnel')).toEqual([{ viewed: 4, clicked: 3, liked: 1, view_to_like_rate: 0.25 }]);
  });

  it('stuck_orders: only o2', async () => {
    const rows = await run('stuck_orders');
    expect(rows.map((r) => [r.order_id, r.customer_id, (r.paid_at as { value: string }).value])).toEqual([['o2', 'c2', at(13).toISOString()]]);
  });

  it('late_events: every event published more than a minute after it happened, latest first', async () => {
    const rows = await run('late_events');
    const late = published.filter((p) => p.id !== 'o8-created');
    expect(new Set(rows.map((r) => r.event_id))).toEqual(new Set(late.map((p) => p.id)));
    for (const r of rows) {
      const event = published.find((p) => p.id === r.event_id)!;
      expect(r.lateness_seconds).toBeGreaterThanOrEqual(Math.floor((now - event.time.getTime()) / 1000) - 1);
      expect(r.lateness_seconds).toBeLessThanOrEqual(Math.ceil((Date.now() - event.time.getTime()) / 1000));
    }
    const lateness = rows.map((r) => r.lateness_seconds as number);
    expect(lateness).toEqual([...lateness].sort((a, b) => b - a));
  });

  it('shipped_by_carrier: dhl 2 for 30.00, ups 1 for 10.00', async () => {
    expect(await run('shipped_by_carrier')).toEqual([
      { shipping_carrier: 'dhl', shipped: 2, amount: 30 },
      { shipping_carrier: 'ups', shipped: 1, amount: 10 },
    ]);
  });

  it('a ce-time that is not RFC 3339 (an HTTP date) is poison at once: held with reason bad-attribute, in no events table', async () => {
    const held = await receive(running.pubsub, 'warehouse-analytics-dlq-hold', 1, 20_000);
    expect(held[0].attributes).toMatchObject({ reason: 'bad-attribute', consumer: 'warehouse-analytics', 'ce-id': refusedId });
    expect(held[0].attributes.error).toMatch(/ce-time "Fri, 01 Mar 2024 12:00:00 GMT" is not an RFC 3339 date-time/);
    expect(await count(`SELECT COUNT(*) AS c FROM event_mesh.analytics_events WHERE event_id = '${refusedId}'`)).toBe(0);
    // BigQuery refused no row (no `insert` reason): the decoder caught it first (per-row refusals:
    // test/unit/warehouse-rows.test.ts). Its dead letter is copied into dead_letters from the archive subscription.
    expect(await count(`SELECT COUNT(*) AS c FROM event_mesh.dead_letters WHERE reason = 'insert'`)).toBe(0);
    expect(running.app.stats.of('warehouse-analytics').deadLettered).toBe(1);
  });

  it('copies every dead letter into dead_letters: whose, why, the message as received, and when it was first seen', async () => {
    await eventually(
      async () => ((await count('SELECT COUNT(*) AS c FROM event_mesh.dead_letters')) === 2 ? true : undefined),
      20_000,
      'both dead letters archived',
    );
    const [rows] = await bigquery.query(
      `SELECT consumer, topic, reason, error, event_id, data, JSON_VALUE(attributes, '$."ce-type"') AS type, JSON_VALUE(attributes, '$.messageId') AS source_message, dead_lettered_at FROM event_mesh.dead_letters ORDER BY consumer`,
    );
    expect(rows).toEqual([
      expect.objectContaining({ consumer: 'warehouse-analytics', topic: 'analytics', reason: 'bad-attribute', event_id: refusedId, type: 'view' }),
      expect.objectContaining({ consumer: 'warehouse-orders', topic: 'orders', reason: 'missing-attribute', event_id: null, source_message: poisonMessageId }),
    ]);
    expect(rows[0].error).toMatch(/not an RFC 3339 date-time/);
    expect(JSON.parse(rows[1].data)).toMatchObject({ orderId: 'o9' });
    // First seen: when it reached the dead-letter topic (its publish time there), i.e. during this run.
    const firstSeen = Date.parse(rows[1].dead_lettered_at.value);
    expect(firstSeen).toBeGreaterThan(now - 60_000);
    expect(firstSeen).toBeLessThanOrEqual(Date.now());
    const loader = (await (await fetch(`http://127.0.0.1:${running.port}/loader`)).json()) as { deadLetterArchive: Record<string, { done: number }> };
    expect(loader.deadLetterArchive['warehouse-orders'].done).toBe(1);
    expect(loader.deadLetterArchive['archive-orders'].done).toBe(0);
  });

  it('poison goes to the consumer dead-letter topic with a reason, and is still archived raw', async () => {
    const [held] = await receive(running.pubsub, 'warehouse-orders-dlq-hold', 1, 20_000);
    expect(held.attributes).toMatchObject({ reason: 'missing-attribute', consumer: 'warehouse-orders', messageId: poisonMessageId });
    expect(running.app.stats.of('warehouse-orders').deadLettered).toBe(1);
    const [raw] = await bigquery.query({
      query: `SELECT subscription_name, data, JSON_VALUE(attributes, '$."ce-type"') AS type FROM event_mesh.raw_orders WHERE message_id = @id`,
      params: { id: poisonMessageId },
    });
    expect(raw).toEqual([
      { subscription_name: expect.stringMatching(/\/subscriptions\/archive-orders$/), data: expect.stringContaining('"orderId":"o9"'), type: 'order.created' },
    ]);
  });

  it('archives every orders message once, with the columns of a BigQuery subscription with writeMetadata', async () => {
    const [columns] = await bigquery.dataset('event_mesh').table('raw_orders').getMetadata();
    expect(columns.schema.fields.map((f: { name: string }) => f.name)).toEqual(['subscription_name', 'message_id', 'publish_time', 'data', 'attributes']);
    expect(await count('SELECT COUNT(DISTINCT message_id) AS c FROM event_mesh.raw_orders')).toBe(ordersMessages);
    // Republished o2-paid: two messages, two archive rows (the archive is per message, not per event).
    expect(await count(`SELECT COUNT(*) AS c FROM event_mesh.raw_orders WHERE JSON_VALUE(attributes, '$."ce-id"') = 'o2-paid'`)).toBe(2);
    const [o1] = await bigquery.query(`SELECT data, publish_time FROM event_mesh.raw_orders WHERE JSON_VALUE(attributes, '$."ce-id"') = 'o1-shipped'`);
    expect(JSON.parse(o1[0].data)).toMatchObject({ orderId: 'o1', carrier: 'dhl', sequence: 3 });
  });

  it('serves the tables with their row counts and the loader counters', async () => {
    const res = await fetch(`http://127.0.0.1:${running.port}/tables`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { dataset: string; tables: TableSummary[] };
    expect(body.dataset).toBe('event_mesh');
    const byName = Object.fromEntries(body.tables.map((t) => [t.table, t]));
    expect(byName.raw_orders).toMatchObject({ kind: 'archive', rows: ordersMessages, columns: 5 });
    expect(byName.dead_letters).toMatchObject({ kind: 'dead-letters', rows: 2 }); // the two poison messages' copies
    expect(byName.orders_events_dedup).toEqual({ table: 'orders_events_dedup', kind: 'dedup-view' });
    // One row per message: a republished event's copy is kept too (the dedup view picks the first published).
    expect(byName.analytics_events.rows).toBe(analyticsMessages);
    expect(analyticsMessages).toBe(published.filter((p) => p.topic === 'analytics').length + 1);
    const loader = (await (await fetch(`http://127.0.0.1:${running.port}/loader`)).json()) as {
      pendingRows: number;
      archive: Record<string, { done: number }>;
    };
    expect(loader.pendingRows).toBe(0);
    expect(loader.archive['archive-orders'].done).toBe(ordersMessages);
  });

  // Last in this block: it adds rows the counts above do not expect.
  it('takes redriven messages too: the loader from its redrive subscription, the archive from its own', async () => {
    const { publisher, pubsub } = running;
    const redrive = async (consumer: string, id: string) => {
      const { event, orderingKey } = publisher.prepare('orders', 'order.created', order(id, 'c-redrive', 1), { id });
      await pubsub.topic(`${consumer}-redrive`, { messageOrdering: true }).publishMessage(toPubsubMessage(event, orderingKey));
    };
    await redrive('warehouse-orders', 'redriven-load');
    await redrive('archive-orders', 'redriven-archive');
    await eventually(
      async () =>
        (await count(`SELECT COUNT(*) AS c FROM event_mesh.orders_events WHERE event_id = 'redriven-load'`)) === 1 &&
        (await count(`SELECT COUNT(*) AS c FROM event_mesh.raw_orders WHERE JSON_VALUE(attributes, '$."ce-id"') = 'redriven-archive'`)) === 1
          ? true
          : undefined,
      20_000,
      'both redriven messages to land',
    );
    const [raw] = await bigquery.query(`SELECT subscription_name FROM event_mesh.raw_orders WHERE JSON_VALUE(attributes, '$."ce-id"') = 'redriven-archive'`);
    expect(raw[0].subscription_name).toMatch(/\/subscriptions\/archive-orders-redrive$/);
  });
});

describe('schema evolution', () => {
  it("adds the new revision's columns when the service starts; rows loaded before read NULL", async () => {
    const project = uniqueProject('evolution');
    const v1 = await startWarehouse(meshSpec('evolution_mesh', { analyticsRevisions: 'v1' }), { project, archive: false });
    expect(v1.app.tableChanges).toContainEqual({ table: 'analytics_events', action: 'created' });
    const old = await v1.publisher.publish('analytics', 'view', { userId: 'before' });
    await eventually(async () => ((await count('SELECT COUNT(*) AS c FROM evolution_mesh.analytics_events')) === 1 ? true : undefined), 20_000, 'the v1 row');
    await v1.app.stop();

    const v2 = await startWarehouse(meshSpec('evolution_mesh', { analyticsRevisions: 'v1, v2' }), { project, archive: false });
    expect(v2.app.tableChanges).toContainEqual({ table: 'analytics_events', action: 'columns-added', columns: ['country', 'duration_ms'] });
    const fresh = await v2.publisher.publish('analytics', 'view', { userId: 'after', country: 'FR', durationMs: 3100 });
    await eventually(async () => ((await count('SELECT COUNT(*) AS c FROM evolution_mesh.analytics_events')) === 2 ? true : undefined), 20_000, 'the v2 row');
    const [rows] = await bigquery.query('SELECT event_id, user_id, country, duration_ms FROM evolution_mesh.analytics_events ORDER BY user_id DESC');
    expect(rows).toEqual([
      { event_id: old.event.id, user_id: 'before', country: null, duration_ms: null },
      { event_id: fresh.event.id, user_id: 'after', country: 'FR', duration_ms: 3100 },
    ]);
  }, 60_000);

  it('refuses to start on an incompatible change, naming the column, before pulling anything', async () => {
    const schemas = fs.mkdtempSync(path.join(dir, 'schemas-'));
    const current = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'schemas/analytics/v2.avsc'), 'utf8')) as { fields: { name: string; type: unknown }[] };
    fs.writeFileSync(
      path.join(schemas, 'v3.avsc'),
      JSON.stringify({ ...current, fields: current.fields.map((f) => (f.name === 'durationMs' ? { ...f, type: 'string', default: '' } : f)) }),
    );
    const spec = meshSpec('evolution_mesh', { analyticsRevisions: 'v3', analyticsDir: schemas });
    const pubsub = testPubSub(uniqueProject('incompatible'));
    const app = createWarehouseApp({ spec, pubsub, bigquery, bigqueryProject: 'warehouse-system', log });
    const error = await app.start(0, '127.0.0.1').catch((e: unknown) => e);
    await app.stop();
    await pubsub.close();
    expect(error).toBeInstanceOf(IncompatibleSchemaError);
    expect((error as IncompatibleSchemaError).column).toBe('duration_ms');
    expect((error as Error).message).toMatch(/column "duration_ms" is INTEGER but the current schema makes it STRING/);
    expect(app.server).toBeUndefined(); // never listened, never pulled
  });
});

/** An HTTP proxy in front of the local endpoint that can hold or fail insertAll requests. */
async function insertAllGate(target: string) {
  let mode: 'pass' | 'hold' | 'fail' = 'pass';
  /** Held requests: each is forwarded when the gate opens, or failed when it switches to fail. */
  let held: { forward: () => void; fail: () => void }[] = [];
  let insertRequests = 0;
  const upstream = new URL(target);
  const server = http.createServer((req, res) => {
    const forward = () => {
      const proxied = http.request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      proxied.on('error', () => res.destroy());
      req.pipe(proxied);
    };
    if (!req.url?.includes('/insertAll')) return forward();
    insertRequests++;
    const fail = () => {
      req.resume();
      res
        .writeHead(503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { code: 503, message: 'backend unavailable (test)', errors: [{ reason: 'backendError' }] } }));
    };
    if (mode === 'fail') fail();
    else if (mode === 'hold') held.push({ forward, fail });
    else forward();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    set(next: typeof mode) {
      mode = next;
      if (next !== 'hold') for (const request of held.splice(0)) (next === 'fail' ? request.fail : request.forward)();
    },
    get held() {
      return held.length;
    },
    get insertRequests() {
      return insertRequests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        held = [];
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('backpressure', () => {
  it('stops pulling at the flow control limit while BigQuery is slow, never slows another consumer, and retries while it is down', async () => {
    const gate = await insertAllGate(local.url);
    cleanups.push(gate.close);
    const spec = meshSpec('slow_mesh', {
      flowControl: '{ maxMessages: 50, maxBytes: 52428800 }',
      extra: '  audit-analytics: { topic: analytics, delivery: pull, service: audit, ackDeadline: 20s }',
    });
    const { app, pubsub, publisher } = await startWarehouse(spec, {
      client: new BigQuery({ projectId: 'warehouse-system', apiEndpoint: gate.url }),
      archive: false,
    });

    gate.set('hold');
    const EVENTS = 300;
    await Promise.all(Array.from({ length: EVENTS }, (_, i) => publisher.publish('analytics', 'click', { userId: `slow-${i}` })));
    // Another consumer of the same topic gets everything while the warehouse is stuck.
    expect(await receive(pubsub, 'audit-analytics', EVENTS, 30_000)).toHaveLength(EVENTS);
    await eventually(() => (gate.held > 0 ? true : undefined), 10_000, 'an insertAll to be held');
    await new Promise((r) => setTimeout(r, 2000));
    const stuck = app.stats.of('warehouse-analytics');
    expect(stuck.received).toBeLessThanOrEqual(50);
    expect(stuck.done).toBe(0);
    expect(app.loader.pending).toBeLessThanOrEqual(50);
    expect(await count('SELECT COUNT(*) AS c FROM slow_mesh.analytics_events')).toBe(0);

    // BigQuery down: batches fail, messages are nacked and come back, none is acked unwritten.
    gate.set('fail');
    const requestsBefore = gate.insertRequests;
    await eventually(() => (gate.insertRequests > requestsBefore + 2 ? true : undefined), 30_000, 'insertAll retries while BigQuery is down');
    expect(app.stats.of('warehouse-analytics').done).toBe(0);

    gate.set('pass');
    await eventually(
      async () => ((await count('SELECT COUNT(*) AS c FROM slow_mesh.analytics_events')) === EVENTS ? true : undefined),
      60_000,
      'every event to land once BigQuery is back',
    );
    expect(app.loader.stats().analytics_events.peakPending).toBeLessThanOrEqual(50);
    expect(app.stats.of('warehouse-analytics').failed).toBeGreaterThan(0);
  }, 120_000);
});
