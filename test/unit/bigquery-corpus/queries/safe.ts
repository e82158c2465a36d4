/** CAST and SAFE_CAST, SAFE_DIVIDE, SAFE. functions, rounding, and the queries BigQuery answers with an error. */
import type { Case } from '../case';

const topic = 'safe';

export const safeCases: Case[] = [
  {
    id: 'safe-cast-strings',
    topic,
    sql: "SELECT SAFE_CAST('1.5' AS INT64) AS frac, SAFE_CAST('42' AS INT64) AS ok, SAFE_CAST('abc' AS FLOAT64) AS bad_float, SAFE_CAST('2024-02-30' AS DATE) AS bad_date, SAFE_CAST('2024-02-29' AS DATE) AS leap, SAFE_CAST('12.50' AS NUMERIC) AS num",
    expected: [{ frac: null, ok: 42, bad_float: null, bad_date: null, leap: '2024-02-29', num: '12.5' }],
    types: ['INT64', 'INT64', 'FLOAT64', 'DATE', 'DATE', 'NUMERIC'],
    note: "a STRING '1.5' is not an INT64 literal: SAFE_CAST gives NULL",
  },
  {
    id: 'safe-cast-column',
    topic,
    sql: "SELECT user_id, SAFE_CAST(SUBSTR(user_id, 2) AS INT64) AS n, SAFE_CAST(name AS INT64) AS name_as_int FROM shop.users WHERE user_id IN ('u2', 'u5')",
    expected: [
      { user_id: 'u2', n: 2, name_as_int: null },
      { user_id: 'u5', n: 5, name_as_int: null },
    ],
    types: ['STRING', 'INT64', 'INT64'],
  },
  {
    id: 'safe-divide',
    topic,
    sql: 'SELECT SAFE_DIVIDE(1, 0) AS by_zero, SAFE_DIVIDE(10, 4) AS q, SAFE_DIVIDE(NULL, 2) AS null_num, IEEE_DIVIDE(1, 0) AS inf, IEEE_DIVIDE(-1, 0) AS neg_inf',
    expected: [{ by_zero: null, q: 2.5, null_num: null, inf: Infinity, neg_inf: -Infinity }],
    types: ['FLOAT64', 'FLOAT64', 'FLOAT64', 'FLOAT64', 'FLOAT64'],
  },
  {
    id: 'safe-divide-conversion-rate',
    topic,
    sql: "SELECT type, ROUND(SAFE_DIVIDE(COUNTIF(qty > 1), COUNTIF(qty IS NOT NULL)), 2) AS multi_share FROM shop.events WHERE type IN ('view', 'add_to_cart') GROUP BY type",
    expected: [
      { type: 'view', multi_share: null },
      { type: 'add_to_cart', multi_share: 0.6 },
    ],
    note: 'views have no qty (0 / 0 -> NULL); add_to_cart rows: qty 1, 1, 2, 2 (e09 twice), 4 -> 3 of 5',
    types: ['STRING', 'FLOAT64'],
  },
  {
    id: 'safe-cast-float-to-int-rounds-half-away',
    topic,
    sql: 'SELECT CAST(2.5 AS INT64) AS a, CAST(-2.5 AS INT64) AS b, CAST(1.4999 AS INT64) AS c, CAST(0.5 AS INT64) AS d',
    expected: [{ a: 3, b: -3, c: 1, d: 1 }],
    types: ['INT64', 'INT64', 'INT64', 'INT64'],
  },
  {
    id: 'safe-round-trunc-ceil-floor',
    topic,
    sql: "SELECT ROUND(2.5) AS r1, ROUND(-2.5) AS r2, ROUND(1.2345, 2) AS r3, ROUND(NUMERIC '2.345', 2) AS rn, ROUND(1234, -2) AS r4, TRUNC(-2.7) AS t, CEIL(2.1) AS c, FLOOR(-2.1) AS f",
    expected: [{ r1: 3, r2: -3, r3: 1.23, rn: '2.35', r4: 1200, t: -2, c: 3, f: -3 }],
    types: ['FLOAT64', 'FLOAT64', 'FLOAT64', 'NUMERIC', 'FLOAT64', 'FLOAT64', 'FLOAT64', 'FLOAT64'],
    note: 'ROUND rounds half away from zero and returns FLOAT64 for INT64/FLOAT64 input',
  },
  {
    id: 'safe-cast-to-string',
    topic,
    sql: "SELECT CAST(3.0 AS STRING) AS f3, CAST(0.5 AS STRING) AS half, CAST(42 AS STRING) AS i, CAST(TRUE AS STRING) AS b, CAST(DATE '2024-02-29' AS STRING) AS d, CAST(NUMERIC '1.50' AS STRING) AS n",
    expected: [{ f3: '3', half: '0.5', i: '42', b: 'true', d: '2024-02-29', n: '1.5' }],
    types: ['STRING', 'STRING', 'STRING', 'STRING', 'STRING', 'STRING'],
  },
  {
    id: 'safe-cast-timestamp-to-string',
    topic,
    sql: "SELECT event_id, CAST(ts AS STRING) AS s FROM shop.events WHERE event_id IN ('e04', 'e08')",
    expected: [
      { event_id: 'e04', s: '2024-02-29 01:00:00+00' },
      { event_id: 'e08', s: '2024-03-03 23:59:59.999999+00' },
    ],
    types: ['STRING', 'STRING'],
  },
  {
    id: 'safe-cast-numeric-and-int-to-float',
    topic,
    sql: "SELECT CAST(42 AS FLOAT64) AS f, CAST('7' AS INT64) + 1 AS i, CAST(amount AS FLOAT64) AS amount_f, CAST(qty AS NUMERIC) AS qty_n FROM shop.events WHERE event_id = 'e13'",
    expected: [{ f: 42, i: 8, amount_f: 100.5, qty_n: '3' }],
    types: ['FLOAT64', 'INT64', 'FLOAT64', 'NUMERIC'],
  },
  {
    id: 'safe-prefix-functions',
    topic,
    sql: "SELECT SAFE.PARSE_DATE('%Y-%m-%d', 'not a date') AS bad, SAFE.PARSE_DATE('%Y-%m-%d', '2024-02-29') AS good, SAFE.LOG(-1) AS log_neg, SAFE.SQRT(16) AS root",
    expected: [{ bad: null, good: '2024-02-29', log_neg: null, root: 4 }],
    types: ['DATE', 'DATE', 'FLOAT64', 'FLOAT64'],
  },
  {
    id: 'safe-offset-on-column-array',
    topic,
    sql: "SELECT SPLIT(email, '.')[SAFE_OFFSET(2)] AS third, SPLIT(email, '.')[SAFE_ORDINAL(1)] AS first FROM shop.users WHERE user_id = 'u2'",
    expected: [{ third: 'fr', first: 'bob' }],
  },
  {
    id: 'error-division-by-zero',
    topic,
    sql: 'SELECT 1 / 0 AS x',
    expectedError: /division by zero/i,
  },
  {
    id: 'error-integer-div-by-zero',
    topic,
    sql: "SELECT DIV(qty, 0) AS x FROM shop.events WHERE event_id = 'e10'",
    expectedError: /division by zero/i,
  },
  {
    id: 'error-cast-bad-int',
    topic,
    sql: "SELECT CAST('1.5' AS INT64) AS x",
    expectedError: /bad int64 value|could not cast/i,
  },
  {
    id: 'error-cast-bad-date',
    topic,
    sql: "SELECT CAST('2024-02-30' AS DATE) AS x",
    expectedError: /invalid date|could not cast|bad date|out of range/i,
  },
  {
    id: 'error-offset-out-of-range',
    topic,
    sql: 'SELECT [1, 2, 3][OFFSET(5)] AS x',
    expectedError: /out of bounds|out of range/i,
  },
  {
    id: 'error-ordinal-zero',
    topic,
    sql: "SELECT SPLIT('a,b', ',')[ORDINAL(0)] AS x",
    expectedError: /out of bounds|out of range/i,
  },
  {
    id: 'error-array-agg-null-element',
    topic,
    sql: 'SELECT ARRAY_AGG(country) AS countries FROM shop.users',
    expectedError: /null element/i,
    note: 'u5 has no country; without IGNORE NULLS the final result would hold an array with a NULL',
  },
  {
    id: 'error-array-literal-null-element',
    topic,
    sql: 'SELECT [1, NULL, 3] AS a',
    expectedError: /null element/i,
  },
  {
    id: 'error-int64-overflow',
    topic,
    sql: 'SELECT 9223372036854775807 + 1 AS x',
    expectedError: /overflow/i,
  },
  {
    id: 'error-function',
    topic,
    sql: "SELECT IF(COUNT(*) > 100, 'ok', ERROR('too few events')) AS x FROM shop.events",
    expectedError: /too few events/,
  },
  {
    id: 'error-not-grouped',
    topic,
    sql: 'SELECT user_id, COUNT(*) AS n FROM shop.events',
    expectedError: /neither grouped nor aggregated/i,
  },
  {
    id: 'error-scalar-subquery-more-than-one-row',
    topic,
    sql: 'SELECT (SELECT user_id FROM shop.users) AS x',
    expectedError: /more than one (element|row)/i,
  },
  {
    // AT is one of BigQuery's reserved keywords (cloud.google.com/bigquery/docs/reference/standard-sql/lexical#reserved_keywords).
    id: 'error-reserved-keyword-alias',
    topic,
    sql: 'SELECT 1 AS at',
    expectedError: /syntax error/i,
  },
  {
    id: 'error-unknown-table',
    topic,
    sql: 'SELECT * FROM shop.nope',
    expectedError: /not found: table/i,
  },
];
