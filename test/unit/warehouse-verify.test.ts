/**
 * Verify mode (services/warehouse/verify.ts) through the real @google-cloud/bigquery client against
 * the local BigQuery endpoint, behind a small proxy that records every request and can answer like
 * BigQuery does before an IAM grant has propagated (403). Also the dedup view's window on the same
 * endpoint: one row per event with PARTITION BY event_id, event_time.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { BigQuery } from '@google-cloud/bigquery';
import { startLocalBigQuery, type LocalBigQuery } from '../../shared/bigquery-local';
import { loadSpec, type MeshSpec, type TopicSpec } from '../../shared/spec';
import { DEDUP_PARTITION_BY, dedupViewQuery, eventRow } from '../../shared/warehouse';
import { tablesModeFromEnv } from '../../services/warehouse/env';
import { ensureEventsTable, ensureWarehouse, IncompatibleSchemaError } from '../../services/warehouse/tables';
import { ensureArchiveTables } from '../../services/warehouse/archive';
import { insertBatch } from '../../services/warehouse/rows';
import { defaultTablesMode, TableNotReadyError, verifyWarehouse, waitForWarehouse } from '../../services/warehouse/verify';

process.env.METADATA_SERVER_DETECTION = 'none';
(globalThis as { Bun?: unknown }).Bun ??= {}; // see warehouse.test.ts: teeny-request's node:http transport

const spec = loadSpec();
const withDataset = (dataset: string): MeshSpec => ({ ...spec, warehouse: { ...spec.warehouse, dataset } });
let local: LocalBigQuery;
let proxy: http.Server;
let bigquery: BigQuery;
const requests: string[] = [];
/** While > 0, the proxy answers this many requests with BigQuery's 403. */
let forbid = 0;

beforeAll(async () => {
  local = await startLocalBigQuery();
  const target = new URL(local.url);
  proxy = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url?.split('?')[0]}`);
    if (forbid > 0) {
      forbid--;
      res.writeHead(403, { 'content-type': 'application/json' });
      return void res.end(
        JSON.stringify({
          error: { code: 403, message: 'Access Denied: Table p:d.t: Permission bigquery.tables.get denied', errors: [{ reason: 'accessDenied' }] },
        }),
      );
    }
    const upstream = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  bigquery = new BigQuery({ projectId: spec.project, apiEndpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` });
});

afterAll(async () => {
  await new Promise((resolve) => proxy?.close(resolve));
  await local?.stop();
});

beforeEach(() => {
  requests.length = 0;
  forbid = 0;
});

describe('verify', () => {
  it('reports the first missing table by name, and creates nothing', async () => {
    const error = await verifyWarehouse(bigquery, withDataset('verify_missing')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TableNotReadyError);
    expect(error).toMatchObject({ table: 'verify_missing.analytics_events', reason: 'missing' });
    expect(requests.filter((r) => !r.startsWith('GET '))).toEqual([]);
  });

  it('needs only tables.get: one GET per table, nothing on the dataset or project', async () => {
    const ready = withDataset('verify_ready');
    const created = await ensureWarehouse(bigquery, ready, { project: spec.project });
    await ensureArchiveTables(created.dataset, ready);
    requests.length = 0;
    const verified = await verifyWarehouse(bigquery, ready, { archive: true });
    expect(Object.keys(verified.tables.events)).toEqual(['analytics', 'orders']);
    expect(Object.keys(verified.archive)).toEqual(['raw_orders']);
    const tablesPath = `GET /bigquery/v2/projects/${spec.project}/datasets/verify_ready/tables/`;
    expect(requests).toEqual(
      ['analytics_events', 'analytics_events_dedup', 'orders_events', 'orders_events_dedup', 'dead_letters', 'raw_orders'].map((t) => `${tablesPath}${t}`),
    );
  });

  it('waits through 403s (grant not propagated yet), saying which table', async () => {
    const ready = withDataset('verify_forbidden');
    await ensureWarehouse(bigquery, ready, { project: spec.project });
    forbid = 3;
    const waits: string[] = [];
    const verified = await waitForWarehouse(bigquery, ready, { initialDelayMs: 5, onWait: (e, attempt) => waits.push(`${attempt} ${e.table} ${e.reason}`) });
    expect(waits).toEqual([
      '1 verify_forbidden.analytics_events forbidden',
      '2 verify_forbidden.analytics_events forbidden',
      '3 verify_forbidden.analytics_events forbidden',
    ]);
    expect(verified.tables.deadLetters.id).toBe('dead_letters');
  });

  it("waits while the deployment has not added a new revision's columns, then goes on", async () => {
    const ready = withDataset('verify_columns');
    const v1: TopicSpec = { ...spec.topics.analytics, schema: { ...spec.topics.analytics.schema, revisions: ['v1'], accept: { first: 'v1', last: 'v1' } } };
    const { dataset } = await ensureWarehouse(bigquery, { ...ready, topics: { ...ready.topics, analytics: v1 } }, { project: spec.project });
    const error = await verifyWarehouse(bigquery, ready).catch((e: unknown) => e);
    expect(error).toMatchObject({ table: 'verify_columns.analytics_events', reason: 'columns-missing' });
    expect((error as Error).message).toContain('country, duration_ms');
    const waiting = waitForWarehouse(bigquery, ready, { initialDelayMs: 20, maxDelayMs: 20 });
    await ensureEventsTable(dataset, spec.topics.analytics); // "pulumi up" adds the columns
    await expect(waiting).resolves.toBeDefined();
  });

  it('gives up at once on an incompatible table (a retyped or removed column never fixes itself)', async () => {
    const ready = withDataset('verify_incompatible');
    const { dataset } = await ensureWarehouse(bigquery, ready, { project: spec.project });
    await dataset.table('dead_letters').delete();
    await dataset.createTable('dead_letters', { schema: { fields: [{ name: 'consumer', type: 'INTEGER', mode: 'REQUIRED' }] } });
    await expect(waitForWarehouse(bigquery, ready, { initialDelayMs: 5 })).rejects.toBeInstanceOf(IncompatibleSchemaError);
  });

  it('stops waiting when the missing table never comes (timeout) or the service stops (abort)', async () => {
    await expect(waitForWarehouse(bigquery, withDataset('verify_never'), { initialDelayMs: 5, timeoutMs: 30 })).rejects.toMatchObject({ reason: 'missing' });
    const abort = new AbortController();
    const waiting = waitForWarehouse(bigquery, withDataset('verify_never'), {
      initialDelayMs: 10_000,
      signal: abort.signal,
      onWait: () => setImmediate(() => abort.abort(new Error('stopping'))),
    });
    await expect(waiting).rejects.toThrow('stopping');
  });
});

