/** The BigQuery -> DuckDB translator's output shape and its refusals (semantics run in bigquery-local-sql-semantics.test.ts). */
import { translateQuery, UnsupportedLocallyError } from '../../shared/bigquery-local/sql';

const sql = (q: string) => translateQuery(q).sql;
/** One select item's translation, without the f0_ name BigQuery gives unnamed columns. */
const expr = (e: string) =>
  sql(`SELECT ${e}`)
    .replace(/^SELECT /, '')
    .replace(/ AS f\d+_/g, '');

describe('table paths', () => {
  it('maps project.dataset.table in any quoting to "dataset"."table"', () => {
    expect(sql('SELECT * FROM `my-project.event_mesh.analytics_events`')).toBe('SELECT * FROM "event_mesh"."analytics_events"');
    expect(sql('SELECT * FROM `event_mesh.orders_events` o')).toBe('SELECT * FROM "event_mesh"."orders_events" AS "o"');
    expect(sql('SELECT * FROM `my-project`.event_mesh.orders_events')).toBe('SELECT * FROM "event_mesh"."orders_events"');
    expect(sql('SELECT * FROM my-project.event_mesh.t')).toBe('SELECT * FROM "event_mesh"."t"');
    expect(sql('SELECT * FROM event_mesh.t AS a JOIN `p.event_mesh.u` b ON a.x = b.x, event_mesh.v')).toBe(
      'SELECT * FROM "event_mesh"."t" AS "a" JOIN "event_mesh"."u" AS "b" ON a.x = b.x, "event_mesh"."v"',
    );
  });

  it('reports every table read, and not CTE names', () => {
    const tables: string[] = [];
    translateQuery('WITH recent AS (SELECT * FROM ds.a) SELECT * FROM recent JOIN (SELECT * FROM `p.ds.b`) USING (id) JOIN c USING (id)', {
      onTable: (dataset, table) => tables.push(`${dataset ?? '-'}.${table}`),
    });
    expect(tables).toEqual(['ds.a', 'ds.b', '-.c']);
  });

  it('leaves aliases named like function namespaces alone and quotes backquoted names', () => {
    expect(sql('SELECT keys.id, net.x FROM ds.t keys JOIN ds.u net ON keys.id = net.id')).toBe(
      'SELECT keys.id, net.x FROM "ds"."t" AS "keys" JOIN "ds"."u" AS "net" ON keys.id = net.id',
    );
    expect(sql('SELECT `order`, t.`select` FROM ds.t')).toBe('SELECT "order", t."select" FROM "ds"."t"');
  });

  it('unnests correlated array paths and UNNEST with the alias bound to the element', () => {
    expect(sql('SELECT x, off FROM ds.t, t.arr AS x WITH OFFSET AS off')).toBe(
      'SELECT x, off FROM "ds"."t", (SELECT unnest("t"."arr") AS "x", unnest(range(len("t"."arr"))) AS "off") AS _unnest_1',
    );
    expect(sql('SELECT x FROM ds.t AS t CROSS JOIN UNNEST(t.arr) AS x')).toBe(
      'SELECT x FROM "ds"."t" AS "t" CROSS JOIN (SELECT unnest(t.arr) AS "x") AS _unnest_1',
    );
  });

  it('refuses what has no local equivalent', () => {
    expect(() => sql('SELECT * FROM `p.ds.INFORMATION_SCHEMA.TABLES`')).toThrow('unsupported locally: INFORMATION_SCHEMA views');
    expect(() => sql('SELECT * FROM `ds.events_*`')).toThrow('unsupported locally: wildcard tables');
    expect(() => sql('SELECT * FROM ds.t TABLESAMPLE SYSTEM (10 PERCENT)')).toThrow('unsupported locally: TABLESAMPLE');
    expect(() => sql("SELECT * FROM ds.t PIVOT(SUM(x) FOR y IN ('a'))")).toThrow('unsupported locally: PIVOT');
  });
});

