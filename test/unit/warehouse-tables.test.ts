/**
 * The warehouse's tables (services/warehouse/tables.ts): dataset, events tables, dedup views and
 * dead_letters, and their additive schema changes, through the real @google-cloud/bigquery client
 * against the local BigQuery endpoint.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { eventRow, eventsTableSchema } from '../../shared/warehouse';
import { ensureEventsTable, ensureWarehouse, IncompatibleSchemaError, planSchemaChange } from '../../services/warehouse/tables';
import { insertBatch } from '../../services/warehouse/rows';
import { delivery, order, spec, useWarehouseEndpoint, topicAt, view, withDataset } from '../support/warehouse-deliveries';

const endpoint = useWarehouseEndpoint();

describe('tables', () => {
  it('creates the dataset, an events table and a dedup view per topic, and dead_letters; a second run changes nothing', async () => {
    const first = await ensureWarehouse(endpoint.bigquery, withDataset('tables_test'), { project: spec.project });
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

    const again = await ensureWarehouse(endpoint.bigquery, withDataset('tables_test'), { project: spec.project });
    expect(again.changes.every((c) => c.action === 'unchanged')).toBe(true);
  });

  it('adds the columns of a new schema revision by an additive patch; rows loaded before read NULL', async () => {
    const spec1 = withDataset('evolution_test');
    const { dataset } = await ensureWarehouse(endpoint.bigquery, { ...spec1, topics: { analytics: topicAt('analytics', ['v1']) } }, { project: spec.project });
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
    const [rows] = await endpoint.bigquery.query('SELECT event_id, country, duration_ms FROM evolution_test.analytics_events ORDER BY event_id');
    expect(rows).toEqual([
      { event_id: 'evo-1', country: null, duration_ms: null },
      { event_id: 'evo-2', country: 'FR', duration_ms: 3100 },
    ]);
  });

  it('adds the extensions column to a table made before it (an additive patch, appended last) and loads extensions into it', async () => {
    const { dataset } = await ensureWarehouse(endpoint.bigquery, { ...withDataset('extensions_test'), topics: {} }, { project: spec.project });
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
    const [rows] = await endpoint.bigquery.query(
      "SELECT event_id, JSON_VALUE(extensions, '$.tenant') AS tenant, JSON_VALUE(extensions, '$.traceparent') AS traceparent FROM extensions_test.orders_events ORDER BY event_id",
    );
    expect(rows).toEqual([
      { event_id: 'ext-1', tenant: 'acme', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
      { event_id: 'ext-2', tenant: null, traceparent: null },
    ]);
  });

  it('refuses a changed column type or a removed column, naming the column, and leaves the table alone', async () => {
    const { dataset } = await ensureWarehouse(
      endpoint.bigquery,
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
