/** The BigQuery -> DuckDB translator of the local BigQuery endpoint, text in, text out. */
import { tokenize, translateQuery, UnsupportedLocallyError } from '../../shared/bigquery-local/sql';

const sql = (text: string) => translateQuery(text).sql;
const expr = (text: string) => sql(`SELECT ${text}`).replace(/^SELECT /, '');

describe('tokenizer', () => {
  it('keeps string literals, comments and backquoted names whole', () => {
    const kinds = tokenize('SELECT \'a -- b\', `x.y`, "q" -- c\n/* d */ # e').filter((t) => t.kind !== 'ws');
    expect(kinds.map((t) => [t.kind, t.kind === 'string' || t.kind === 'qident' ? t.value : t.text])).toEqual([
      ['ident', 'SELECT'],
      ['string', 'a -- b'],
      ['op', ','],
      ['qident', 'x.y'],
      ['op', ','],
      ['string', 'q'],
      ['comment', '-- c'],
      ['comment', '/* d */'],
      ['comment', '# e'],
    ]);
  });

  it('decodes escapes, triple-quoted and raw strings', () => {
    const values = tokenize(`'it\\'s' "\\x41\\n" '''multi\nline''' r'\\d+'`)
      .filter((t) => t.kind === 'string')
      .map((t) => t.value);
    expect(values).toEqual(["it's", 'A\n', 'multi\nline', '\\d+']);
  });

  it('reports an unterminated string', () => {
    expect(() => tokenize("SELECT 'open")).toThrow(/unterminated string/);
  });
});

describe('table paths', () => {
  it('maps project.dataset.table in any quoting to "dataset"."table"', () => {
    expect(sql('SELECT * FROM `my-project.event_mesh.analytics_events`')).toBe('SELECT * FROM "event_mesh"."analytics_events"');
    expect(sql('SELECT * FROM `event_mesh.orders_events` o')).toBe('SELECT * FROM "event_mesh"."orders_events" o');
    expect(sql('SELECT * FROM `my-project`.event_mesh.orders_events')).toBe('SELECT * FROM "event_mesh"."orders_events"');
    expect(sql('SELECT * FROM my-project.event_mesh.t')).toBe('SELECT * FROM "event_mesh"."t"');
    expect(sql('SELECT * FROM event_mesh.t AS a JOIN `p.event_mesh.u` b ON a.x = b.x, event_mesh.v')).toBe(
      'SELECT * FROM "event_mesh"."t" AS a JOIN "event_mesh"."u" b ON a.x = b.x, "event_mesh"."v"',
    );
  });

  it('reports every table read, and not CTE names', () => {
    const tables: string[] = [];
    translateQuery('WITH recent AS (SELECT * FROM ds.a) SELECT * FROM recent JOIN (SELECT * FROM `p.ds.b`) USING (id) JOIN c USING (id)', {
      onTable: (dataset, table) => tables.push(`${dataset ?? '-'}.${table}`),
    });
    expect(tables).toEqual(['ds.a', 'ds.b', '-.c']);
  });

  it('leaves aliases named like function namespaces alone', () => {
    expect(sql('SELECT keys.id, net.x FROM ds.t keys JOIN ds.u net ON keys.id = net.id')).toBe(
      'SELECT keys.id, net.x FROM "ds"."t" keys JOIN "ds"."u" net ON keys.id = net.id',
    );
  });

  it('quotes backquoted column names', () => {
    expect(sql('SELECT `order`, t.`select` FROM ds.t')).toBe('SELECT "order", t."select" FROM "ds"."t"');
  });

  it('refuses what has no local equivalent', () => {
    expect(() => sql('SELECT * FROM `p.ds.INFORMATION_SCHEMA.TABLES`')).toThrow('unsupported locally: INFORMATION_SCHEMA views');
    expect(() => sql('SELECT * FROM `ds.events_*`')).toThrow('unsupported locally: wildcard tables');
    expect(() => sql('SELECT * FROM ds.t FOR SYSTEM_TIME AS OF TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 1 HOUR)')).toThrow('time travel');
  });
});

