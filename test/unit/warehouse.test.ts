/**
 * The warehouse's BigQuery side (services/warehouse/tables.ts, rows.ts) and the documented analyst
 * queries, through the real @google-cloud/bigquery client against the local BigQuery endpoint.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BigQuery } from '@google-cloud/bigquery';
import { startLocalBigQuery, type LocalBigQuery } from '../../shared/bigquery-local';
import type { MeshEvent } from '../../shared/envelope';
import { loadSpec, type MeshSpec, type TopicSpec } from '../../shared/spec';
import { deadLetterRow, eventRow, eventsTableSchema, type EventDelivery, type InsertRow } from '../../shared/warehouse';
import { ensureEventsTable, ensureWarehouse, IncompatibleSchemaError, planSchemaChange } from '../../services/warehouse/tables';
import { insertBatch, rowBytes } from '../../services/warehouse/rows';
import { analystQueries, analystQuery } from '../../services/warehouse/analyst-queries';

process.env.METADATA_SERVER_DETECTION = 'none';
// teeny-request (under @google-cloud/bigquery) loads node-fetch with a dynamic import(), which jest's
// CommonJS sandbox refuses; with this flag it uses its own node:http transport (written for Bun) instead.
(globalThis as { Bun?: unknown }).Bun ??= {};

const spec = loadSpec();
let local: LocalBigQuery;
let bigquery: BigQuery;

/** The spec with another dataset, so each scenario starts from empty tables. */
const withDataset = (dataset: string): MeshSpec => ({ ...spec, warehouse: { ...spec.warehouse, dataset } });
const topicAt = (name: 'analytics' | 'orders', revisions: string[], dir = spec.topics[name].schema.dir): TopicSpec => ({
  ...spec.topics[name],
  schema: { ...spec.topics[name].schema, dir, revisions, accept: { first: revisions[0], last: revisions[revisions.length - 1] } },
});

let messages = 0;
function delivery(topic: 'analytics' | 'orders', id: string, type: string, time: Date, data: Record<string, unknown>, lateMs = 2000): EventDelivery {
  const event: MeshEvent<unknown> = {
    id,
    type,
    source: topic === 'orders' ? '//checkout/api' : '//web',
    time: time.toISOString(),
    schemaVersion: 'v2',
    specversion: '1.0',
    datacontenttype: 'application/json',
    data,
  };
  return {
    event,
    messageId: `m-${++messages}`,
    publishTime: new Date(time.getTime() + lateMs),
    orderingKey: topic === 'orders' ? String(data.orderId) : undefined,
    attributes: { 'ce-id': id, 'ce-type': type, 'ce-source': event.source },
  };
}

const view = (user: string, extra: Record<string, unknown> = {}) => ({
  userId: user,
  sessionId: `s-${user}`,
  page: '/posts/p-1',
  element: '',
  postId: 'p-1',
  country: 'DE',
  durationMs: 1200,
  ...extra,
});
const order = (orderId: string, customerId: string, sequence: number, extra: Record<string, unknown> = {}) => ({
  orderId,
  customerId,
  sequence,
  amountCents: 2599,
  currency: 'USD',
  itemCount: 1,
  reason: '',
  carrier: '',
  ...extra,
});

const count = async (table: string) => Number((await bigquery.query(`SELECT COUNT(*) AS c FROM ${table}`))[0][0].c);

beforeAll(async () => {
  local = await startLocalBigQuery();
  bigquery = new BigQuery({ projectId: spec.project, apiEndpoint: local.url });
});

afterAll(async () => {
  await local?.stop();
});

