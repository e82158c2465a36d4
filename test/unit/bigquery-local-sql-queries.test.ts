/** Whole BigQuery queries (joins, UNNEST forms, windows, CTEs, set operations) translated and run in DuckDB. */
import { DuckDBDateValue, DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { translateQuery } from '../../shared/bigquery-local/sql';

let connection: DuckDBConnection;

beforeAll(async () => {
  connection = await (await DuckDBInstance.create(':memory:')).connect();
  await connection.run('CREATE SCHEMA ds');
  await connection.run(
    "CREATE TABLE ds.orders AS SELECT * FROM (VALUES (1, 'ann', 10.0::DOUBLE, ['x', 'y']), (2, 'bob', 20.0::DOUBLE, []), (3, 'ann', 30.0::DOUBLE, ['z'])) AS v(id, customer, amount, tags)",
  );
});

async function rows(query: string) {
  return (await connection.runAndReadAll(translateQuery(query).sql)).getRowsJson();
}

describe('queries', () => {
  it.each([
    [
      'SELECT id, tag FROM ds.orders AS o LEFT JOIN UNNEST(o.tags) AS tag ON TRUE ORDER BY id, tag',
      [
        [1, 'x'],
        [1, 'y'],
        [2, null],
        [3, 'z'],
      ],
    ],
    // BigQuery: LEFT JOIN UNNEST (ON may be left out) keeps a row whose array is empty, with a NULL element.
    [
      'SELECT id, tag FROM ds.orders AS o LEFT JOIN UNNEST(o.tags) AS tag ORDER BY id, tag',
      [
        [1, 'x'],
        [1, 'y'],
        [2, null],
        [3, 'z'],
      ],
    ],
    [
      'SELECT id, tag, i FROM ds.orders JOIN UNNEST(tags) AS tag WITH OFFSET AS i WHERE id = 1 ORDER BY i',
      [
        [1, 'x', '0'],
        [1, 'y', '1'],
      ],
    ],
    ['SELECT id FROM ds.orders AS o, UNNEST(o.tags) AS tag WHERE tag IN UNNEST(["y", "z"]) ORDER BY id', [[1], [3]]],
    ["SELECT id FROM ds.orders WHERE 'z' IN UNNEST(tags)", [[3]]],
    [
      'SELECT customer, SUM(amount) AS total FROM ds.orders GROUP BY ROLLUP(customer) ORDER BY customer',
      [
        [null, 60],
        ['ann', 40],
        ['bob', 20],
      ],
    ],
    ['SELECT id FROM ds.orders WHERE TRUE QUALIFY ROW_NUMBER() OVER (PARTITION BY customer ORDER BY amount DESC) = 1 ORDER BY id', [[2], [3]]],
    [
      'SELECT id, LAG(id) OVER (ORDER BY id), LEAD(id, 1, 0) OVER (ORDER BY id), NTILE(2) OVER (ORDER BY id), SUM(amount) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM ds.orders ORDER BY id',
      [
        [1, null, 2, '1', 10],
        [2, 1, 3, '1', 30],
        [3, 2, 0, '2', 50],
      ],
    ],
    ['SELECT PERCENTILE_CONT(amount, 0.5) OVER () FROM ds.orders LIMIT 1', [[20]]],
    ['WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT SUM(n) FROM r', [['6']]],
    ['SELECT id FROM ds.orders WHERE EXISTS (SELECT 1 FROM ds.orders AS b WHERE b.id > 2) AND id IN (SELECT 1) ', [[1]]],
    ['SELECT 1 AS x UNION ALL SELECT 1 ORDER BY x', [[1], [1]]],
    ['SELECT x FROM UNNEST([1, 2, 2]) AS x EXCEPT DISTINCT SELECT 1', [[2]]],
    ['SELECT s.a.b FROM (SELECT STRUCT(STRUCT(5 AS b) AS a) AS s)', [[5]]],
    ['SELECT ARRAY(SELECT x * 2 FROM UNNEST([1, 2]) AS x ORDER BY x)', [[[2, 4]]]],
    [
      'SELECT ARRAY_CONCAT([1], [2, 3]), ARRAY_REVERSE([1, 2])',
      [
        [
          [1, 2, 3],
          [2, 1],
        ],
      ],
    ],
    ["SELECT STARTS_WITH('abc', 'ab'), ENDS_WITH('abc', 'bc'), LOWER('A'), TRIM('  a ')", [[true, true, 'a', 'a']]],
    ['SELECT STDDEV(x), VARIANCE(x), CORR(x, x) FROM UNNEST([1, 2, 3]) AS x', [[1, 1, 1]]],
    ['SELECT COUNTIF(x > 1), LOGICAL_AND(x > 0), LOGICAL_OR(x > 2), MIN(x), MAX(x), AVG(x) FROM UNNEST([1, 2, 3]) AS x', [['2', true, true, 1, 3, 2]]],
    ["SELECT FORMAT_TIMESTAMP('%H:%M:%E*S', TIMESTAMP '2024-01-01 10:11:12.5+00')", [['10:11:12.500000']]],
    ["SELECT UNIX_SECONDS(PARSE_TIMESTAMP('%Y-%m-%d %H:%M:%S', '2024-01-01 01:00:00', 'Europe/Berlin'))", [['1704067200']]],
    ["SELECT UNIX_SECONDS(TIMESTAMP('2024-01-01 01:00:00', 'Europe/Berlin'))", [['1704067200']]],
    ["SELECT UNIX_SECONDS(TIMESTAMP_TRUNC(TIMESTAMP '2024-01-01 12:00:00+00', DAY, 'Europe/Berlin'))", [['1704063600']]],
    ["SELECT CAST(DATETIME(TIMESTAMP '2024-01-01 23:00:00+00', 'Europe/Berlin') AS STRING)", [['2024-01-02 00:00:00']]],
    [
      "SELECT CAST(DATE(TIMESTAMP '2024-01-01 12:00:00+00', '+14:00') AS STRING), EXTRACT(HOUR FROM TIMESTAMP '2024-01-01 12:00:00+00' AT TIME ZONE '-05:30'), UNIX_SECONDS(TIMESTAMP('2024-01-01 05:00:00', '+05'))",
      [['2024-01-02', '6', '1704067200']],
    ],
    ['SELECT SAFE_ADD(9223372036854775807, 1), SAFE_NEGATE(1)', [[null, -1]]],
    ['SELECT x FROM UNNEST([STRUCT(1 AS a)]) AS x', [[{ a: 1 }]]],
    [
      "SELECT 'ab' LIKE 'a%', 'ab' NOT LIKE 'a%', NULL IS NULL, 1 IS DISTINCT FROM NULL, 2 NOT BETWEEN 1 AND 3, 3 NOT IN (1, 2), CASE 2 WHEN 1 THEN 'a' WHEN 2 THEN 'b' END, TRUE AND NOT FALSE OR FALSE",
      [[true, false, true, true, false, true, 'b', true]],
    ],
    ['SELECT 7 / 2, -7 / 2, 2 * 3 + 1, 5 - -1, 1 < 2, 1 <> 2, 1 != 1, TRUE IS TRUE', [[3.5, -3.5, 7, 6, true, true, false, true]]],
    ['SELECT id FROM ds.orders ORDER BY amount DESC LIMIT 1 OFFSET 1', [[2]]],
    ['SELECT COUNT(DISTINCT customer), COUNT(*), COUNT(1) FROM ds.orders', [['2', '3', '3']]],
    ['SELECT CAST(x AS STRING) FROM UNNEST([0.1 + 0.2, 1e20, -0.0]) AS x ORDER BY x', [['-0'], ['0.30000000000000004'], ['1e+20']]],
    ["SELECT STRUCT(5 AS a)['a'], TO_HEX(b'\\x00A')", [[5, '0041']]],
    [
      'SELECT ARRAY(SELECT AS STRUCT id, o.customer FROM ds.orders AS o WHERE id < 3 ORDER BY id)',
      [
        [
          [
            { id: 1, customer: 'ann' },
            { id: 2, customer: 'bob' },
          ],
        ],
      ],
    ],
    [
      "SELECT APPROX_TOP_COUNT(x, 2) FROM UNNEST(['a', 'b', 'b']) AS x",
      [
        [
          [
            { value: 'b', count: '2' },
            { value: 'a', count: '1' },
          ],
        ],
      ],
    ],
    ['SELECT AS VALUE 1', 'unsupported locally: SELECT AS VALUE'],
    ['SELECT * FROM ds.orders FOR SYSTEM_TIME AS OF CURRENT_TIMESTAMP()', 'unsupported locally'],
  ])('%s', async (query, expected) => {
    if (typeof expected === 'string') return expect(rows(query)).rejects.toThrow(expected);
    expect(await rows(query)).toEqual(expected);
  });

  it('keeps two literal intervals apart in one prepared statement', async () => {
    const { sql, parameters } = translateQuery('SELECT CAST(DATE_ADD(@d, INTERVAL 30 DAY) AS STRING), CAST(DATE_ADD(@d, INTERVAL 1 MONTH) AS STRING)');
    expect(parameters).toEqual(['d']);
    const reader = await connection.runAndReadAll(sql, { d: new DuckDBDateValue(19753) });
    expect(reader.getRowsJson()).toEqual([['2024-03-01', '2024-02-29']]);
  });
});

describe('result types that follow the argument type', () => {
  async function typed(query: string) {
    const { sql } = translateQuery(query);
    const described = (await connection.runAndReadAll(`DESCRIBE ${sql}`)).getRowObjectsJson();
    return { rows: (await connection.runAndReadAll(sql)).getRowsJson(), types: described.map((c) => String(c.column_type)) };
  }

  beforeAll(async () => {
    await connection.run(`CREATE TABLE ds.docs AS SELECT '{"a":{"b":[1,2]},"s":"x"}' AS text, CAST('{"a":{"b":[1,2]},"s":"x"}' AS JSON) AS doc`);
  });

  // BigQuery: JSON_QUERY / JSON_EXTRACT(json_string_expr) return a JSON-formatted STRING; on a JSON value they return JSON.
  it('JSON_QUERY / JSON_EXTRACT on a STRING column return STRING, on a JSON column JSON', async () => {
    const { rows, types } = await typed(
      "SELECT JSON_QUERY(text, '$.a'), JSON_EXTRACT(d.text, '$.s'), JSON_QUERY(doc, '$.a'), JSON_EXTRACT(d.doc, '$.s') FROM ds.docs AS d",
    );
    expect(rows).toEqual([['{"b":[1,2]}', '"x"', '{"b":[1,2]}', '"x"']]);
    expect(types).toEqual(['VARCHAR', 'VARCHAR', 'JSON', 'JSON']);
  });

  it('JSON_QUERY_ARRAY / JSON_EXTRACT_ARRAY elements are STRING for a STRING column and JSON for a JSON column', async () => {
    const { rows, types } = await typed("SELECT JSON_QUERY_ARRAY(text, '$.a.b'), JSON_EXTRACT_ARRAY(doc, '$.a.b') FROM (SELECT * FROM ds.docs)");
    expect(rows).toEqual([
      [
        ['1', '2'],
        ['1', '2'],
      ],
    ]);
    expect(types).toEqual(['VARCHAR[]', 'JSON[]']);
  });
});

describe('AVG over NUMERIC is NUMERIC', () => {
  const tableColumns = (dataset: string | undefined, table: string) =>
    dataset === 'ds' && table === 'prices'
      ? [
          { name: 'k', type: 'INT64' },
          { name: 'p', type: 'NUMERIC' },
          { name: 'f', type: 'FLOAT64' },
        ]
      : undefined;

  async function typed(query: string) {
    const { sql } = translateQuery(query, { tableColumns });
    const described = (await connection.runAndReadAll(`DESCRIBE ${sql}`)).getRowObjectsJson();
    return { rows: (await connection.runAndReadAll(sql)).getRowsJson(), types: described.map((c) => String(c.column_type)) };
  }

  beforeAll(async () => {
    await connection.run(
      "CREATE TABLE ds.prices AS SELECT * FROM (VALUES (1, CAST('1' AS DECIMAL(38,9)), 1.0::DOUBLE), (1, CAST('1' AS DECIMAL(38,9)), 1.0::DOUBLE), (1, CAST('2' AS DECIMAL(38,9)), 2.0::DOUBLE), (2, CAST('0.000000001' AS DECIMAL(38,9)), 0.0::DOUBLE), (2, CAST('0' AS DECIMAL(38,9)), 0.0::DOUBLE), (3, CAST('-0.000000001' AS DECIMAL(38,9)), 0.0::DOUBLE), (3, CAST('0' AS DECIMAL(38,9)), 0.0::DOUBLE)) AS v(k, p, f)",
    );
  });

  // BigQuery: AVG returns NUMERIC for NUMERIC input (scale 9, half away from zero) and FLOAT64 for INT64 / FLOAT64 input.
  it('rounds to 9 decimal places, half away from zero, for a column, through a subquery and for CAST / literals', async () => {
    const { rows, types } = await typed(
      'SELECT k, AVG(p) AS a, SUM(p) AS s, MIN(p) AS lo, (SELECT AVG(q) FROM (SELECT p AS q FROM ds.prices AS i WHERE i.k = o.k)) AS sub, AVG(f) AS af, AVG(k) AS ak FROM ds.prices AS o GROUP BY k ORDER BY k',
    );
    expect(rows).toEqual(
      [
        ['1', '1.333333333', '4.000000000', '1.000000000', '1.333333333', 4 / 3, 1],
        ['2', '0.000000001', '0.000000001', '0.000000000', '0.000000001', 0, 2],
        ['3', '-0.000000001', '-0.000000001', '-0.000000001', '-0.000000001', 0, 3],
      ].map(([k, ...rest]) => [Number(k), ...rest]),
    );
    expect(types).toEqual(['INTEGER', 'DECIMAL(38,9)', 'DECIMAL(38,9)', 'DECIMAL(38,9)', 'DECIMAL(38,9)', 'DOUBLE', 'DOUBLE']);
  });

  it('knows NUMERIC arithmetic with INT64: AVG(p * 2 - k) over rows 1, 1, 2 (k = 1) is 5 / 3', async () => {
    const { rows, types } = await typed('SELECT AVG(p * 2 - k), AVG(-p) FROM ds.prices WHERE k = 1');
    expect(rows).toEqual([['1.666666667', '-1.333333333']]);
    expect(types).toEqual(['DECIMAL(38,9)', 'DECIMAL(38,9)']);
  });

  it('knows NUMERIC literals and CASTs, and AVG OVER a window', async () => {
    const { rows, types } = await typed("SELECT AVG(CAST(x AS NUMERIC)), AVG(NUMERIC '1.5'), AVG(x) FROM UNNEST([1, 2]) AS x");
    expect(rows).toEqual([['1.500000000', '1.500000000', 1.5]]);
    expect(types).toEqual(['DECIMAL(38,9)', 'DECIMAL(38,9)', 'DOUBLE']);
    const windowed = await typed('SELECT AVG(p) OVER (PARTITION BY k) AS a FROM ds.prices WHERE k = 1');
    expect(windowed.rows).toEqual([['1.333333333'], ['1.333333333'], ['1.333333333']]);
    expect(windowed.types).toEqual(['DECIMAL(38,9)']);
  });

  it('refuses AVG of a NUMERIC whose type is not known while translating', async () => {
    await expect(typed('SELECT AVG(p * p) FROM ds.prices')).rejects.toThrow('unsupported locally: AVG of a NUMERIC');
  });
});