describe('literals and syntax', () => {
  it('turns double-quoted strings into single-quoted ones, escaping quotes', () => {
    expect(expr(`"it's", 'a''b'`)).toBe(`'it''s', 'a''b'`);
  });

  it('leaves SQL inside string literals alone', () => {
    expect(expr(`'TIMESTAMP_TRUNC(x, HOUR) FROM \`p.d.t\`'`)).toBe(`'TIMESTAMP_TRUNC(x, HOUR) FROM \`p.d.t\`'`);
  });

  it('turns # comments into -- comments', () => {
    expect(sql('SELECT 1 # one')).toBe('SELECT 1 -- one');
  });

  it('maps typed literals to DuckDB types (TIMESTAMP is time-zoned, DATETIME is not)', () => {
    expect(expr(`TIMESTAMP '2024-01-01 10:00:00+00', DATETIME '2024-01-01 10:00:00', DATE '2024-01-01'`)).toBe(
      `CAST('2024-01-01 10:00:00+00' AS TIMESTAMPTZ), CAST('2024-01-01 10:00:00' AS TIMESTAMP), CAST('2024-01-01' AS DATE)`,
    );
  });

  it('maps SELECT * EXCEPT and DISTINCT set operations', () => {
    expect(sql('SELECT * EXCEPT (data) FROM ds.t UNION DISTINCT SELECT * EXCEPT(data) FROM ds.u')).toBe(
      'SELECT * EXCLUDE (data) FROM "ds"."t" UNION SELECT * EXCLUDE(data) FROM "ds"."u"',
    );
  });

  it('maps named parameters to $name and lists them', () => {
    expect(translateQuery('SELECT * FROM ds.t WHERE a = @a AND b > @b AND c = @a')).toEqual({
      sql: 'SELECT * FROM "ds"."t" WHERE a = $a AND b > $b AND c = $a',
      parameters: ['a', 'b'],
    });
  });

  it('accepts one statement, a trailing semicolon and leading comments', () => {
    expect(sql('-- hi\nSELECT 1;')).toBe('-- hi\nSELECT 1');
    expect(() => sql('SELECT 1; SELECT 2')).toThrow('unsupported locally: multi-statement queries');
    expect(() => sql('DELETE FROM ds.t WHERE TRUE')).toThrow('unsupported locally: DELETE statements');
    expect(() => sql('DECLARE x INT64')).toThrow(UnsupportedLocallyError);
  });
});