describe('tables', () => {
  it('creates the dataset, an events table and a dedup view per topic, and dead_letters; a second run changes nothing', async () => {
    const first = await ensureWarehouse(bigquery, withDataset('tables_test'), { project: spec.project });
    expect(first.changes.map((c) => `${c.table} ${c.action}`)).toEqual([
      'analytics_events created',
      'analytics_events_dedup created',
      'orders_events created',
      'orders_events_dedup created',
      'dead_letters created',
    ]);
    const [events] = await first.events.orders.getMetadata();
    expect(events.timePartitioning).toEqual({ type: 'DAY', field: 'event_time' });
    expect(events.clustering).toEqual({ fields: ['event_type'] });
    expect(events.schema.fields.map((f: { name: string }) => f.name)).toEqual(eventsTableSchema(spec.topics.orders).map((f) => f.name));
    const [dedup] = await first.dedupViews.orders.getMetadata();
    expect(dedup.type).toBe('VIEW');
    expect(dedup.view.query).toContain('`event-mesh-local.tables_test.orders_events`');
    const [deadLetters] = await first.deadLetters.getMetadata();
    expect(deadLetters.timePartitioning).toEqual({ type: 'DAY', field: 'dead_lettered_at' });

    const again = await ensureWarehouse(bigquery, withDataset('tables_test'), { project: spec.project });
    expect(again.changes.every((c) => c.action === 'unchanged')).toBe(true);
  });

  it('adds the columns of a new schema revision by an additive patch; rows loaded before read NULL', async () => {
    const spec1 = withDataset('evolution_test');
    const { dataset } = await ensureWarehouse(bigquery, { ...spec1, topics: { analytics: topicAt('analytics', ['v1']) } }, { project: spec.project });
    const v1 = topicAt('analytics', ['v1']);
    const created = await ensureEventsTable(dataset, v1);
    expect(created.change.action).toBe('unchanged');
    const [before] = await created.table.getMetadata();
    expect(before.schema.fields.map((f: { name: string }) => f.name)).not.toContain('country');
    const old = delivery('analytics', 'evo-1', 'view', new Date(), { userId: 'u-1', sessionId: '', page: '/', element: '', postId: '' });
    expect((await insertBatch(created.table, [eventRow(v1, old)])).failed).toEqual([]);

    const v2 = topicAt('analytics', ['v1', 'v2']);
    const evolved = await ensureEventsTable(dataset, v2);
    expect(evolved.change).toEqual({ table: 'analytics_events', action: 'columns-added', columns: ['country', 'duration_ms'] });
    const [after] = await evolved.table.getMetadata();
    expect(after.schema.fields.slice(-2)).toEqual([
      expect.objectContaining({ name: 'country', type: 'STRING', mode: 'NULLABLE' }),
      expect.objectContaining({ name: 'duration_ms', type: 'INTEGER', mode: 'NULLABLE' }),
    ]);
    const fresh = delivery('analytics', 'evo-2', 'view', new Date(), view('u-2', { country: 'FR', durationMs: 3100 }));
    expect((await insertBatch(evolved.table, [eventRow(v2, fresh)])).failed).toEqual([]);
    const [rows] = await bigquery.query('SELECT event_id, country, duration_ms FROM evolution_test.analytics_events ORDER BY event_id');
    expect(rows).toEqual([
      { event_id: 'evo-1', country: null, duration_ms: null },
      { event_id: 'evo-2', country: 'FR', duration_ms: 3100 },
    ]);
  });

  it('adds the extensions column to a table made before it (an additive patch, appended last) and loads extensions into it', async () => {
    const { dataset } = await ensureWarehouse(bigquery, { ...withDataset('extensions_test'), topics: {} }, { project: spec.project });
    const topic = spec.topics.orders;
    const before = eventsTableSchema(topic).filter((f) => f.name !== 'extensions');
    await dataset.createTable('orders_events', { schema: { fields: before }, timePartitioning: { type: 'DAY', field: 'event_time' } });
    const patched = await ensureEventsTable(dataset, topic);
    expect(patched.change).toEqual({ table: 'orders_events', action: 'columns-added', columns: ['extensions'] });
    const [metadata] = await patched.table.getMetadata();
    expect(metadata.schema.fields.map((f: { name: string }) => f.name)).toEqual(eventsTableSchema(topic).map((f) => f.name));

    const tagged = delivery('orders', 'ext-1', 'order.created', new Date(), order('o-ext', 'c-1', 1));
    tagged.event = { ...tagged.event, extensions: { tenant: 'acme' }, traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
    const plain = delivery('orders', 'ext-2', 'order.created', new Date(), order('o-ext2', 'c-1', 1));
    expect((await insertBatch(patched.table, [eventRow(topic, tagged), eventRow(topic, plain)])).failed).toEqual([]);
    const [rows] = await bigquery.query(
      "SELECT event_id, JSON_VALUE(extensions, '$.tenant') AS tenant, JSON_VALUE(extensions, '$.traceparent') AS traceparent FROM extensions_test.orders_events ORDER BY event_id",
    );
    expect(rows).toEqual([
      { event_id: 'ext-1', tenant: 'acme', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
      { event_id: 'ext-2', tenant: null, traceparent: null },
    ]);
  });

  it('refuses a changed column type or a removed column, naming the column, and leaves the table alone', async () => {
    const { dataset } = await ensureWarehouse(
      bigquery,
      { ...withDataset('incompatible_test'), topics: { analytics: spec.topics.analytics } },
      { project: spec.project },
    );
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'schemas-'));
    try {
      const current = JSON.parse(fs.readFileSync(path.join(spec.topics.analytics.schema.dir, 'v2.avsc'), 'utf8')) as {
        fields: { name: string; type: unknown }[];
      };
      fs.writeFileSync(
        path.join(dir, 'v1.avsc'),
        JSON.stringify({ ...current, fields: current.fields.map((f) => (f.name === 'page' ? { ...f, type: 'long', default: 0 } : f)) }),
      );
      const retyped = await ensureEventsTable(dataset, topicAt('analytics', ['v1'], dir)).catch((e: unknown) => e);
      expect(retyped).toBeInstanceOf(IncompatibleSchemaError);
      expect((retyped as IncompatibleSchemaError).column).toBe('page');
      expect((retyped as Error).message).toMatch(/column "page" is STRING but the current schema makes it INT64/);

      fs.writeFileSync(path.join(dir, 'v1.avsc'), JSON.stringify({ ...current, fields: current.fields.filter((f) => f.name !== 'element') }));
      const removed = await ensureEventsTable(dataset, topicAt('analytics', ['v1'], dir)).catch((e: unknown) => e);
      expect((removed as IncompatibleSchemaError).problems).toEqual([
        { column: 'element', problem: 'removed', message: 'column "element" is not in the current schema (removed or renamed)' },
      ]);

      const [metadata] = await dataset.table('analytics_events').getMetadata();
      expect(metadata.schema.fields.map((f: { name: string }) => f.name)).toEqual(eventsTableSchema(spec.topics.analytics).map((f) => f.name));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('plans additive changes as NULLABLE columns and treats INT64/INTEGER as the same type', () => {
    const plan = planSchemaChange(
      [
        { name: 'a', type: 'INTEGER', mode: 'REQUIRED' },
        { name: 'b', type: 'BOOLEAN' },
      ],
      [
        { name: 'a', type: 'INT64', mode: 'NULLABLE' },
        { name: 'b', type: 'BOOL', mode: 'NULLABLE' },
        { name: 'c', type: 'JSON', mode: 'REQUIRED' },
      ],
    );
    expect(plan).toEqual({ add: [{ name: 'c', type: 'JSON', mode: 'NULLABLE' }], problems: [] });
  });
});

describe('rows', () => {
  it('maps a delivery to an insertAll row: insertId = event id / message id, envelope, typed payload columns, JSON payload', () => {
    const d = delivery(
      'orders',
      'ev-1',
      'order.shipped',
      new Date('2024-03-01T12:00:00.000Z'),
      order('o-9', 'c-1', 3, { carrier: 'dhl', nested: { ignored: true } }),
    );
    const row = eventRow(spec.topics.orders, d);
    expect(row).toEqual({
      insertId: `ev-1/${d.messageId}`,
      json: {
        event_id: 'ev-1',
        event_type: 'order.shipped',
        source: '//checkout/api',
        subject: null,
        event_time: '2024-03-01T12:00:00.000Z',
        schema_version: 'v2',
        publish_time: '2024-03-01T12:00:02.000Z',
        message_id: d.messageId,
        ordering_key: 'o-9',
        attributes: JSON.stringify(d.attributes),
        replay_id: null,
        data: JSON.stringify(d.event.data),
        order_id: 'o-9',
        customer_id: 'c-1',
        sequence: 3,
        amount_cents: 2599,
        currency: 'USD',
        item_count: 1,
        reason: '',
        carrier: 'dhl',
        extensions: null,
      },
    });
  });

  it('keeps the extension attributes, traceparent and tracestate included, as JSON in `extensions`', () => {
    const d = delivery('orders', 'ev-3', 'order.paid', new Date('2024-03-01T12:00:00.000Z'), order('o-9', 'c-1', 2));
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    d.event = { ...d.event, traceparent, tracestate: 'rojo=1', extensions: { tenant: 'acme', region: 'eu' } };
    expect(JSON.parse(eventRow(spec.topics.orders, d).json.extensions as string)).toEqual({ tenant: 'acme', region: 'eu', traceparent, tracestate: 'rojo=1' });
  });

  it('marks a replayed copy with its replay id (attribute replayId), real-time ones with NULL', () => {
    const d = delivery('orders', 'ev-2', 'order.paid', new Date('2024-03-01T12:00:00.000Z'), order('o-9', 'c-1', 2));
    const replayed = { ...d, attributes: { ...d.attributes, replayId: 'rp-20240301120000-abcdef' } };
    expect(eventRow(spec.topics.orders, replayed).json.replay_id).toBe('rp-20240301120000-abcdef');
    expect(eventRow(spec.topics.orders, d).json.replay_id).toBeNull();
  });

  it('lands 10k rows with duplicate insertIds once each', async () => {
    const { events } = await ensureWarehouse(bigquery, withDataset('dedup_test'), { project: spec.project });
    const start = Date.now() - 60_000;
    const unique = Array.from({ length: 5000 }, (_, i) =>
      eventRow(spec.topics.analytics, delivery('analytics', `dup-${i}`, 'view', new Date(start + i), view(`u-${i % 97}`))),
    );
    // Every event twice: as a redelivery (same row) in another request, and some twice in the same request.
    const rows: InsertRow[] = [];
    for (let i = 0; i < unique.length; i++) rows.push(unique[i], unique[(i * 7919) % unique.length]);
    const result = await insertBatch(events.analytics, rows);
    expect(result.failed).toEqual([]);
    expect(result.inserted).toBe(10_000);
    expect(await count('dedup_test.analytics_events')).toBe(5000);
    expect(Number((await bigquery.query('SELECT COUNT(DISTINCT event_id) AS c FROM dedup_test.analytics_events'))[0][0].c)).toBe(5000);
  });

  it("splits requests by the row sizes it is given (the loader's, measured once) and measures them itself otherwise", async () => {
    const { events } = await ensureWarehouse(bigquery, withDataset('sizes_test'), { project: spec.project });
    const now = new Date();
    const rows = Array.from({ length: 6 }, (_, i) => eventRow(spec.topics.analytics, delivery('analytics', `sized-${i}`, 'view', now, view('u-1'))));
    const requests = jest.spyOn(events.analytics, 'insert');
    try {
      // Measured here: the six rows fit one request.
      expect((await insertBatch(events.analytics, rows, { maxBytes: 1_000_000 })).failed).toEqual([]);
      expect(requests.mock.calls.map(([chunk]) => (chunk as InsertRow[]).length)).toEqual([6]);
      requests.mockClear();
      // Sizes given (as rowBytes() would say of bigger rows): two rows a request, and no row measured again.
      const stringify = jest.spyOn(JSON, 'stringify');
      const sizes = rows.map(() => 400_000);
      expect((await insertBatch(events.analytics, rows, { maxBytes: 1_000_000 }, sizes)).failed).toEqual([]);
      const measured = stringify.mock.calls.filter(([value]) => rows.includes(value as InsertRow)).length;
      stringify.mockRestore();
      expect(requests.mock.calls.map(([chunk]) => (chunk as InsertRow[]).length)).toEqual([2, 2, 2]);
      expect(measured).toBe(0);
      expect(rowBytes(rows[0])).toBe(Buffer.byteLength(JSON.stringify(rows[0])) + 1);
    } finally {
      requests.mockRestore();
    }
  });

  it('returns the rows that do not fit with their errors while the good rows land', async () => {
    const { events, deadLetters } = await ensureWarehouse(bigquery, withDataset('errors_test'), { project: spec.project });
    const now = new Date();
    const good = (id: string) => eventRow(spec.topics.analytics, delivery('analytics', id, 'view', now, view('u-1')));
    const badType = good('bad-type');
    badType.json.duration_ms = 'long';
    const unknown = good('unknown-column');
    unknown.json.favourite_colour = 'blue';
    const noId = good('missing-id');
    delete noId.json.event_id;
    const result = await insertBatch(events.analytics, [good('ok-1'), badType, good('ok-2'), unknown, noId, good('ok-3')], { maxRows: 4 });
    expect(result.inserted).toBe(3);
    expect(result.failed.map((f) => [f.index, f.row.insertId, f.retryable, f.errors[0].location])).toEqual([
      [1, badType.insertId, false, 'duration_ms'],
      [3, unknown.insertId, false, 'favourite_colour'],
      [4, noId.insertId, false, 'event_id'],
    ]);
    expect(result.failed[0].errors[0]).toMatchObject({ reason: 'invalid', message: expect.stringContaining('Cannot convert value to integer') });
    const [rows] = await bigquery.query('SELECT event_id FROM errors_test.analytics_events ORDER BY event_id');
    expect(rows.map((r: { event_id: string }) => r.event_id)).toEqual(['ok-1', 'ok-2', 'ok-3']);

    // What the loader does with them: dead_letters (a retried dead-lettering lands once).
    const letters = result.failed.map((f) =>
      deadLetterRow({
        consumer: 'warehouse-analytics',
        topic: 'analytics',
        reason: 'insert',
        error: f.errors.map((e) => e.message).join('; '),
        eventId: String(f.row.json.event_id ?? ''),
        messageId: String(f.row.json.message_id),
        data: JSON.stringify(f.row.json),
      }),
    );
    expect((await insertBatch(deadLetters, [...letters, ...letters])).failed).toEqual([]);
    expect(await count('errors_test.dead_letters')).toBe(3);
  });

  it('keeps tables, rows and seen insertIds when the endpoint restarts on the same data file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warehouse-'));
    const dataFile = path.join(dir, 'bigquery.duckdb');
    let server: LocalBigQuery | undefined;
    try {
      server = await startLocalBigQuery({ dataFile });
      let client = new BigQuery({ projectId: spec.project, apiEndpoint: server.url });
      const first = await ensureWarehouse(client, spec, { project: spec.project });
      const rows = ['r-1', 'r-2', 'r-3'].map((id) => eventRow(spec.topics.orders, delivery('orders', id, 'order.created', new Date(), order(id, 'c-1', 1))));
      await insertBatch(first.events.orders, rows);
      await server.stop();

      server = await startLocalBigQuery({ dataFile });
      client = new BigQuery({ projectId: spec.project, apiEndpoint: server.url });
      const again = await ensureWarehouse(client, spec, { project: spec.project });
      expect(again.changes.every((c) => c.action === 'unchanged')).toBe(true);
      await insertBatch(again.events.orders, rows);
      const [result] = await client.query('SELECT COUNT(*) AS c FROM `event-mesh-local.event_mesh.orders_events_dedup`');
      expect(result).toEqual([{ c: 3 }]);
    } finally {
      await server?.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('documented analyst queries', () => {
  const now = Date.now();
  const hour = 3_600_000;
  /** The start of the hour three hours ago: every "old" event is at least ~2 hours old. */
  const H = Math.floor(now / hour) * hour - 3 * hour;
  const at = (minutes: number) => new Date(H + minutes * 60_000);
  const data: { topic: 'analytics' | 'orders'; d: EventDelivery }[] = [];
  const add = (topic: 'analytics' | 'orders', id: string, type: string, time: Date, payload: Record<string, unknown>, lateMs?: number) =>
    data.push({ topic, d: delivery(topic, id, type, time, payload, lateMs) });

  // Funnel: u1 views, clicks, likes; u2 views, clicks; u3 only views (published 5 minutes late);
  // u4 clicks without viewing; u5 views, likes, then clicks (liked before clicking).
  add('analytics', 'a-u1-view', 'view', at(1), view('u1'));
  add('analytics', 'a-u1-click', 'click', at(2), view('u1', { element: 'like-button' }));
  add('analytics', 'a-u1-like', 'like.created', at(3), view('u1'));
  add('analytics', 'a-u2-view', 'view', at(5), view('u2'));
  add('analytics', 'a-u2-click', 'click', at(6), view('u2'));
  add('analytics', 'a-u3-view', 'view', at(7), view('u3'), 300_000);
  add('analytics', 'a-u4-click', 'click', at(61), view('u4'));
  add('analytics', 'a-u5-view', 'view', at(61), view('u5'));
  add('analytics', 'a-u5-like', 'like.created', at(62), view('u5'));
  add('analytics', 'a-u5-click', 'click', at(63), view('u5'));
  // A redelivery of u1's view, published 10 minutes later: the dedup view keeps the first.
  add('analytics', 'a-u1-view', 'view', at(1), view('u1'), 600_000);

  // Orders: o1 shipped; o2 paid long ago, never shipped (stuck); o3 cancelled after paying; o4 paid
  // 4 minutes ago (not stuck yet); o5 only created (published 90 s late); o6, o7 shipped.
  add('orders', 'o1-created', 'order.created', at(10), order('o1', 'c1', 1));
  add('orders', 'o1-paid', 'order.paid', at(11), order('o1', 'c1', 2));
  add('orders', 'o1-shipped', 'order.shipped', at(30), order('o1', 'c1', 3, { carrier: 'dhl' }));
  add('orders', 'o2-created', 'order.created', at(12), order('o2', 'c2', 1));
  add('orders', 'o2-paid', 'order.paid', at(13), order('o2', 'c2', 2));
  add('orders', 'o3-created', 'order.created', at(14), order('o3', 'c3', 1));
  add('orders', 'o3-paid', 'order.paid', at(15), order('o3', 'c3', 2));
  add('orders', 'o3-cancelled', 'order.cancelled', at(20), order('o3', 'c3', 3, { reason: 'customer request' }));
  add('orders', 'o4-created', 'order.created', new Date(now - 5 * 60_000), order('o4', 'c4', 1));
  add('orders', 'o4-paid', 'order.paid', new Date(now - 4 * 60_000), order('o4', 'c4', 2));
  add('orders', 'o5-created', 'order.created', at(16), order('o5', 'c5', 1), 90_000);
  add('orders', 'o6-shipped', 'order.shipped', at(40), order('o6', 'c6', 3, { carrier: 'ups', amountCents: 1000 }));
  add('orders', 'o7-shipped', 'order.shipped', at(41), order('o7', 'c7', 3, { carrier: 'dhl', amountCents: 401 }));
  // The o2 payment delivered again (a redelivery does not make it two payments).
  add('orders', 'o2-paid', 'order.paid', at(13), order('o2', 'c2', 2), 5000);

  const run = async (name: string) => (await bigquery.query(analystQuery(name).sql))[0] as Record<string, unknown>[];

  beforeAll(async () => {
    // The documented queries name the spec's dataset (event_mesh).
    const { events, deadLetters } = await ensureWarehouse(bigquery, spec, { project: spec.project });
    for (const topic of ['analytics', 'orders'] as const) {
      const rows = data.filter((x) => x.topic === topic).map((x) => eventRow(spec.topics[topic], x.d));
      // Redeliveries arrive after the insertId dedup window in this scenario: insert them in their own
      // requests and make their insertId unique, so they really land twice and the views must dedup.
      const seen = new Set<string>();
      for (const row of rows) {
        const copy = seen.has(row.insertId) ? { ...row, insertId: `${row.insertId}#redelivery` } : row;
        seen.add(row.insertId);
        expect((await insertBatch(events[topic], [copy])).failed).toEqual([]);
      }
    }
    const letter = (consumer: string, topic: string, reason: string, id: string) => deadLetterRow({ consumer, topic, reason, error: 'test', eventId: id });
    await insertBatch(deadLetters, [
      letter('warehouse-analytics', 'analytics', 'insert', 'x1'),
      letter('warehouse-analytics', 'analytics', 'insert', 'x2'),
      letter('processor-orders', 'orders', 'poison', 'x3'),
    ]);
  });

  it('loaded duplicates into the events tables (so the dedup views matter)', async () => {
    expect(await count('event_mesh.analytics_events')).toBe(11);
    expect(await count('event_mesh.analytics_events_dedup')).toBe(10);
    expect(await count('event_mesh.orders_events_dedup')).toBe(13);
  });

  it('are all in docs/analysts.md, verbatim', () => {
    const docs = fs.readFileSync(path.resolve(__dirname, '../../docs/analysts.md'), 'utf8');
    const queries = analystQueries();
    expect(queries.map((q) => q.name)).toEqual([
      'events_per_type_per_hour',
      'funnel',
      'stuck_orders',
      'late_events',
      'shipped_by_carrier',
      'dead_letters_by_reason',
    ]);
    for (const q of queries) expect(docs).toContain(q.sql);
  });

  it('events_per_type_per_hour counts each event once per topic, type and hour', async () => {
    const expected = new Map<string, Set<string>>();
    for (const { topic, d } of data) {
      const bucket = new Date(Math.floor(Date.parse(d.event.time) / hour) * hour).toISOString();
      const key = `${bucket} ${topic} ${d.event.type}`;
      expected.set(key, (expected.get(key) ?? new Set()).add(d.event.id));
    }
    const rows = await run('events_per_type_per_hour');
    const got = rows.map((r) => `${(r.hour as { value: string }).value} ${String(r.topic)} ${String(r.event_type)} ${String(r.events)}`);
    const want = [...expected.entries()].map(([key, ids]) => `${key} ${ids.size}`).sort();
    expect(got).toEqual(want);
    expect(got).toContain(`${new Date(H).toISOString()} analytics view 3`);
  });

  it('funnel: 4 sessions viewed, 3 clicked after viewing, 1 liked after clicking', async () => {
    expect(await run('funnel')).toEqual([{ viewed: 4, clicked: 3, liked: 1, view_to_like_rate: 0.25 }]);
  });

  it('stuck_orders: only o2, paid long ago and never shipped', async () => {
    const rows = await run('stuck_orders');
    expect(rows).toEqual([
      { order_id: 'o2', customer_id: 'c2', paid_at: expect.objectContaining({ value: at(13).toISOString() }), minutes_since_paid: expect.any(Number) },
    ]);
    const minutes = Math.floor((Date.now() - at(13).getTime()) / 60_000);
    expect(rows[0].minutes_since_paid).toBeGreaterThanOrEqual(minutes - 1);
    expect(rows[0].minutes_since_paid).toBeLessThanOrEqual(minutes);
  });

  it('late_events: the events published more than a minute after they happened, latest first', async () => {
    const rows = await run('late_events');
    expect(rows.map((r) => [r.topic, r.event_id, r.event_type, r.source, r.lateness_seconds])).toEqual([
      ['analytics', 'a-u3-view', 'view', '//web', 300],
      ['orders', 'o5-created', 'order.created', '//checkout/api', 90],
    ]);
  });

  it('shipped_by_carrier reads the carrier from the JSON payload', async () => {
    expect(await run('shipped_by_carrier')).toEqual([
      { shipping_carrier: 'dhl', shipped: 2, amount: 30 },
      { shipping_carrier: 'ups', shipped: 1, amount: 10 },
    ]);
  });

  it('dead_letters_by_reason groups what the consumers gave up on', async () => {
    const rows = await run('dead_letters_by_reason');
    expect(rows.map((r) => [r.consumer, r.topic, r.reason, r.dead_letters])).toEqual([
      ['warehouse-analytics', 'analytics', 'insert', 2],
      ['processor-orders', 'orders', 'poison', 1],
    ]);
  });
});