describe('literals and syntax', () => {
  it('writes strings single-quoted and decimal literals as FLOAT64', () => {
    expect(expr(`"it's", r'\\d', 0.01, 3, NUMERIC '1.5'`)).toBe(`'it''s', '\\d', CAST(0.01 AS DOUBLE), 3, CAST('1.5' AS DECIMAL(38,9))`);
  });

  it('maps typed literals to DuckDB types (TIMESTAMP is time-zoned, DATETIME is not)', () => {
    expect(expr(`TIMESTAMP '2024-01-01 10:00:00+00', DATETIME '2024-01-01 10:00:00', DATE '2024-01-01'`)).toBe(
      `CAST('2024-01-01 10:00:00+00' AS TIMESTAMPTZ), CAST('2024-01-01 10:00:00' AS TIMESTAMP), CAST('2024-01-01' AS DATE)`,
    );
  });

  it('maps SELECT * EXCEPT / REPLACE (also together) and DISTINCT set operations', () => {
    expect(sql('SELECT * EXCEPT (data) FROM ds.t UNION DISTINCT SELECT * EXCEPT(data) REPLACE (1 AS x) FROM ds.u')).toBe(
      'SELECT * EXCLUDE (data) FROM "ds"."t" UNION SELECT * EXCLUDE (data) REPLACE (1 AS x) FROM "ds"."u"',
    );
    expect(sql('SELECT 1 AS x INTERSECT DISTINCT SELECT 1 EXCEPT DISTINCT SELECT 2')).toBe('SELECT 1 AS x INTERSECT SELECT 1 AS f0_ EXCEPT SELECT 2 AS f0_');
  });

  it('names unnamed result columns f0_, f1_ ... as BigQuery does', () => {
    expect(sql('SELECT a, COUNT(*), t.b, x + 1, s.c.d, t.* FROM ds.t')).toBe('SELECT a, count(*) AS f0_, t.b, x + 1 AS f1_, s.c.d, t.* FROM "ds"."t"');
  });

  it("says BigQuery's NULL order explicitly (DuckDB's default is the opposite)", () => {
    expect(sql('SELECT a FROM ds.t ORDER BY a, b DESC, c DESC NULLS FIRST')).toBe(
      'SELECT a FROM "ds"."t" ORDER BY a NULLS FIRST, b DESC NULLS LAST, c DESC NULLS FIRST',
    );
  });

  it('maps named parameters to $name and lists them', () => {
    expect(translateQuery('SELECT * FROM ds.t WHERE a = @a AND b > @b AND c = @a')).toEqual({
      sql: 'SELECT * FROM "ds"."t" WHERE a = $a AND b > $b AND c = $a',
      parameters: ['a', 'b'],
    });
    expect(translateQuery('SELECT * FROM ds.t WHERE a = ?')).toEqual({ sql: 'SELECT * FROM "ds"."t" WHERE a = ?', parameters: [] });
  });

  it('accepts one statement, a trailing semicolon and leading comments', () => {
    expect(sql('-- hi\nSELECT 1;')).toBe('SELECT 1 AS f0_');
    expect(() => sql('SELECT 1; SELECT 2')).toThrow('unsupported locally: multi-statement queries');
    expect(() => sql('DELETE FROM ds.t WHERE TRUE')).toThrow('unsupported locally: DELETE statements');
    expect(() => sql('DECLARE x INT64')).toThrow(UnsupportedLocallyError);
    expect(() => sql('SELECT FROM WHERE')).toThrow(SyntaxError);
  });
});