describe('functions', () => {
  it.each([
    ['TIMESTAMP_TRUNC(ts, HOUR)', "date_trunc('hour', ts)"],
    ['TIMESTAMP_TRUNC(ts, day)', "date_trunc('day', ts)"],
    ['TIMESTAMP_TRUNC(ts, WEEK)', "(date_trunc('week', ts + INTERVAL 1 DAY) - INTERVAL 1 DAY)"],
    ['TIMESTAMP_TRUNC(ts, WEEK(MONDAY))', "date_trunc('week', ts)"],
    ['DATE_TRUNC(d, MONTH)', "CAST(date_trunc('month', d) AS DATE)"],
    ['DATE(ts)', 'CAST(ts AS DATE)'],
    ['DATE(2024, 1, 31)', 'make_date(2024, 1, 31)'],
    ['TIMESTAMP_DIFF(a, b, MINUTE)', "date_sub('minute', b, a)"],
    ['TIMESTAMP_DIFF(publish_time, event_time, SECOND)', "date_sub('second', event_time, publish_time)"],
    ['DATE_DIFF(a, b, DAY)', "date_diff('day', b, a)"],
    ['TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 30 MINUTE)', '(now() - INTERVAL (30) MINUTE)'],
    ['TIMESTAMP_ADD(ts, INTERVAL @n HOUR)', '(ts + INTERVAL ($n) HOUR)'],
    ['DATE_SUB(CURRENT_DATE(), INTERVAL 1 DAY)', 'CAST((current_date - INTERVAL (1) DAY) AS DATE)'],
    ['EXTRACT(HOUR FROM ts)', 'extract(hour FROM ts)'],
    ['EXTRACT(DAYOFWEEK FROM ts)', '(dayofweek(ts) + 1)'],
    ['EXTRACT(DATE FROM ts)', 'CAST(ts AS DATE)'],
    ['COUNTIF(x > 1)', 'count(CASE WHEN x > 1 THEN 1 END)'],
    ['IF(a = 1, "y", "n")', "(CASE WHEN a = 1 THEN 'y' ELSE 'n' END)"],
    ['IFNULL(a, 0)', 'coalesce(a, 0)'],
    ['COALESCE(a, b, 0)', 'COALESCE(a, b, 0)'],
    ['SAFE_CAST(x AS INT64)', 'TRY_CAST(x AS BIGINT)'],
    ['CAST(x AS STRING)', 'CAST(x AS VARCHAR)'],
    ['CAST(s AS TIMESTAMP)', 'CAST(s AS TIMESTAMPTZ)'],
    ['CAST(CAST(x AS FLOAT64) AS NUMERIC)', 'CAST(CAST(x AS DOUBLE) AS DECIMAL(38,9))'],
    ["JSON_VALUE(data, '$.a')", "(CASE WHEN json_type(data, '$.a') IN ('OBJECT', 'ARRAY') THEN NULL ELSE json_extract_string(data, '$.a') END)"],
    ["JSON_QUERY(data, '$.a')", "json_extract(data, '$.a')"],
    ['APPROX_COUNT_DISTINCT(user_id)', 'approx_count_distinct(user_id)'],
    ['CURRENT_TIMESTAMP()', 'now()'],
    ['CURRENT_TIMESTAMP', 'CURRENT_TIMESTAMP'],
    ['SAFE_DIVIDE(a, b)', '(CASE WHEN b = 0 THEN NULL ELSE a / b END)'],
    ['LOGICAL_AND(ok)', 'bool_and(ok)'],
    ["REGEXP_CONTAINS(page, r'^/posts/')", "regexp_matches(page, '^/posts/')"],
    ["REGEXP_EXTRACT(page, r'/posts/(\\w+)')", "regexp_extract(page, '/posts/(\\w+)', 1)"],
    ["FORMAT_TIMESTAMP('%Y-%m-%d', ts)", "strftime(ts, '%Y-%m-%d')"],
    ['UNIX_MILLIS(ts)', 'epoch_ms(ts)'],
    ['TIMESTAMP_SECONDS(1700000000)', 'to_timestamp(1700000000)'],
    ["STRUCT(1 AS a, 'x' AS `b`)", `struct_pack("a" := 1, "b" := 'x')`],
    ['ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY publish_time)', 'ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY publish_time)'],
  ])('%s', (bigquery, duckdb) => {
    expect(expr(bigquery)).toBe(duckdb);
  });

  it('translates nested calls inside out', () => {
    expect(expr('COUNTIF(TIMESTAMP_DIFF(a, TIMESTAMP_TRUNC(b, HOUR), MINUTE) > IFNULL(x, 5))')).toBe(
      "count(CASE WHEN date_sub('minute', date_trunc('hour', b), a) > coalesce(x, 5) THEN 1 END)",
    );
  });

  it('keeps QUALIFY, which DuckDB has too', () => {
    expect(sql('SELECT * FROM `p.ds.t` WHERE TRUE QUALIFY ROW_NUMBER() OVER (PARTITION BY id ORDER BY ts) = 1')).toBe(
      'SELECT * FROM "ds"."t" WHERE TRUE QUALIFY ROW_NUMBER() OVER (PARTITION BY id ORDER BY ts) = 1',
    );
  });

  it.each([
    ['TIMESTAMP_TRUNC(ts, HOUR, "Europe/Berlin")', 'TIMESTAMP_TRUNC with a time zone argument'],
    ['DATE(ts, "Europe/Berlin")', 'DATE(timestamp, time_zone)'],
    ['TIMESTAMP_DIFF(a, b, MONTH)', 'TIMESTAMP_DIFF(..., MONTH)'],
    ['EXTRACT(WEEK FROM ts)', 'EXTRACT(WEEK FROM ...)'],
    ['APPROX_QUANTILES(x, 4)', 'function APPROX_QUANTILES'],
    ['ST_GEOGPOINT(1, 2)', 'function ST_GEOGPOINT'],
    ['SAFE.PARSE_DATE("%Y", s)', 'SAFE.PARSE_DATE functions'],
    ['CAST(x AS STRUCT<a INT64>)', 'CAST to STRUCT<aINT64>'],
    ['@@project_id', 'system variables'],
    ['STRUCT(1, 2)', 'STRUCT(...) fields without a name'],
  ])('refuses %s clearly', (bigquery, message) => {
    expect(() => expr(bigquery)).toThrow(`unsupported locally: ${message}`);
  });
});
