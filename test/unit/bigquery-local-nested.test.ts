/**
 * REPEATED and RECORD (STRUCT) columns on the local BigQuery endpoint, through the real
 * @google-cloud/bigquery client: tables.insert/get with nested schemas, insertAll of nested JSON rows,
 * tabledata.list and query results in BigQuery's {v: [...]} / {v: {f: [...]}} shapes as the client
 * parses them.
 *
 * Expected behaviour from BigQuery's documentation:
 * - https://cloud.google.com/bigquery/docs/nested-repeated (RECORD = STRUCT, REPEATED = ARRAY,
 *   RECORD REPEATED = ARRAY<STRUCT>, a REPEATED field inside a RECORD; at most 15 levels of RECORD)
 * - https://cloud.google.com/bigquery/docs/reference/rest/v2/tables#TableFieldSchema (STRUCT is the
 *   same as RECORD, mode NULLABLE by default)
 * - https://cloud.google.com/bigquery/docs/reference/standard-sql/data-types#array_type (an ARRAY
 *   cannot hold NULL: "BigQuery raises an error if the query result has an ARRAY which contains NULL
 *   elements"; a NULL array is written as an empty one)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BigQuery, type Dataset, type Table } from '@google-cloud/bigquery';
import { startLocalBigQuery, type LocalBigQuery } from '../../shared/bigquery-local';
import { errorOf as errorOfAny, startLocalBigQueryWithDataset } from '../support/local-bigquery';

let local: LocalBigQuery;
let bigquery: BigQuery;
let dataset: Dataset;

type InsertErrors = { response: { insertErrors: { index: number; errors: { reason: string; location: string; message: string }[] }[] } };

const errorOf = (promise: Promise<unknown>) => errorOfAny<{ code?: number; message: string } & Partial<InsertErrors>>(promise);

const SCHEMA = [
  { name: 'id', type: 'STRING', mode: 'REQUIRED' },
  { name: 'tags', type: 'STRING', mode: 'REPEATED' },
  { name: 'scores', type: 'INT64', mode: 'REPEATED' },
  {
    name: 'Address',
    type: 'STRUCT',
    fields: [
      { name: 'City', type: 'STRING' },
      { name: 'zip', type: 'INTEGER' },
      { name: 'lines', type: 'STRING', mode: 'REPEATED' },
      { name: 'geo', type: 'RECORD', fields: [{ name: 'lat', type: 'FLOAT' }] },
    ],
  },
  {
    name: 'items',
    type: 'RECORD',
    mode: 'REPEATED',
    fields: [
      { name: 'sku', type: 'STRING', mode: 'REQUIRED' },
      { name: 'price', type: 'NUMERIC' },
      { name: 'at', type: 'TIMESTAMP' },
      { name: 'day', type: 'DATE' },
      { name: 'meta', type: 'JSON' },
    ],
  },
];

beforeAll(async () => {
  ({ local, bigquery, dataset } = await startLocalBigQueryWithDataset('nested'));
});

afterAll(async () => {
  await local?.stop();
});

let n = 0;
const freshTable = async (): Promise<Table> => (await dataset.createTable(`orders_${++n}`, { schema: { fields: SCHEMA } }))[0];

describe('tables with REPEATED and RECORD columns', () => {
  it('creates them and reports the schema as given: STRUCT as RECORD, field order and case kept, NULLABLE by default', async () => {
    const table = await freshTable();
    const [metadata] = await table.getMetadata();
    const fields = metadata.schema.fields;
    expect(fields.map((f: { name: string; type: string; mode: string }) => [f.name, f.type, f.mode])).toEqual([
      ['id', 'STRING', 'REQUIRED'],
      ['tags', 'STRING', 'REPEATED'],
      ['scores', 'INTEGER', 'REPEATED'],
      ['Address', 'RECORD', 'NULLABLE'],
      ['items', 'RECORD', 'REPEATED'],
    ]);
    expect(fields[3].fields).toEqual([
      { name: 'City', type: 'STRING', mode: 'NULLABLE' },
      { name: 'zip', type: 'INTEGER', mode: 'NULLABLE' },
      { name: 'lines', type: 'STRING', mode: 'REPEATED' },
      { name: 'geo', type: 'RECORD', mode: 'NULLABLE', fields: [{ name: 'lat', type: 'FLOAT', mode: 'NULLABLE' }] },
    ]);
    expect(fields[4].fields.map((f: { name: string }) => f.name)).toEqual(['sku', 'price', 'at', 'day', 'meta']);
  });

  it('refuses a RECORD without sub-fields and more than 15 levels of RECORD', async () => {
    const noFields = await errorOf(dataset.createTable('bad_record', { schema: { fields: [{ name: 'r', type: 'RECORD' }] } }));
    expect(noFields.code).toBe(400);
    let deep: Record<string, unknown> = { name: 'leaf', type: 'STRING' };
    for (let k = 0; k < 16; k++) deep = { name: `r${k}`, type: 'RECORD', fields: [deep] };
    expect((await errorOf(dataset.createTable('too_deep', { schema: { fields: [deep] } }))).code).toBe(400);
  });

  it('refuses clustering on a RECORD or REPEATED column (https://cloud.google.com/bigquery/docs/clustered-tables#limitations)', async () => {
    for (const column of ['tags', 'Address'])
      expect((await errorOf(dataset.createTable(`clustered_${column}`, { schema: { fields: SCHEMA }, clustering: { fields: [column] } }))).code).toBe(400);
  });
});

describe('insertAll and reading back', () => {
  const rows = [
    {
      id: 'full',
      tags: ['a', 'b'],
      scores: [3, '4'],
      Address: { City: 'Paris', zip: 75001, lines: ['1 rue X'], geo: { lat: 48.5 } },
      items: [
        { sku: 'x1', price: '12.50', at: '2024-05-01T10:00:00.250Z', day: '2024-05-01', meta: { k: [1, 2] } },
        { sku: 'x2', price: 3 },
      ],
    },
    // A NULL (or absent) REPEATED field is written as an empty array; a NULL RECORD stays NULL.
    { id: 'empty', tags: null, Address: null },
    // A RECORD with its fields NULL, and a REPEATED field inside it left out.
    { id: 'hollow', Address: { City: null } },
  ];

  let table: Table;
  beforeAll(async () => {
    table = await freshTable();
    await table.insert(rows);
  });

  const expectRows = (got: Record<string, unknown>[]) => {
    const byId = Object.fromEntries(got.map((r) => [r.id, r]));
    const full = byId.full as Record<string, any>;
    expect(full.tags).toEqual(['a', 'b']);
    expect(full.scores).toEqual([3, 4]);
    expect(full.Address).toEqual({ City: 'Paris', zip: 75001, lines: ['1 rue X'], geo: { lat: 48.5 } });
    expect(full.items).toHaveLength(2);
    expect(full.items[0].sku).toBe('x1');
    expect(full.items[0].price.toString()).toBe('12.5');
    expect(full.items[0].at.value).toBe('2024-05-01T10:00:00.250Z');
    expect(full.items[0].day.value).toBe('2024-05-01');
    expect(JSON.parse(full.items[0].meta)).toEqual({ k: [1, 2] });
    expect(full.items[1]).toMatchObject({ sku: 'x2', at: null, day: null, meta: null });
    expect(full.items[1].price.toString()).toBe('3');
    expect(byId.empty).toEqual({ id: 'empty', tags: [], scores: [], Address: null, items: [] });
    expect(byId.hollow).toEqual({ id: 'hollow', tags: [], scores: [], Address: { City: null, zip: null, lines: [], geo: null }, items: [] });
  };

  it('reads them back with table.getRows (tabledata.list)', async () => {
    const [got] = await table.getRows();
    expect(got).toHaveLength(3);
    expectRows(got);
  });

  it('reads them back with a query, the schema nested as BigQuery reports it', async () => {
    type Schema = { schema: { fields: { name: string; type: string; mode: string; fields?: { name: string }[] }[] } };
    const [got, , response] = (await bigquery.query({
      query: `SELECT * FROM nested.${table.id} WHERE id IN ('full', 'empty', 'hollow')`,
    })) as unknown as [Record<string, unknown>[], unknown, Schema];
    expectRows(got);
    const fields = response.schema.fields;
    expect(fields.map((f) => [f.name, f.type, f.mode])).toEqual([
      ['id', 'STRING', 'NULLABLE'],
      ['tags', 'STRING', 'REPEATED'],
      ['scores', 'INTEGER', 'REPEATED'],
      ['Address', 'RECORD', 'NULLABLE'],
      ['items', 'RECORD', 'REPEATED'],
    ]);
    expect(fields[3].fields!.map((f) => f.name)).toEqual(['City', 'zip', 'lines', 'geo']);
  });

  it('answers tabledata.list in the REST shape: arrays as [{v}], records as {f: [{v}]}', async () => {
    const [, , raw] = await table.getRows({ autoPaginate: false, maxResults: 2 });
    const [first, second] = (raw as { rows: { f: { v: unknown }[] }[] }).rows;
    expect(first.f[1]).toEqual({ v: [{ v: 'a' }, { v: 'b' }] });
    expect(first.f[2]).toEqual({ v: [{ v: '3' }, { v: '4' }] });
    expect(first.f[3]).toEqual({ v: { f: [{ v: 'Paris' }, { v: '75001' }, { v: [{ v: '1 rue X' }] }, { v: { f: [{ v: '48.5' }] } }] } });
    // NUMERIC as BigQuery writes it, without DECIMAL(38,9)'s trailing zeros.
    const items = first.f[4].v as { v: { f: { v: unknown }[] } }[];
    expect(items.map((item) => item.v.f[1].v)).toEqual(['12.5', '3']);
    expect(second.f[1]).toEqual({ v: [] });
    expect(second.f[3]).toEqual({ v: null });
  });

  it('refuses per row, as BigQuery does: a NULL in an array, an unknown nested field, a scalar for a REPEATED field', async () => {
    const target = await freshTable();
    const error = await errorOf(
      target.insert(
        [
          { json: { id: 'ok', tags: ['x'] } },
          { json: { id: 'null-element', tags: ['x', null] } },
          { json: { id: 'unknown', Address: { City: 'X', planet: 'Mars' } } },
          { json: { id: 'scalar', tags: 'x' } },
          { json: { id: 'nested-required', items: [{ price: 1 }] } },
          { json: { id: 'nested-bad', items: [{ sku: 's', at: 'yesterday' }] } },
        ],
        { raw: true, skipInvalidRows: true, partialRetries: 0 },
      ),
    );
    const byIndex = Object.fromEntries(error.response!.insertErrors.map((e) => [e.index, e.errors[0]]));
    expect(Object.keys(byIndex).map(Number)).toEqual([1, 2, 3, 4, 5]);
    expect(byIndex[1]).toMatchObject({ reason: 'invalid', location: 'tags', message: expect.stringContaining('Array cannot have a null element') });
    expect(byIndex[2]).toMatchObject({ reason: 'invalid', location: 'Address.planet', message: 'no such field: Address.planet.' });
    expect(byIndex[3]).toMatchObject({ reason: 'invalid', location: 'tags' });
    expect(byIndex[4]).toMatchObject({ reason: 'invalid', location: 'items.sku', message: 'Missing required field: items.sku.' });
    expect(byIndex[5]).toMatchObject({
      reason: 'invalid',
      location: 'items.at',
      message: expect.stringContaining("Could not parse 'yesterday' as a timestamp"),
    });
    const [got] = await target.getRows();
    expect(got.map((r: { id: string }) => r.id)).toEqual(['ok']);
  });

  it('takes unknown nested fields with ignoreUnknownValues', async () => {
    const target = await freshTable();
    await target.insert([{ json: { id: 'x', Address: { City: 'X', planet: 'Mars' } } }], { raw: true, ignoreUnknownValues: true });
    const [got] = await target.getRows();
    expect(got[0].Address).toEqual({ City: 'X', zip: null, lines: [], geo: null });
  });
});

describe('query results with arrays', () => {
  it('answers jobs.getQueryResults in the REST shape: an empty array as [], a NULL record as null', async () => {
    const [table] = await dataset.createTable('shape', { schema: { fields: SCHEMA } });
    await table.insert([{ id: 'e', Address: null, tags: [], items: [{ sku: 's', day: '2024-02-29' }] }]);
    const [job] = await bigquery.createQueryJob({ query: `SELECT tags, Address, items FROM nested.shape WHERE id = 'e'` });
    // The client parses and drops the rows of its response: read jobs.getQueryResults over HTTP.
    const raw = (await (await fetch(`${local.url}/bigquery/v2/projects/test-project/queries/${job.id}`)).json()) as { rows: { f: { v: unknown }[] }[] };
    const row = raw.rows[0];
    expect(row.f[0]).toEqual({ v: [] });
    expect(row.f[1]).toEqual({ v: null });
    expect(row.f[2]).toEqual({ v: [{ v: { f: [{ v: 's' }, { v: null }, { v: null }, { v: '2024-02-29' }, { v: null }] } }] });
  });

  it('fails a query whose result has an array with a NULL element inside a STRUCT', async () => {
    const error = await errorOf(bigquery.query("SELECT STRUCT(['a', NULL] AS xs) AS s"));
    expect(error.code).toBe(400);
    expect(error.message).toMatch(/Array cannot have a null element; error in writing field/);
  });

  it('fails a query whose result has an array with a NULL element, as BigQuery does', async () => {
    const error = await errorOf(bigquery.query('SELECT [1, NULL, 3] AS numbers'));
    expect(error.code).toBe(400);
    expect(error.message).toMatch(/Array cannot have a null element; error in writing field numbers/);
  });
});

describe('BIGNUMERIC', () => {
  it('stores values that fit DECIMAL(38,9) and refuses larger ones as unsupported locally', async () => {
    const [table] = await dataset.createTable('big', { schema: { fields: [{ name: 'b', type: 'BIGNUMERIC' }] } });
    const [metadata] = await table.getMetadata();
    expect(metadata.schema.fields[0]).toMatchObject({ name: 'b', type: 'BIGNUMERIC' });
    await table.insert([{ b: '123456789.123456789' }]);
    const error = await errorOf(table.insert([{ json: { b: '0.0000000000001' } }], { raw: true, partialRetries: 0 }));
    expect(error.response!.insertErrors[0].errors[0].message).toMatch(/unsupported locally: BIGNUMERIC/);
    const [got] = await table.getRows();
    expect(got.map((r: { b: { toString(): string } }) => r.b.toString())).toEqual(['123456789.123456789']);
  });
});

describe('ARRAY and STRUCT query parameters', () => {
  // https://cloud.google.com/bigquery/docs/parameterized-queries: arrays (arrayType / arrayValues) and
  // structs (structTypes / structValues), which the client builds from JS arrays and objects.
  it('binds a STRUCT, an ARRAY of STRUCT and typed arrays, and returns them as RECORD and REPEATED', async () => {
    type Schema = { schema: { fields: { name: string; type: string; mode: string; fields?: { name: string; type: string }[] }[] } };
    const [rows, , response] = (await bigquery.query({
      query: 'SELECT @s AS s, @items AS items, @nums AS nums, @empty AS empty, @price AS price',
      params: { s: { a: 1, b: 'x' }, items: [{ k: 'a' }, { k: 'b' }], nums: [1.5, 2.5], empty: [], price: '1.25' },
      types: { empty: ['INT64'], price: 'NUMERIC' },
    })) as unknown as [Record<string, any>[], unknown, Schema];
    expect(rows[0].s).toEqual({ a: 1, b: 'x' });
    expect(rows[0].items).toEqual([{ k: 'a' }, { k: 'b' }]);
    expect(rows[0].nums).toEqual([1.5, 2.5]);
    expect(rows[0].empty).toEqual([]);
    expect(rows[0].price.toString()).toBe('1.25');
    expect(response.schema.fields.map((f) => [f.name, f.type, f.mode])).toEqual([
      ['s', 'RECORD', 'NULLABLE'],
      ['items', 'RECORD', 'REPEATED'],
      ['nums', 'FLOAT', 'REPEATED'],
      ['empty', 'INTEGER', 'REPEATED'],
      ['price', 'NUMERIC', 'NULLABLE'],
    ]);
    expect(response.schema.fields[0].fields!.map((f) => [f.name, f.type])).toEqual([
      ['a', 'INTEGER'],
      ['b', 'STRING'],
    ]);
  });

  it('filters a scalar column with an ARRAY parameter', async () => {
    const [table] = await dataset.createTable('params_t', { schema: { fields: SCHEMA } });
    await table.insert([{ id: 'p1' }, { id: 'p2' }, { id: 'p3' }]);
    const [rows] = await bigquery.query({ query: 'SELECT id FROM nested.params_t WHERE id IN UNNEST(@ids) ORDER BY id', params: { ids: ['p1', 'p3'] } });
    expect(rows.map((r: { id: string }) => r.id)).toEqual(['p1', 'p3']);
  });
});

describe('tables.patch and restarts', () => {
  it('adds REPEATED and RECORD columns (empty arrays and NULL records for the rows already there); refuses a mode change', async () => {
    const [table] = await dataset.createTable('patched', { schema: { fields: [{ name: 'id', type: 'STRING' }] } });
    await table.insert([{ id: 'before' }]);
    const added = [
      { name: 'id', type: 'STRING' },
      { name: 'tags', type: 'STRING', mode: 'REPEATED' },
      { name: 'rec', type: 'RECORD', fields: [{ name: 'xs', type: 'INT64', mode: 'REPEATED' }] },
    ];
    await table.setMetadata({ schema: { fields: added } });
    await table.insert([{ id: 'after', tags: ['t'], rec: { xs: [1, 2] } }]);
    const [rows] = await table.getRows();
    expect(rows).toEqual([
      { id: 'before', tags: [], rec: null },
      { id: 'after', tags: ['t'], rec: { xs: [1, 2] } },
    ]);
    // In SQL too the added REPEATED column is an empty array, never NULL, for the rows already there.
    const [sql] = await bigquery.query(`SELECT id, tags IS NULL AS missing FROM nested.patched WHERE id = 'before'`);
    expect(sql).toEqual([{ id: 'before', missing: false }]);
    // https://cloud.google.com/bigquery/docs/managing-table-schemas: a column's mode can only be relaxed from REQUIRED to NULLABLE.
    const error = await errorOf(table.setMetadata({ schema: { fields: [{ name: 'id', type: 'STRING', mode: 'REPEATED' }, ...added.slice(1)] } }));
    expect(error.code).toBe(400);
  });

  it('keeps nested schemas and values across a restart on the same file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bq-nested-'));
    const dataFile = path.join(dir, 'bq.duckdb');
    let server: LocalBigQuery | undefined;
    try {
      server = await startLocalBigQuery({ dataFile });
      let client = new BigQuery({ projectId: 'p', apiEndpoint: server.url });
      const [ds] = await client.createDataset('keep');
      const [table] = await ds.createTable('t', { schema: { fields: SCHEMA } });
      await table.insert([{ id: 'one', tags: ['a'], Address: { City: 'Oslo', geo: { lat: 59.9 } }, items: [{ sku: 's' }] }]);
      await server.stop();

      server = await startLocalBigQuery({ dataFile });
      client = new BigQuery({ projectId: 'p', apiEndpoint: server.url });
      const [rows] = await client.dataset('keep').table('t').getRows();
      expect(rows[0]).toMatchObject({ id: 'one', tags: ['a'], scores: [], Address: { City: 'Oslo', zip: null, lines: [], geo: { lat: 59.9 } } });
      expect(rows[0].items).toEqual([{ sku: 's', price: null, at: null, day: null, meta: null }]);
    } finally {
      await server?.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