describe('mode', () => {
  it('is verify against BigQuery and create on the local endpoint, unless MESH_WAREHOUSE_TABLES says otherwise', () => {
    expect(defaultTablesMode(new BigQuery({ projectId: 'p' }))).toBe('verify');
    expect(defaultTablesMode(bigquery)).toBe('create');
    expect(tablesModeFromEnv({})).toBe('verify');
    expect(tablesModeFromEnv({ BIGQUERY_EMULATOR_HOST: 'http://127.0.0.1:9050' })).toBe('create');
    expect(tablesModeFromEnv({ BIGQUERY_EMULATOR_HOST: 'http://127.0.0.1:9050', MESH_WAREHOUSE_TABLES: 'verify' })).toBe('verify');
    expect(tablesModeFromEnv({ MESH_WAREHOUSE_TABLES: 'Create' })).toBe('create');
    expect(() => tablesModeFromEnv({ MESH_WAREHOUSE_TABLES: 'yes' })).toThrow('MESH_WAREHOUSE_TABLES "yes" must be create or verify');
  });
});

describe('dedup view', () => {
  it('partitions its window by event id and event time (the partitioning column), so an event_time filter can prune', () => {
    expect(DEDUP_PARTITION_BY).toEqual(['event_id', 'event_time']);
    expect(dedupViewQuery('p', 'd', 'orders')).toMatch(
      /QUALIFY ROW_NUMBER\(\) OVER \(PARTITION BY event_id, event_time ORDER BY publish_time, LENGTH\(message_id\), message_id\) = 1/,
    );
  });

  it('still returns one row per event, the first published, and the same rows under an event_time filter', async () => {
    const ready = withDataset('dedup_window');
    const { events } = await ensureWarehouse(bigquery, ready, { project: spec.project });
    const topic = spec.topics.analytics;
    const at = (day: number) => new Date(Date.UTC(2026, 0, day, 12));
    const copy = (id: string, day: number, publishedAfterMs: number, messageId: string) =>
      eventRow(topic, {
        event: {
          id,
          type: 'view',
          source: '//web',
          time: at(day).toISOString(),
          schemaVersion: 'v2',
          specversion: '1.0',
          datacontenttype: 'application/json',
          data: { userId: 'u', sessionId: 's', page: '/', element: '', postId: '' },
        },
        messageId,
        publishTime: new Date(at(day).getTime() + publishedAfterMs),
        attributes: { 'ce-id': id },
      });
    // Three copies of e-1 (a redelivery and a redrive: same ce-time), two of e-2, one of e-3; fresh insertIds so all land.
    const rows = [
      copy('e-1', 1, 3000, 'm-1c'),
      copy('e-1', 1, 1000, 'm-1a'),
      copy('e-1', 1, 2000, 'm-1b'),
      copy('e-2', 2, 500, 'm-2a'),
      copy('e-2', 2, 900, 'm-2b'),
      copy('e-3', 3, 100, 'm-3a'),
    ];
    expect(
      (
        await insertBatch(
          events.analytics,
          rows.map((r) => ({ ...r, insertId: r.json.message_id as string })),
        )
      ).failed,
    ).toEqual([]);
    const view = '`event-mesh-local.dedup_window.analytics_events_dedup`';
    const [all] = await bigquery.query(`SELECT event_id, message_id FROM ${view} ORDER BY event_id`);
    expect(all).toEqual([
      { event_id: 'e-1', message_id: 'm-1a' },
      { event_id: 'e-2', message_id: 'm-2a' },
      { event_id: 'e-3', message_id: 'm-3a' },
    ]);
    const [filtered] = await bigquery.query(`SELECT event_id, message_id FROM ${view} WHERE event_time >= TIMESTAMP '2026-01-02' ORDER BY event_id`);
    expect(filtered).toEqual(all.slice(1));
  });
});