describe('functions', () => {
  it.each([
    ['TIMESTAMP_TRUNC(ts, HOUR)', "date_trunc('hour', ts)"],
    ['DATE_TRUNC(d, MONTH)', "CAST(date_trunc('month', d) AS DATE)"],
    ['DATE(ts)', 'CAST(ts AS DATE)'],
    ['DATE(2024, 1, 31)', 'make_date(2024, 1, 31)'],
    ['TIMESTAMP_DIFF(a, b, MINUTE)', "date_sub('minute', b, a)"],
    ['DATE_DIFF(a, b, DAY)', "date_diff('day', b, a)"],
    ['DATE_ADD(d, INTERVAL 30 DAY)', "CAST((d + INTERVAL '30 days') AS DATE)"],
    ['TIMESTAMP_ADD(ts, INTERVAL @n HOUR)', '(ts + to_hours(CAST(($n) * 1 AS BIGINT)))'],
    ['EXTRACT(HOUR FROM ts)', 'extract(hour FROM ts)'],
    ['EXTRACT(DAYOFWEEK FROM ts)', '(dayofweek(ts) + 1)'],
    ['COUNTIF(x > 1)', 'count(CASE WHEN x > 1 THEN 1 END)'],
    ['IF(a = 1, "y", "n")', "(CASE WHEN a = 1 THEN 'y' ELSE 'n' END)"],
    ['IFNULL(a, 0)', 'coalesce(a, 0)'],
    ['CAST(s AS TIMESTAMP)', 'CAST(s AS TIMESTAMPTZ)'],
    ['CAST(2.5 AS INT64)', '3'],
    ['CAST(-2.5 AS INT64)', '-3'],
    ["REGEXP_EXTRACT(page, r'/posts/(\\w+)')", "(CASE WHEN regexp_matches(page, '/posts/(\\w+)') THEN regexp_extract(page, '/posts/(\\w+)', 1) END)"],
    ["FORMAT_TIMESTAMP('%F %T', ts)", "strftime(ts, '%Y-%m-%d %H:%M:%S')"],
    ['CONCAT(a, b)', '(a || b)'],
    ['SAFE.LN(x)', 'try(ln(x))'],
    ["STRUCT(1 AS a, 'x' AS `b`)", `struct_pack("a" := 1, "b" := 'x')`],
    ['arr[SAFE_OFFSET(1)]', '(CASE WHEN (1) + 1 >= 1 THEN arr[(1) + 1] END)'],
    ['APPROX_QUANTILES(x, 4)', 'quantile_disc(x, [0, 0.25, 0.5, 0.75, 1])'],
    ['ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY publish_time)', 'row_number() OVER (PARTITION BY event_id ORDER BY publish_time NULLS FIRST)'],
  ])('%s', (bigquery, duckdb) => {
    expect(expr(bigquery)).toBe(duckdb);
  });

  it('translates nested calls inside out', () => {
    expect(expr('COUNTIF(TIMESTAMP_DIFF(a, TIMESTAMP_TRUNC(b, HOUR), MINUTE) > IFNULL(x, 5))')).toBe(
      "count(CASE WHEN date_sub('minute', date_trunc('hour', b), a) > coalesce(x, 5) THEN 1 END)",
    );
  });

  it.each([
    ['FOO(1)', 'function FOO'],
    ['FARM_FINGERPRINT(s)', 'function FARM_FINGERPRINT'],
    ['ST_GEOGPOINT(1, 2)', 'function ST_GEOGPOINT'],
    ['NET.HOST(x)', 'function NET.HOST'],
    ['TIMESTAMP_DIFF(a, b, MONTH)', 'TIMESTAMP_DIFF(..., MONTH)'],
    ['CAST(x AS STRUCT<a INT64>)', 'CAST to STRUCT'],
    ['@@project_id', 'system variables'],
    ["FORMAT_DATE('%Q', d)", 'format element %Q'],
    ["FORMAT_TIMESTAMP('%c', ts) AT TIME ZONE 'UTC'", 'AT TIME ZONE outside EXTRACT'],
    ['SUM(x ORDER BY x)', 'SUM with IGNORE NULLS, ORDER BY, LIMIT or HAVING'],
    ['ABS(x ORDER BY x)', 'ABS with DISTINCT'],
  ])('refuses %s clearly', (bigquery, message) => {
    expect(() => expr(bigquery)).toThrow(`unsupported locally: ${message}`);
  });

  it('replays the tables of a cached translation to onTable', () => {
    const query = 'SELECT * FROM ds.cached_a JOIN cached_b USING (id)';
    const seen: string[] = [];
    const onTable = (dataset: string | undefined, table: string) => seen.push(`${dataset ?? '-'}.${table}`);
    const first = translateQuery(query, { onTable });
    expect(translateQuery(query, { onTable })).toEqual(first);
    expect(seen).toEqual(['ds.cached_a', '-.cached_b', 'ds.cached_a', '-.cached_b']);
    expect(() =>
      translateQuery(query, {
        onTable: () => {
          throw new Error('no such dataset');
        },
      }),
    ).toThrow('no such dataset');
  });

  it('translates in milliseconds (the parser dominates)', () => {
    const query =
      'SELECT kind, COUNT(*) AS n, TIMESTAMP_TRUNC(MIN(ts), HOUR) AS h, ARRAY_AGG(x IGNORE NULLS ORDER BY x LIMIT 3) AS xs FROM `p.ds.t` WHERE ts > @since GROUP BY kind ORDER BY n DESC';
    // Distinct texts, so that the cache does not answer.
    for (let k = 0; k < 50; k++) translateQuery(`${query} LIMIT ${k}`);
    const started = performance.now();
    for (let k = 50; k < 100; k++) translateQuery(`${query} LIMIT ${k}`);
    expect((performance.now() - started) / 50).toBeLessThan(25);
  });
});
