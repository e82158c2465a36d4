/** JSON columns and JSON text in STRING columns: extractors, converters, field access. */
import type { Case } from '../case';
import { uniqueEvents } from '../fixtures';
import { countBy } from './util';

const topic = 'json';

const page = (p: unknown) => (p && typeof p === 'object' && 'page' in p ? String(p.page) : null);
const browser = (attrs: string | null) => (attrs ? ((JSON.parse(attrs) as { browser?: string }).browser ?? null) : null);

export const jsonCases: Case[] = [
  {
    id: 'json-value-group-by-page',
    topic,
    sql: "SELECT JSON_VALUE(payload, '$.page') AS page, COUNT(DISTINCT event_id) AS n FROM shop.events WHERE JSON_VALUE(payload, '$.page') IS NOT NULL GROUP BY page",
    expected: countBy(
      uniqueEvents.filter((e) => page(e.payload)),
      (e) => page(e.payload),
    ).map(([p, n]) => ({ page: p, n })),
    types: ['STRING', 'INT64'],
  },
  {
    id: 'json-field-access-returns-json',
    topic,
    sql: "SELECT payload.cart.total AS total, payload.cart.items AS items, payload['order'] AS order_id, payload.nothing AS missing FROM shop.events WHERE event_id = 'e10'",
    expected: [{ total: 5.5, items: 2, order_id: 'o3', missing: null }],
    types: ['JSON', 'JSON', 'JSON', 'JSON'],
  },
  {
    id: 'json-converters',
    topic,
    sql: "SELECT FLOAT64(payload.cart.total) AS total, INT64(payload.cart.items) AS items, STRING(payload['order']) AS order_id, BOOL(JSON 'true') AS b FROM shop.events WHERE event_id = 'e13'",
    expected: [{ total: 100.5, items: 3, order_id: 'o4', b: true }],
    types: ['FLOAT64', 'INT64', 'STRING', 'BOOL'],
  },
  {
    id: 'json-query-object',
    topic,
    sql: "SELECT JSON_QUERY(payload, '$.cart') AS cart, JSON_QUERY(payload, '$.coupons') AS coupons FROM shop.events WHERE event_id = 'e07'",
    expected: [{ cart: { items: 1, total: 42 }, coupons: [] }],
    types: ['JSON', 'JSON'],
  },
  {
    id: 'json-extract-scalar-on-string-column',
    topic,
    sql: "SELECT JSON_EXTRACT_SCALAR(attrs, '$.browser') AS browser, COUNT(DISTINCT event_id) AS n FROM shop.events WHERE attrs IS NOT NULL GROUP BY browser",
    expected: countBy(
      uniqueEvents.filter((e) => e.attrs),
      (e) => browser(e.attrs),
    ).map(([b, n]) => ({ browser: b, n })),
    types: ['STRING', 'INT64'],
  },
  {
    id: 'json-extract-on-string-keeps-json-text',
    topic,
    sql: "SELECT JSON_EXTRACT(attrs, '$.ab') AS quoted, JSON_EXTRACT_SCALAR(attrs, '$.ab') AS bare, JSON_EXTRACT('{\"a\":{\"b\":[1,2]}}', '$.a') AS obj FROM shop.events WHERE event_id = 'e01'",
    expected: [{ quoted: '"A"', bare: 'A', obj: '{"b":[1,2]}' }],
    types: ['STRING', 'STRING', 'STRING'],
    note: 'JSON_EXTRACT on a STRING returns JSON text (a string value keeps its quotes)',
  },
  {
    id: 'json-value-object-or-missing-is-null',
    topic,
    sql: "SELECT JSON_VALUE(payload, '$.cart') AS obj, JSON_VALUE(payload, '$.nope') AS missing, JSON_VALUE(payload, '$.cart.total') AS total, JSON_VALUE(attrs, '$.ab') AS ab FROM shop.events WHERE event_id = 'e06'",
    expected: [{ obj: null, missing: null, total: '42', ab: 'B' }],
    types: ['STRING', 'STRING', 'STRING', 'STRING'],
  },
  {
    id: 'json-value-array',
    topic,
    sql: "SELECT event_id, JSON_VALUE_ARRAY(payload, '$.coupons') AS coupons FROM shop.events WHERE event_id IN ('e07', 'e10')",
    expected: [
      { event_id: 'e07', coupons: [] },
      { event_id: 'e10', coupons: ['SPRING', 'VIP'] },
    ],
    types: ['STRING', 'ARRAY<STRING>'],
  },
  {
    id: 'json-query-array-returns-json-elements',
    topic,
    sql: "SELECT JSON_QUERY_ARRAY(payload, '$.coupons') AS coupons, ARRAY_LENGTH(JSON_QUERY_ARRAY(payload, '$.coupons')) AS n FROM shop.events WHERE event_id = 'e10'",
    expected: [{ coupons: ['SPRING', 'VIP'], n: 2 }],
    types: ['ARRAY<JSON>', 'INT64'],
  },
  {
    id: 'json-unnest-coupon-counts',
    topic,
    sql: "SELECT coupon, COUNT(DISTINCT event_id) AS orders FROM shop.events, UNNEST(JSON_VALUE_ARRAY(payload, '$.coupons')) AS coupon GROUP BY coupon",
    expected: [
      { coupon: 'WELCOME', orders: 1 },
      { coupon: 'SPRING', orders: 1 },
      { coupon: 'VIP', orders: 2 },
    ],
  },
  {
    id: 'json-type',
    topic,
    sql: "SELECT event_id, JSON_TYPE(payload.ref) AS ref_type, JSON_TYPE(payload) AS payload_type FROM shop.events WHERE event_id IN ('e01', 'e04', 'e08')",
    expected: [
      { event_id: 'e01', ref_type: 'string', payload_type: 'object' },
      { event_id: 'e04', ref_type: 'null', payload_type: 'object' },
      { event_id: 'e08', ref_type: null, payload_type: 'object' },
    ],
    note: "a JSON null gives 'null'; a missing field gives SQL NULL",
  },
  {
    id: 'json-type-literals',
    topic,
    sql: "SELECT JSON_TYPE(JSON '1.5') AS n, JSON_TYPE(JSON 'true') AS b, JSON_TYPE(JSON '[1]') AS a, JSON_TYPE(JSON '\"s\"') AS s",
    expected: [{ n: 'number', b: 'boolean', a: 'array', s: 'string' }],
  },
  {
    id: 'json-parse-json-from-string',
    topic,
    sql: "SELECT (PARSE_JSON(attrs)).browser AS browser, JSON_VALUE(PARSE_JSON(attrs), '$.ab') AS ab FROM shop.events WHERE event_id = 'e14'",
    expected: [{ browser: 'chrome', ab: 'A' }],
    types: ['JSON', 'STRING'],
  },
  {
    id: 'json-literal-subscripts',
    topic,
    sql: "SELECT (JSON '{\"a\": [10, 20]}')['a'][1] AS second, (JSON '{\"a\": [10, 20]}').a AS arr, payload['cart']['items'] AS items FROM shop.events WHERE event_id = 'e15'",
    expected: [{ second: 20, arr: [10, 20], items: 4 }],
    types: ['JSON', 'JSON', 'JSON'],
  },
  {
    id: 'json-to-json-and-to-json-string',
    topic,
    sql: "SELECT TO_JSON(STRUCT(1 AS a, 'x' AS b)) AS j, TO_JSON_STRING(payload) AS text, TO_JSON_STRING([1, 2]) AS arr FROM shop.events WHERE event_id = 'e08'",
    expected: [{ j: { a: 1, b: 'x' }, text: '{"page":"/p/4"}', arr: '[1,2]' }],
    types: ['JSON', 'STRING', 'STRING'],
  },
  {
    id: 'json-filter-on-value',
    topic,
    sql: "SELECT COUNT(DISTINCT event_id) AS from_google FROM shop.events WHERE JSON_VALUE(payload, '$.ref') = 'google'",
    expected: [{ from_google: uniqueEvents.filter((e) => (e.payload as { ref?: string } | null)?.ref === 'google').length }],
  },
  {
    id: 'json-sum-cast-numeric',
    topic,
    sql: "SELECT SUM(CAST(JSON_VALUE(payload, '$.cart.total') AS NUMERIC)) AS total FROM shop.events WHERE type = 'purchase'",
    expected: [{ total: '229.23' }],
    types: ['NUMERIC'],
    note: 'purchase rows cart totals: 19.99 (twice: e03 redelivered) + 42 + 5.5 + 100.5 + 29 + 12.25',
  },
  {
    id: 'json-extract-array-on-string',
    topic,
    sql: 'SELECT JSON_EXTRACT_ARRAY(\'[1,"a",{"b":2}]\') AS items, JSON_EXTRACT_STRING_ARRAY(\'["x","y"]\') AS strings',
    expected: [{ items: ['1', '"a"', '{"b":2}'], strings: ['x', 'y'] }],
    types: ['ARRAY<STRING>', 'ARRAY<STRING>'],
  },
  {
    id: 'json-extract-scalar-on-json-column',
    topic,
    sql: "SELECT JSON_EXTRACT_SCALAR(payload, '$.cart.items') AS items, JSON_EXTRACT(payload, '$.cart') AS cart FROM shop.events WHERE event_id = 'e02'",
    expected: [{ items: '1', cart: { items: 1, total: 19.99 } }],
    types: ['STRING', 'JSON'],
    note: 'on a JSON input JSON_EXTRACT returns JSON',
  },
  {
    id: 'json-lax-converters',
    topic,
    sql: "SELECT LAX_INT64(JSON '\"10\"') AS i, LAX_BOOL(JSON '\"true\"') AS b, LAX_STRING(JSON '1') AS s, LAX_FLOAT64(JSON '\"1.5\"') AS f",
    expected: [{ i: 10, b: true, s: '1', f: 1.5 }],
    types: ['INT64', 'BOOL', 'STRING', 'FLOAT64'],
  },
  {
    id: 'json-ab-test-conversion',
    topic,
    sql: "SELECT JSON_VALUE(attrs, '$.ab') AS variant, COUNT(DISTINCT user_id) AS users, COUNT(DISTINCT IF(type = 'purchase', user_id, NULL)) AS buyers FROM shop.events WHERE JSON_VALUE(attrs, '$.ab') IS NOT NULL GROUP BY variant",
    expected: [
      { variant: 'A', users: 3, buyers: 3 },
      { variant: 'B', users: 3, buyers: 3 },
    ],
    note: 'A: u1 (e01-e03), u3 (e09, e10), u5 (e14-e16); B: u2 (e05-e07), u4 (e12, e13), u3 (e20)',
  },
];
