/**
 * The translated SQL run in DuckDB: each expected value is BigQuery's documented answer, so these
 * are the cases where DuckDB's own function of the same name would answer differently.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { translateQuery } from '../../shared/bigquery-local/sql';

let connection: DuckDBConnection;

beforeAll(async () => {
  connection = await (await DuckDBInstance.create(':memory:')).connect();
  await connection.run('CREATE SCHEMA ds');
  await connection.run("CREATE TABLE ds.t AS SELECT * FROM (VALUES (1, [10, 20], 'a', 2.5::DOUBLE), (2, [30], NULL, -2.5::DOUBLE)) AS v(id, arr, s, f)");
});

/** Rows of a BigQuery query, JSON-friendly (BIGINT as number text is turned back into numbers). */
async function rows(query: string) {
  const reader = await connection.runAndReadAll(translateQuery(query).sql);
  return reader.getRowsJson();
}
const one = async (expr: string) => (await rows(`SELECT ${expr}`))[0][0];
const error = async (expr: string) =>
  rows(`SELECT ${expr}`).then(
    () => undefined,
    (e: Error) => e.message,
  );

describe('BigQuery semantics of the translated SQL', () => {
  it.each([
    // Two intervals in one SELECT: each keeps its own amount.
    [
      "CONCAT(CAST(DATE_ADD(DATE '2024-01-31', INTERVAL 30 DAY) AS STRING), ' ', CAST(DATE_ADD(DATE '2024-01-31', INTERVAL 1 MONTH) AS STRING))",
      '2024-03-01 2024-02-29',
    ],
    ['CAST(2.5 AS INT64)', '3'],
    ['CAST(-2.5 AS INT64)', '-3'],
    ["SAFE_CAST('1.5' AS INT64)", null],
    ["SAFE_CAST(' 12 ' AS INT64)", '12'],
    ['CAST(3.0 AS STRING)', '3'],
    ['CAST(0.1 AS STRING)', '0.1'],
    ["CAST(CAST('inf' AS FLOAT64) AS STRING)", 'inf'],
    ["REGEXP_EXTRACT('abc', r'x')", null],
    ["REGEXP_EXTRACT('user=ann', r'user=(\\w+)')", 'ann'],
    ["ARRAY_TO_STRING(REGEXP_EXTRACT_ALL('a1 b2', r'[a-z](\\d)'), ',')", '1,2'],
    ["CONCAT('a', NULL)", null],
    ["FORMAT('%d users', 5)", '5 users'],
    ["FORMAT('%.2f', 2.345)", '2.35'],
    ["FORMAT('%05d', 42)", '00042'],
    ["FORMAT('%s-%t', 'a', 'b')", 'a-b'],
    ["EXTRACT(DAYOFWEEK FROM DATE '2024-01-07')", '1'],
    // 2024-01-01 is a Monday: the days before the first Sunday are week 0.
    ["EXTRACT(WEEK FROM DATE '2024-01-06')", '0'],
    ["EXTRACT(WEEK FROM DATE '2024-01-07')", '1'],
    ["EXTRACT(ISOWEEK FROM DATE '2024-12-30')", '1'],
    ["EXTRACT(ISOYEAR FROM DATE '2024-12-30')", '2025'],
    ["EXTRACT(DAYOFYEAR FROM DATE '2024-12-31')", '366'],
    ["EXTRACT(QUARTER FROM DATE '2024-05-01')", '2'],
    ["EXTRACT(HOUR FROM TIMESTAMP '2024-01-01 23:30:00+00' AT TIME ZONE 'Europe/Berlin')", '0'],
    ["CAST(EXTRACT(DATE FROM TIMESTAMP '2024-01-01 23:30:00+00' AT TIME ZONE 'Europe/Berlin') AS STRING)", '2024-01-02'],
    ["DATE_DIFF(DATE '2024-01-01', DATE '2023-12-31', YEAR)", '1'],
    ["DATE_DIFF(DATE '2024-02-01', DATE '2024-01-31', MONTH)", '1'],
    // 2024-01-07 is a Sunday: one week boundary between Saturday and Sunday.
    ["DATE_DIFF(DATE '2024-01-07', DATE '2024-01-06', WEEK)", '1'],
    ["DATE_DIFF(DATE '2024-01-08', DATE '2024-01-07', ISOWEEK)", '1'],
    ["DATE_DIFF(DATE '2024-01-07', DATE '2024-01-08', ISOWEEK)", '-1'],
    ["TIMESTAMP_DIFF(TIMESTAMP '2024-01-02 00:00:00+00', TIMESTAMP '2024-01-01 00:00:01+00', DAY)", '0'],
    ["TIMESTAMP_DIFF(TIMESTAMP '2024-01-01 09:00:30+00', TIMESTAMP '2024-01-01 10:00:00+00', MINUTE)", '-59'],
    ["CAST(DATE(TIMESTAMP '2024-01-01 23:30:00+00', 'Europe/Berlin') AS STRING)", '2024-01-02'],
    ["CAST(DATE_TRUNC(DATE '2024-01-10', WEEK) AS STRING)", '2024-01-07'],
    ["CAST(DATE_TRUNC(DATE '2024-01-10', WEEK(MONDAY)) AS STRING)", '2024-01-08'],
    ["CAST(DATE_TRUNC(DATE '2024-01-07', ISOWEEK) AS STRING)", '2024-01-01'],
    ["CAST(LAST_DAY(DATE '2024-02-10') AS STRING)", '2024-02-29'],
    ["FORMAT_DATE('%F', DATE '2024-03-04')", '2024-03-04'],
    ["FORMAT_TIMESTAMP('%Y-%m-%d %H:%M:%S', TIMESTAMP '2024-03-04 05:06:07+00', 'Europe/Berlin')", '2024-03-04 06:06:07'],
    ["CAST(PARSE_DATE('%Y%m%d', '20240304') AS STRING)", '2024-03-04'],
    ["UNIX_SECONDS(TIMESTAMP '1969-12-31 23:59:59.5+00')", '-1'],
    ["UNIX_DATE(DATE '1970-01-11')", '10'],
    ['CAST(DATE_FROM_UNIX_DATE(10) AS STRING)', '1970-01-11'],
    ['UNIX_MILLIS(TIMESTAMP_SECONDS(1700000000))', '1700000000000'],
    ["SUBSTR('abcdef', -2)", 'ef'],
    ["SUBSTR('abcdef', 0, 2)", 'ab'],
    ["SUBSTR('abc', -5, 2)", 'ab'],
    ["STRPOS('abc', 'c')", '3'],
    ["LPAD('7', 3, '0')", '007'],
    ["ARRAY_TO_STRING(SPLIT('a,b'), '|')", 'a|b'],
    ["INITCAP('hello wORLD-x')", 'Hello World-X'],
    ['GREATEST(1, NULL)', null],
    ['LEAST(3, 2)', '2'],
    ['ROUND(2.5)', '3'],
    ['ROUND(-2.5)', '-3'],
    ['DIV(-7, 2)', '-3'],
    ['MOD(-7, 2)', '-1'],
    ['LOG(EXP(2))', '2'],
    ['SAFE_DIVIDE(1, 0)', null],
    ['IEEE_DIVIDE(1, 0)', 'Infinity'],
    ['[10, 20][OFFSET(1)]', '20'],
    ['[10, 20][ORDINAL(1)]', '10'],
    ['[10, 20][SAFE_OFFSET(5)]', null],
    ['ARRAY_LENGTH(GENERATE_ARRAY(1, 10, 3))', '4'],
    ["ARRAY_LENGTH(GENERATE_DATE_ARRAY(DATE '2024-01-01', DATE '2024-03-01', INTERVAL 1 MONTH))", '3'],
    ['3 IN UNNEST([1, 2, 3])', true],
    ['JSON_VALUE(\'{"a":{"b":1}}\', \'$.a\')', null],
    ["JSON_VALUE('{\"a\":[5,6]}', '$.a[1]')", '6'],
    ['JSON_VALUE(\'{"a b":"x"}\', "$[\'a b\']")', 'x'],
    ['JSON_QUERY(\'{"a":{"b":1}}\', \'$.a\')', '{"b":1}'],
    ['ARRAY_LENGTH(JSON_QUERY_ARRAY(\'{"a":[1,{"b":2}]}\', \'$.a\'))', '2'],
    ['ARRAY_TO_STRING(JSON_VALUE_ARRAY(\'["x","y"]\'), \',\')', 'x,y'],
    ["'a_b' LIKE '%\\\\_%'", true],
    ["'ab' LIKE '%\\\\_%'", false],
    ["CAST(NUMERIC '1.50' AS STRING)", '1.5'],
    ["CAST(NUMERIC '2' AS STRING)", '2'],
    ['0x1F', '31'],
    ["TO_HEX(MD5('abc'))", '900150983cd24fb0d6963f7d28e17f72'],
    ["TO_HEX(b'\\x01\\xff')", '01ff'],
    ["JSON_TYPE(JSON '1.5')", 'number'],
    ["JSON_TYPE(JSON '{}')", 'object'],
    ['JSON_TYPE(JSON \'"s"\')', 'string'],
    ["BYTE_LENGTH('é')", '2'],
    // LENGTH of BYTES counts bytes, of STRING characters (BigQuery's example: 'абвгд' is 5 characters, 10 bytes).
    ["LENGTH('абвгд')", '5'],
    ["LENGTH(CAST('абвгд' AS BYTES))", '10'],
    // STRING <-> BYTES is UTF-8 (a backslash is a byte like any other, not an escape).
    ["CAST(CAST('абв\\\\x41' AS BYTES) AS STRING)", 'абв\\x41'],
    ["TO_HEX(CAST('é' AS BYTES))", 'c3a9'],
    ["SAFE_CAST(b'\\xff' AS STRING)", null],
    ["BYTE_LENGTH(b'\\x00\\x01')", '2'],
    ["LENGTH(b'ab')", '2'],
    ["(SELECT LENGTH(x) FROM UNNEST([b'\\xd0\\xb0\\xd0\\xb1']) AS x)", '4'],
    ["(SELECT BYTE_LENGTH(x) FROM UNNEST(['абвгд']) AS x)", '10'],
    ["(JSON '{\"a\": [10, 20]}')['a'][1]", '20'],
    ["JSON_QUERY('[1]', '$')[5]", null],
  ])('%s', async (bigquery, expected) => {
    const value = await one(bigquery);
    expect(value === null || typeof value === 'boolean' ? value : String(value)).toBe(expected);
  });

  it('errors where BigQuery errors', async () => {
    expect(await error('[10, 20][OFFSET(2)]')).toMatch(/out of bounds/);
    expect(await error("CAST('1.5' AS INT64)")).toMatch(/Bad int64 value/);
    expect(await error('DIV(1, 0)')).toMatch(/division by zero/);
    expect(await error('1 / 0')).toMatch(/division by zero/);
    expect(await error("ERROR('boom')")).toMatch(/boom/);
    expect(await error('ARRAY_AGG(x) FROM UNNEST([1, NULL]) AS x')).toMatch(/null element/);
  });

  it('unnests arrays (alias = element, WITH OFFSET, STRUCT fields as columns) and aggregates them', async () => {
    expect(await rows('SELECT id, x, off FROM ds.t, t.arr AS x WITH OFFSET AS off ORDER BY id, off')).toEqual([
      [1, 10, '0'],
      [1, 20, '1'],
      [2, 30, '0'],
    ]);
    expect(await rows("SELECT * FROM UNNEST([STRUCT(1 AS a, 'x' AS b)])")).toEqual([[1, 'x']]);
    expect(await rows('SELECT x.a FROM UNNEST([STRUCT(1 AS a)]) AS x')).toEqual([[1]]);
    expect(
      await rows(
        'SELECT ARRAY_AGG(x IGNORE NULLS ORDER BY x DESC LIMIT 2), STRING_AGG(s, "-" ORDER BY s) FROM UNNEST([3, NULL, 1, 2]) AS x, UNNEST(["b", "a"]) AS s',
      ),
    ).toEqual([[[3, 3], 'a-a-a-a-b-b-b-b']]);
    expect(await rows('SELECT APPROX_QUANTILES(x, 2), APPROX_COUNT_DISTINCT(x) FROM UNNEST([1, 2, 3, 4, 5]) AS x')).toEqual([[[1, 3, 5], '5']]);
  });

  it('sorts NULLs first ascending and last descending, and keeps EXCEPT with REPLACE', async () => {
    expect(await rows('SELECT s FROM ds.t ORDER BY s')).toEqual([[null], ['a']]);
    expect(await rows('SELECT s FROM ds.t ORDER BY s DESC')).toEqual([['a'], [null]]);
    expect(await rows('SELECT * EXCEPT (arr, f) REPLACE (id * 10 AS id) FROM ds.t ORDER BY id')).toEqual([
      [10, 'a'],
      [20, null],
    ]);
    expect(await rows('SELECT CAST(f AS INT64) FROM ds.t ORDER BY id')).toEqual([['3'], ['-3']]);
  });
});
