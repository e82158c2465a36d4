/**
 * The local BigQuery endpoint through the real @google-cloud/bigquery client: the REST subset, the
 * JSON shapes, BigQuery's error answers, and BigQuery SQL semantics on DuckDB.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BigQuery, type Dataset } from '@google-cloud/bigquery';
import { startLocalBigQuery, type LocalBigQuery } from '../../shared/bigquery-local';
import { errorOf, startLocalBigQueryWithDataset } from '../support/local-bigquery';

let local: LocalBigQuery;
let bigquery: BigQuery;
let dataset: Dataset;

beforeAll(async () => {
  ({ local, bigquery, dataset } = await startLocalBigQueryWithDataset('shop'));
});

afterAll(async () => {
  await local?.stop();
});

describe('datasets', () => {
  it('creates, gets and reports existence; a second create is 409', async () => {
    expect((await dataset.exists())[0]).toBe(true);
    expect((await bigquery.dataset('nope').exists())[0]).toBe(false);
    const [metadata] = await dataset.getMetadata();
    expect(metadata).toMatchObject({
      kind: 'bigquery#dataset',
      id: 'test-project:shop',
      datasetReference: { datasetId: 'shop', projectId: 'test-project' },
      location: 'US',
    });
    const error = await errorOf(bigquery.createDataset('shop'));
    expect(error.code).toBe(409);
    expect(error.message).toBe('Already Exists: Dataset test-project:shop');
  });

  it('is reachable through BIGQUERY_EMULATOR_HOST too (paths without /bigquery/v2)', async () => {
    process.env.BIGQUERY_EMULATOR_HOST = local.url;
    try {
      const viaEnv = new BigQuery({ projectId: 'test-project' });
      expect((await viaEnv.dataset('shop').exists())[0]).toBe(true);
      const [rows] = await viaEnv.query('SELECT 1 AS one');
      expect(rows).toEqual([{ one: 1 }]);
    } finally {
      delete process.env.BIGQUERY_EMULATOR_HOST;
    }
  });
});

describe('tables', () => {
  const schema = {
    fields: [
      { name: 'id', type: 'STRING', mode: 'REQUIRED' },
      { name: 'amount', type: 'INT64' },
      { name: 'price', type: 'FLOAT64' },
      { name: 'paid', type: 'BOOL' },
      { name: 'created_at', type: 'TIMESTAMP' },
      { name: 'day', type: 'DATE' },
      { name: 'doc', type: 'JSON' },
    ],
  };

  it('stores partitioning and clustering, reports types by BigQuery names', async () => {
    const [table] = await dataset.createTable('orders', { schema, timePartitioning: { type: 'DAY', field: 'created_at' }, clustering: { fields: ['id'] } });
    const [metadata] = await table.getMetadata();
    expect(metadata).toMatchObject({
      kind: 'bigquery#table',
      type: 'TABLE',
      id: 'test-project:shop.orders',
      tableReference: { projectId: 'test-project', datasetId: 'shop', tableId: 'orders' },
      timePartitioning: { type: 'DAY', field: 'created_at' },
      clustering: { fields: ['id'] },
      numRows: '0',
    });
    expect(metadata.schema.fields.map((f: { type: string }) => f.type)).toEqual(['STRING', 'INTEGER', 'FLOAT', 'BOOLEAN', 'TIMESTAMP', 'DATE', 'JSON']);
    expect(metadata.schema.fields[0].mode).toBe('REQUIRED');
    expect((await table.exists())[0]).toBe(true);
    expect((await dataset.table('missing').exists())[0]).toBe(false);
    expect((await errorOf(dataset.createTable('orders', { schema }))).code).toBe(409);
  });

  it('refuses a partitioning column that is not a time', async () => {
    const error = await errorOf(dataset.createTable('bad_partition', { schema, timePartitioning: { type: 'DAY', field: 'id' } }));
    expect(error.code).toBe(400);
    expect(error.message).toMatch(/only be of type TIMESTAMP, DATE or DATETIME. The type found is: STRING/);
  });

  it('patches additive columns and refuses removed, retyped or required ones', async () => {
    const [table] = await dataset.createTable('evolving', {
      schema: {
        fields: [
          { name: 'a', type: 'STRING' },
          { name: 'n', type: 'INT64' },
        ],
      },
    });
    await table.insert([{ a: 'old', n: 1 }]);
    const [before] = await table.getMetadata();
    await table.setMetadata({ schema: { fields: [...before.schema.fields, { name: 'b', type: 'STRING' }] }, etag: before.etag });
    const [after] = await table.getMetadata();
    expect(after.schema.fields.map((f: { name: string }) => f.name)).toEqual(['a', 'n', 'b']);
    // The etag changed: a patch based on the old metadata is refused (read-modify-write safety).
    expect((await errorOf(table.setMetadata({ schema: before.schema, etag: before.etag }))).code).toBe(412);

    const retyped = await errorOf(
      table.setMetadata({
        schema: {
          fields: [
            { name: 'a', type: 'INT64' },
            { name: 'n', type: 'INT64' },
            { name: 'b', type: 'STRING' },
          ],
        },
      }),
    );
    expect(retyped.code).toBe(400);
    expect(retyped.message).toBe('Provided Schema does not match Table test-project:shop.evolving. Field a has changed type from STRING to INTEGER');
    const removed = await errorOf(
      table.setMetadata({
        schema: {
          fields: [
            { name: 'a', type: 'STRING' },
            { name: 'b', type: 'STRING' },
          ],
        },
      }),
    );
    expect(removed.message).toBe('Provided Schema does not match Table test-project:shop.evolving. Field n is missing in new schema');
    const required = await errorOf(table.setMetadata({ schema: { fields: [...after.schema.fields, { name: 'c', type: 'STRING', mode: 'REQUIRED' }] } }));
    expect(required.message).toMatch(/Cannot add required fields to an existing schema. \(field: c\)/);

    const [rows] = await bigquery.query('SELECT a, n, b FROM shop.evolving');
    expect(rows).toEqual([{ a: 'old', n: 1, b: null }]);
  });

  it('creates views from BigQuery SQL and reports their schema', async () => {
    const [view] = await dataset.createTable('orders_latest', {
      view: {
        query: 'SELECT id, amount FROM `test-project.shop.orders` WHERE TRUE QUALIFY ROW_NUMBER() OVER (PARTITION BY id ORDER BY created_at DESC) = 1',
        useLegacySql: false,
      },
    });
    const [metadata] = await view.getMetadata();
    expect(metadata.type).toBe('VIEW');
    expect(metadata.view.query).toMatch(/^SELECT id, amount FROM `test-project.shop.orders`/);
    expect(metadata.schema.fields).toEqual([
      { name: 'id', type: 'STRING', mode: 'NULLABLE' },
      { name: 'amount', type: 'INTEGER', mode: 'NULLABLE' },
    ]);
    const missing = await errorOf(dataset.createTable('broken_view', { view: { query: 'SELECT * FROM shop.nowhere', useLegacySql: false } }));
    expect(missing.code).toBe(404);
    expect(missing.message).toBe('Not found: Table test-project:shop.nowhere');
  });
});

describe('tabledata.insertAll', () => {
  let n = 0;
  const freshTable = async () => {
    const [table] = await dataset.createTable(`rows_${++n}`, {
      schema: {
        fields: [
          { name: 'id', type: 'STRING', mode: 'REQUIRED' },
          { name: 'amount', type: 'INT64' },
          { name: 'created_at', type: 'TIMESTAMP' },
          { name: 'doc', type: 'JSON' },
        ],
      },
    });
    return table;
  };
  const count = async (table: string) => (await bigquery.query(`SELECT COUNT(*) AS c FROM shop.${table}`))[0][0].c as number;

  it('reports each bad row with BigQuery reasons while the good rows land (skipInvalidRows)', async () => {
    const table = await freshTable();
    const error = (await errorOf(
      table.insert(
        [
          { insertId: '1', json: { id: 'good-1', amount: 5, created_at: '2024-05-01T10:00:00Z', doc: '{"a":1}' } },
          { insertId: '2', json: { id: 'bad-type', amount: 'five' } },
          { insertId: '3', json: { amount: 7 } },
          { insertId: '4', json: { id: 'unknown', colour: 'red' } },
          { insertId: '5', json: { id: 'bad-time', created_at: 'yesterday' } },
          { insertId: '6', json: { id: 'bad-json', doc: '{nope' } },
          { insertId: '7', json: { id: 'good-2', amount: '9', created_at: 1714557600.5 } },
        ],
        { raw: true, skipInvalidRows: true, partialRetries: 0 },
      ),
    )) as unknown as { name: string; response: { insertErrors: { index: number; errors: { reason: string; location: string; message: string }[] }[] } };
    expect(error.name).toBe('PartialFailureError');
    const byIndex = Object.fromEntries(error.response.insertErrors.map((e) => [e.index, e.errors[0]]));
    expect(Object.keys(byIndex).map(Number)).toEqual([1, 2, 3, 4, 5]);
    expect(byIndex[1]).toMatchObject({
      reason: 'invalid',
      location: 'amount',
      message: expect.stringContaining('Cannot convert value to integer (bad value): five'),
    });
    expect(byIndex[2]).toMatchObject({ reason: 'invalid', location: 'id', message: 'Missing required field: id.' });
    expect(byIndex[3]).toMatchObject({ reason: 'invalid', location: 'colour', message: 'no such field: colour.' });
    expect(byIndex[4]).toMatchObject({
      reason: 'invalid',
      location: 'created_at',
      message: expect.stringContaining("Could not parse 'yesterday' as a timestamp"),
    });
    expect(byIndex[5]).toMatchObject({ reason: 'invalid', location: 'doc' });
    const [rows] = await bigquery.query({ query: `SELECT id, amount, created_at FROM shop.${table.id} ORDER BY id` });
    expect(rows.map((r: { id: string; amount: number; created_at: { value: string } }) => [r.id, r.amount, r.created_at.value])).toEqual([
      ['good-1', 5, '2024-05-01T10:00:00.000Z'],
      ['good-2', 9, '2024-05-01T10:00:00.500Z'],
    ]);
  });

  it('without skipInvalidRows inserts nothing and marks the good rows "stopped", as BigQuery does', async () => {
    const table = await freshTable();
    const error = (await errorOf(table.insert([{ json: { id: 'ok' } }, { json: { id: 'x', amount: 1.5 } }], { raw: true, partialRetries: 0 }))) as unknown as {
      response: { insertErrors: { index: number; errors: { reason: string }[] }[] };
    };
    expect(error.response.insertErrors.map((e) => [e.index, e.errors[0].reason])).toEqual([
      [0, 'stopped'],
      [1, 'invalid'],
    ]);
    expect(await count(table.id!)).toBe(0);
  });

  it('ignores unknown fields with ignoreUnknownValues', async () => {
    const table = await freshTable();
    await table.insert([{ json: { id: 'a', extra: 1 } }], { raw: true, ignoreUnknownValues: true });
    expect(await count(table.id!)).toBe(1);
  });

  it('drops a repeated insertId silently, within a request and across requests', async () => {
    const table = await freshTable();
    await table.insert(
      [
        { insertId: 'e1', json: { id: 'first' } },
        { insertId: 'e1', json: { id: 'same-batch-repeat' } },
        { insertId: 'e2', json: { id: 'second' } },
      ],
      { raw: true },
    );
    const [response] = await table.insert(
      [{ insertId: 'e2', json: { id: 'later-repeat' } }, { json: { id: 'no-insert-id' } }, { json: { id: 'no-insert-id' } }],
      { raw: true },
    );
    expect(response).toEqual({ kind: 'bigquery#tableDataInsertAllResponse' });
    const [rows] = await bigquery.query(`SELECT id FROM shop.${table.id} ORDER BY id`);
    expect(rows.map((r: { id: string }) => r.id)).toEqual(['first', 'no-insert-id', 'no-insert-id', 'second']);
  });

  it('answers 404 for a missing table and 400 for a view', async () => {
    expect((await errorOf(dataset.table('missing').insert([{ id: 'x' }]))).code).toBe(404);
    expect((await errorOf(dataset.table('orders_latest').insert([{ id: 'x' }]))).message).toMatch(/Cannot insert into view/);
  });

  it('lists rows with table.getRows', async () => {
    const table = await freshTable();
    await table.insert([
      { id: 'a', amount: 1 },
      { id: 'b', amount: 2 },
      { id: 'c', amount: 3 },
    ]);
    const [all] = await table.getRows();
    expect(all.map((r: { id: string }) => r.id)).toEqual(['a', 'b', 'c']);
    const [page, next] = await table.getRows({ maxResults: 2, autoPaginate: false });
    expect(page.map((r: { id: string }) => r.id)).toEqual(['a', 'b']);
    expect(next).toMatchObject({ pageToken: '2' });
  });
});

describe('queries', () => {
  beforeAll(async () => {
    const [table] = await dataset.createTable('events', {
      schema: {
        fields: [
          { name: 'id', type: 'STRING' },
          { name: 'kind', type: 'STRING' },
          { name: 'created_at', type: 'TIMESTAMP' },
          { name: 'n', type: 'INT64' },
          { name: 'payload', type: 'JSON' },
        ],
      },
    });
    await table.insert(
      [
        { insertId: '1', json: { id: 'a', kind: 'view', created_at: '2024-01-07T10:15:00Z', n: 1, payload: '{"user":{"id":"u1"},"tags":["x"]}' } },
        { insertId: '2', json: { id: 'b', kind: 'click', created_at: '2024-01-07T10:45:30Z', n: 2, payload: '{"user":{"id":"u2"}}' } },
        { insertId: '3', json: { id: 'c', kind: 'view', created_at: '2024-01-07T11:05:00Z', n: null, payload: null } },
      ],
      { raw: true },
    );
  });

  it('returns typed rows through jobs.query (the client fast path)', async () => {
    const [rows] = await bigquery.query(`
      SELECT kind, COUNT(*) AS events, TIMESTAMP_TRUNC(MIN(created_at), HOUR) AS first_hour, DATE(MIN(created_at)) AS day,
             AVG(n) AS mean, LOGICAL_OR(n > 1) AS any_big, ANY_VALUE(payload) IS NOT NULL AS has_payload
      FROM \`test-project.shop.events\` GROUP BY kind ORDER BY kind`);
    expect(rows).toEqual([
      {
        kind: 'click',
        events: 1,
        first_hour: expect.objectContaining({ value: '2024-01-07T10:00:00.000Z' }),
        day: expect.objectContaining({ value: '2024-01-07' }),
        mean: 2,
        any_big: true,
        has_payload: true,
      },
      {
        kind: 'view',
        events: 2,
        first_hour: expect.objectContaining({ value: '2024-01-07T10:00:00.000Z' }),
        day: expect.objectContaining({ value: '2024-01-07' }),
        mean: 1,
        any_big: false,
        has_payload: true,
      },
    ]);
  });

  it('pages results of a query job through getQueryResults', async () => {
    const [job] = await bigquery.createQueryJob({ query: 'SELECT id FROM shop.events ORDER BY id' });
    const [firstPage, next] = await job.getQueryResults({ maxResults: 2, autoPaginate: false });
    expect(firstPage.map((r: { id: string }) => r.id)).toEqual(['a', 'b']);
    expect(next).toMatchObject({ pageToken: '2' });
    const [all] = await job.getQueryResults();
    expect(all.map((r: { id: string }) => r.id)).toEqual(['a', 'b', 'c']);
    const [metadata] = await job.getMetadata();
    expect(metadata.status.state).toBe('DONE');
  });

  it('resolves unqualified tables in the default dataset and binds named parameters', async () => {
    const [rows] = await bigquery.query({
      query: 'SELECT id FROM events WHERE kind = @kind AND created_at >= @since ORDER BY id',
      defaultDataset: { datasetId: 'shop' },
      params: { kind: 'view', since: bigquery.timestamp('2024-01-07T10:30:00Z') },
    });
    expect(rows).toEqual([{ id: 'c' }]);
    const error = await errorOf(bigquery.query('SELECT id FROM events'));
    expect(error.code).toBe(400);
    expect(error.message).toMatch(/must be qualified with a dataset/);
  });

  it('binds array parameters for x IN UNNEST(@values), as BigQuery does', async () => {
    const [rows] = await bigquery.query({
      query: 'SELECT id FROM shop.events WHERE id IN UNNEST(@ids) AND kind NOT IN UNNEST(@kinds) ORDER BY id',
      params: { ids: ['a', 'b', 'c', 'zz'], kinds: ['click'] },
    });
    expect(rows).toEqual([{ id: 'a' }, { id: 'c' }]);
    const [none] = await bigquery.query({ query: 'SELECT id FROM shop.events WHERE id IN UNNEST(@ids)', params: { ids: [] }, types: { ids: ['STRING'] } });
    expect(none).toEqual([]);
  });

  it('follows BigQuery semantics for the translated functions', async () => {
    const [[row]] = await bigquery.query(`
      SELECT
        TIMESTAMP_DIFF(TIMESTAMP '2024-01-01 10:00:00+00', TIMESTAMP '2024-01-01 09:00:30+00', MINUTE) AS diff_minutes,
        TIMESTAMP_DIFF(TIMESTAMP '2024-01-01 09:00:30+00', TIMESTAMP '2024-01-01 10:00:00+00', MINUTE) AS negative_diff,
        EXTRACT(DAYOFWEEK FROM DATE '2024-01-07') AS sunday,
        EXTRACT(HOUR FROM TIMESTAMP '2024-01-07 23:59:00+00') AS hour,
        TIMESTAMP_TRUNC(TIMESTAMP '2024-01-10 12:00:00+00', WEEK) AS week_start,
        (SELECT COUNTIF(x > 0) FROM (SELECT CAST(NULL AS INT64) AS x)) AS countif_nulls,
        JSON_VALUE('{"a":{"b":1}}', '$.a') AS json_object,
        JSON_VALUE('{"a":{"b":1}}', '$.a.b') AS json_scalar,
        SAFE_CAST('12x' AS INT64) AS safe_cast,
        IFNULL(NULL, 'fallback') AS fallback,
        SAFE_DIVIDE(1, 0) AS safe_divide,
        TIMESTAMP_SUB(TIMESTAMP '2024-01-01 00:00:00+00', INTERVAL 90 MINUTE) AS earlier,
        APPROX_COUNT_DISTINCT(x) AS approx
      FROM UNNEST([1, 2, 2]) AS x`);
    expect(row).toMatchObject({
      diff_minutes: 59,
      negative_diff: -59,
      sunday: 1,
      hour: 23,
      week_start: expect.objectContaining({ value: '2024-01-07T00:00:00.000Z' }),
      countif_nulls: 0,
      json_object: null,
      json_scalar: '1',
      safe_cast: null,
      fallback: 'fallback',
      safe_divide: null,
      earlier: expect.objectContaining({ value: '2023-12-31T22:30:00.000Z' }),
      approx: 2,
    });
  });

  it('reports NUMERIC, arrays, records, DATETIME and TIME results with BigQuery schema types', async () => {
    const [[row], , response] = (await bigquery.query(
      "SELECT CAST('12.5' AS NUMERIC) AS num, [1, 2, 3] AS arr, STRUCT(1 AS a, 'x' AS b) AS rec, DATETIME '2024-01-02 03:04:05.5' AS dt, TIME '10:11:12' AS t",
    )) as unknown as [Record<string, unknown>[], unknown, { schema: { fields: { name: string; type: string; mode: string }[] } }];
    expect(response.schema.fields.map((f) => `${f.name} ${f.type} ${f.mode}`)).toEqual([
      'num NUMERIC NULLABLE',
      'arr INTEGER REPEATED',
      'rec RECORD NULLABLE',
      'dt DATETIME NULLABLE',
      't TIME NULLABLE',
    ]);
    expect(String(row.num)).toBe('12.5');
    expect(row.arr).toEqual([1, 2, 3]);
    expect(row.rec).toEqual({ a: 1, b: 'x' });
    expect(row.dt).toEqual(expect.objectContaining({ value: '2024-01-02T03:04:05.500000' }));
    expect(row.t).toEqual(expect.objectContaining({ value: '10:11:12' }));
  });

  it('orders NULLs as BigQuery does: first ascending, last descending', async () => {
    const [asc] = await bigquery.query('SELECT n FROM shop.events ORDER BY n');
    const [desc] = await bigquery.query('SELECT n FROM shop.events ORDER BY n DESC');
    expect(asc.map((r: { n: number | null }) => r.n)).toEqual([null, 1, 2]);
    expect(desc.map((r: { n: number | null }) => r.n)).toEqual([2, 1, null]);
  });

  it('reads JSON columns as text and JSON paths with JSON_VALUE', async () => {
    const [rows] = await bigquery.query("SELECT id, JSON_VALUE(payload, '$.user.id') AS user, payload FROM shop.events WHERE payload IS NOT NULL ORDER BY id");
    expect(rows).toEqual([
      { id: 'a', user: 'u1', payload: '{"user":{"id":"u1"},"tags":["x"]}' },
      { id: 'b', user: 'u2', payload: '{"user":{"id":"u2"}}' },
    ]);
  });

  it('returns TIMESTAMP as float seconds unless int64 timestamps are asked for, as BigQuery does', async () => {
    const [job] = await bigquery.createQueryJob({ query: "SELECT TIMESTAMP '2024-01-01 00:00:00.25+00' AS t" });
    const [rows, , raw] = await job.getQueryResults({ skipParsing: true } as never);
    expect((raw as { rows: unknown[] }).rows ?? rows).toBeDefined();
    const response = await fetch(`${local.url}/bigquery/v2/projects/test-project/queries/${job.id}`).then(
      (r) => r.json() as Promise<{ rows: { f: { v: string }[] }[] }>,
    );
    expect(response.rows[0].f[0].v).toBe('1704067200.25');
    const micros = await fetch(`${local.url}/bigquery/v2/projects/test-project/queries/${job.id}?formatOptions.useInt64Timestamp=true`).then(
      (r) => r.json() as Promise<{ rows: { f: { v: string }[] }[] }>,
    );
    expect(micros.rows[0].f[0].v).toBe('1704067200250000');
  });

  it('answers what it cannot run with a BigQuery-shaped "unsupported locally" 400', async () => {
    const response = await fetch(`${local.url}/bigquery/v2/projects/test-project/queries`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'SELECT FARM_FINGERPRINT(id) FROM shop.events', useLegacySql: false }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: {
        code: 400,
        message: 'unsupported locally: function FARM_FINGERPRINT',
        errors: [
          { message: 'unsupported locally: function FARM_FINGERPRINT', domain: 'global', reason: 'invalidQuery', location: 'query', locationType: 'other' },
        ],
        status: 'INVALID_ARGUMENT',
      },
    });
    const duck = await errorOf(bigquery.query('SELECT NET.HOST(x) FROM shop.events'));
    expect(duck.message).toMatch(/^unsupported locally: function NET.HOST/);
    const unknownFunction = await errorOf(bigquery.query('SELECT ML_PREDICT_SOMETHING(n) FROM shop.events'));
    expect(unknownFunction.code).toBe(400);
    // Unknown functions are refused by the translator, never passed through to DuckDB.
    expect(unknownFunction.message).toBe('unsupported locally: function ML_PREDICT_SOMETHING');
    expect((await errorOf(bigquery.query('SELECT * FROM shop.missing'))).code).toBe(404);
    expect((await errorOf(bigquery.query({ query: 'SELECT 1', useLegacySql: true }))).message).toMatch(/unsupported locally: legacy SQL/);
  });
});

describe('persistence', () => {
  it('keeps datasets, tables, views, rows and seen insertIds across a restart on the same file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bq-local-'));
    const dataFile = path.join(dir, 'bq.duckdb');
    let server: LocalBigQuery | undefined;
    try {
      server = await startLocalBigQuery({ dataFile });
      let client = new BigQuery({ projectId: 'p', apiEndpoint: server.url });
      const [ds] = await client.createDataset('keep');
      const [table] = await ds.createTable('t', {
        schema: {
          fields: [
            { name: 'id', type: 'STRING' },
            { name: 'ts', type: 'TIMESTAMP' },
          ],
        },
        timePartitioning: { type: 'DAY', field: 'ts' },
      });
      await table.insert([{ insertId: 'i1', json: { id: 'one', ts: '2024-01-01T00:00:00Z' } }], { raw: true });
      await ds.createTable('v', { view: { query: 'SELECT id FROM keep.t', useLegacySql: false } });
      await server.stop();

      server = await startLocalBigQuery({ dataFile });
      client = new BigQuery({ projectId: 'p', apiEndpoint: server.url });
      const [metadata] = await client.dataset('keep').table('t').getMetadata();
      expect(metadata).toMatchObject({ timePartitioning: { type: 'DAY', field: 'ts' }, numRows: '1' });
      await client
        .dataset('keep')
        .table('t')
        .insert([{ insertId: 'i1', json: { id: 'again' } }], { raw: true });
      const [rows] = await client.query('SELECT id FROM keep.v');
      expect(rows).toEqual([{ id: 'one' }]);
    } finally {
      await server?.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
