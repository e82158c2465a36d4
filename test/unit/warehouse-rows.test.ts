/**
 * The warehouse's rows (services/warehouse/rows.ts, shared/warehouse): the delivery-to-row mapping
 * and insertAll batches, through the real @google-cloud/bigquery client against the local BigQuery
 * endpoint.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BigQuery } from '@google-cloud/bigquery';
import { startLocalBigQuery, type LocalBigQuery } from '../../shared/bigquery-local';
import { deadLetterRow, eventRow, type InsertRow } from '../../shared/warehouse';
import { ensureWarehouse } from '../../services/warehouse/tables';
import { encodeRow, insertBatch, rowBytes } from '../../services/warehouse/rows';
import { delivery, order, spec, useWarehouseEndpoint, view, withDataset } from '../support/warehouse-deliveries';

const endpoint = useWarehouseEndpoint();

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
    const { events } = await ensureWarehouse(endpoint.bigquery, withDataset('dedup_test'), { project: spec.project });
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
    expect(await endpoint.count('dedup_test.analytics_events')).toBe(5000);
    expect(Number((await endpoint.bigquery.query('SELECT COUNT(DISTINCT event_id) AS c FROM dedup_test.analytics_events'))[0][0].c)).toBe(5000);
  });

  it("splits requests by the rows' encoding it is given (the loader's, made once) and encodes them itself otherwise", async () => {
    const { events } = await ensureWarehouse(endpoint.bigquery, withDataset('sizes_test'), { project: spec.project });
    const now = new Date();
    const rows = Array.from({ length: 6 }, (_, i) => eventRow(spec.topics.analytics, delivery('analytics', `sized-${i}`, 'view', now, view('u-1'))));
    const requests = jest.spyOn(events.analytics, 'request');
    const rowsPerRequest = () =>
      requests.mock.calls.map(([options]) => (JSON.parse((options.body as Buffer).toString('utf8')) as { rows: unknown[] }).rows.length);
    try {
      // Encoded here: the six rows fit one request.
      expect((await insertBatch(events.analytics, rows, { maxBytes: 1_000_000 })).failed).toEqual([]);
      expect(rowsPerRequest()).toEqual([6]);
      expect(requests.mock.calls[0][0]).toMatchObject({ method: 'POST', uri: '/insertAll', headers: { 'Content-Type': 'application/json' } });
      requests.mockClear();
      // Encodings given, each 400 kB (JSON allows the whitespace): two rows a request, and no row serialized again.
      const encoded = rows.map((r) => encodeRow(r) + ' '.repeat(400_000));
      const stringify = jest.spyOn(JSON, 'stringify');
      expect((await insertBatch(events.analytics, rows, { maxBytes: 1_000_000 }, encoded)).failed).toEqual([]);
      const serialized = stringify.mock.calls.filter(([value]) => rows.includes(value as InsertRow)).length;
      stringify.mockRestore();
      expect(rowsPerRequest()).toEqual([2, 2, 2]);
      expect(serialized).toBe(0);
      expect(rowBytes(rows[0])).toBe(Buffer.byteLength(JSON.stringify(rows[0])) + 1);
      expect(rowBytes(rows[0], encoded[0])).toBe(Buffer.byteLength(encoded[0]) + 1);
    } finally {
      requests.mockRestore();
    }
  });

  it('stores a value as it was sent, "{{projectId}}" included (the client\'s table.insert() rewrites it to the project)', async () => {
    const { events } = await ensureWarehouse(endpoint.bigquery, withDataset('token_test'), { project: spec.project });
    const d = delivery('analytics', 'token-1', 'click', new Date(), { ...view('u-1'), element: 'see {{projectId}} here' });
    const row = eventRow(spec.topics.analytics, d);
    expect((await insertBatch(events.analytics, [row])).failed).toEqual([]);
    const [stored] = await endpoint.bigquery.query('SELECT data FROM token_test.analytics_events');
    expect(stored.map((r: { data: string }) => r.data)).toEqual([row.json.data]);
    expect(String(row.json.data)).toContain('see {{projectId}} here');
    // The library's own path, for the record: the same value comes back rewritten.
    await events.analytics.insert([{ insertId: 'token-2', json: { ...row.json, event_id: 'token-2' } }], { raw: true });
    const [viaInsert] = await endpoint.bigquery.query("SELECT data FROM token_test.analytics_events WHERE event_id = 'token-2'");
    expect(viaInsert[0].data).not.toContain('{{projectId}}');
  });

  it('returns the rows that do not fit with their errors while the good rows land', async () => {
    const { events, deadLetters } = await ensureWarehouse(endpoint.bigquery, withDataset('errors_test'), { project: spec.project });
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
    const [rows] = await endpoint.bigquery.query('SELECT event_id FROM errors_test.analytics_events ORDER BY event_id');
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
    expect(await endpoint.count('errors_test.dead_letters')).toBe(3);
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
