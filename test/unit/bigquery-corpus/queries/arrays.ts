/** Array literals, GENERATE_ARRAY/GENERATE_DATE_ARRAY, ARRAY_AGG, UNNEST of columns, comma joins, OFFSET/ORDINAL. */
import { T, type Case } from '../case';
import { carts, events, uniqueEvents } from '../fixtures';
import { countBy } from './util';

const topic = 'arrays';

const days = ['2024-02-27', '2024-02-28', '2024-02-29', '2024-03-01', '2024-03-02', '2024-03-03', '2024-03-04', '2024-03-05'];

export const arrayCases: Case[] = [
  {
    id: 'arr-generate-array',
    topic,
    sql: 'SELECT GENERATE_ARRAY(1, 10, 3) AS a, GENERATE_ARRAY(5, 1, -2) AS down, ARRAY_LENGTH(GENERATE_ARRAY(1, 0)) AS empty_len',
    expected: [{ a: [1, 4, 7, 10], down: [5, 3, 1], empty_len: 0 }],
    types: ['ARRAY<INT64>', 'ARRAY<INT64>', 'INT64'],
  },
  {
    id: 'arr-generate-date-array',
    topic,
    sql: "SELECT GENERATE_DATE_ARRAY('2024-02-27', '2024-03-02') AS daily, GENERATE_DATE_ARRAY(DATE '2024-02-26', DATE '2024-03-18', INTERVAL 1 WEEK) AS weekly",
    expected: [
      { daily: ['2024-02-27', '2024-02-28', '2024-02-29', '2024-03-01', '2024-03-02'], weekly: ['2024-02-26', '2024-03-04', '2024-03-11', '2024-03-18'] },
    ],
    types: ['ARRAY<DATE>', 'ARRAY<DATE>'],
  },
  {
    id: 'arr-daily-counts-with-zero-days',
    topic,
    sql: "SELECT d, COUNT(DISTINCT e.event_id) AS n FROM UNNEST(GENERATE_DATE_ARRAY('2024-02-27', '2024-03-05')) AS d LEFT JOIN shop.events AS e ON DATE(e.ts) = d GROUP BY d ORDER BY d",
    expected: days.map((d) => ({ d, n: uniqueEvents.filter((e) => e.ts.startsWith(d)).length })),
    types: ['DATE', 'INT64'],
    ordered: true,
  },
  {
    id: 'arr-generate-timestamp-array-hours',
    topic,
    sql: "SELECT h, COUNT(e.event_id) AS n FROM UNNEST(GENERATE_TIMESTAMP_ARRAY('2024-02-28 23:00:00', '2024-02-29 01:00:00', INTERVAL 1 HOUR)) AS h LEFT JOIN shop.events AS e ON TIMESTAMP_TRUNC(e.ts, HOUR) = h GROUP BY h",
    expected: [
      { h: T('2024-02-28 23:00:00'), n: 2 },
      { h: T('2024-02-29 00:00:00'), n: 2 },
      { h: T('2024-02-29 01:00:00'), n: 1 },
    ],
    note: 'counts rows: e03 was delivered twice',
  },
  {
    id: 'arr-literal-length-offset-ordinal',
    topic,
    sql: "SELECT ARRAY_LENGTH(['a', 'b', 'c']) AS len, ['a', 'b', 'c'][OFFSET(0)] AS first, ['a', 'b', 'c'][ORDINAL(3)] AS last, ['a', 'b', 'c'][SAFE_OFFSET(3)] AS beyond, ['a', 'b', 'c'][SAFE_ORDINAL(0)] AS zero",
    expected: [{ len: 3, first: 'a', last: 'c', beyond: null, zero: null }],
    types: ['INT64', 'STRING', 'STRING', 'STRING', 'STRING'],
  },
  {
    id: 'arr-unnest-literal-with-offset',
    topic,
    sql: "SELECT x, off FROM UNNEST(['view', 'add_to_cart', 'purchase']) AS x WITH OFFSET AS off ORDER BY off",
    expected: [
      { x: 'view', off: 0 },
      { x: 'add_to_cart', off: 1 },
      { x: 'purchase', off: 2 },
    ],
    types: ['STRING', 'INT64'],
    ordered: true,
  },
  {
    id: 'arr-array-functions',
    topic,
    sql: "SELECT ARRAY_CONCAT([1, 2], [3]) AS cat, ARRAY_REVERSE([1, 2, 3]) AS rev, ARRAY_TO_STRING(['a', NULL, 'c'], ',') AS skip_null, ARRAY_TO_STRING(['a', NULL, 'c'], ',', 'N') AS null_text, 2 IN UNNEST([1, 2, 3]) AS has_two",
    expected: [{ cat: [1, 2, 3], rev: [3, 2, 1], skip_null: 'a,c', null_text: 'a,N,c', has_two: true }],
    types: ['ARRAY<INT64>', 'ARRAY<INT64>', 'STRING', 'STRING', 'BOOL'],
  },
  {
    id: 'arr-agg-ordered-per-user',
    topic,
    sql: "SELECT ARRAY_AGG(type ORDER BY ts) AS journey FROM (SELECT DISTINCT event_id, type, ts FROM shop.events WHERE user_id = 'u2')",
    expected: [{ journey: ['view', 'add_to_cart', 'purchase', 'view'] }],
    types: ['ARRAY<STRING>'],
  },
  {
    id: 'arr-agg-latest-event-per-user',
    topic,
    sql: 'SELECT user_id, ARRAY_AGG(event_id ORDER BY ts DESC LIMIT 1)[OFFSET(0)] AS latest FROM shop.events WHERE user_id IS NOT NULL GROUP BY user_id',
    expected: [
      { user_id: 'u1', latest: 'e17' },
      { user_id: 'u2', latest: 'e19' },
      { user_id: 'u3', latest: 'e20' },
      { user_id: 'u4', latest: 'e13' },
      { user_id: 'u5', latest: 'e16' },
    ],
  },
  {
    id: 'arr-agg-distinct-and-limit',
    topic,
    sql: "SELECT ARRAY_AGG(DISTINCT type ORDER BY type) AS types, ARRAY_AGG(event_id ORDER BY ts LIMIT 3) AS first3 FROM shop.events WHERE user_id = 'u1'",
    expected: [{ types: ['add_to_cart', 'purchase', 'refund', 'view'], first3: ['e01', 'e02', 'e03'] }],
  },
  {
    id: 'arr-agg-ignore-nulls',
    topic,
    sql: 'SELECT ARRAY_AGG(country IGNORE NULLS ORDER BY country) AS countries, ARRAY_LENGTH(ARRAY_AGG(email IGNORE NULLS)) AS emails FROM shop.users',
    expected: [{ countries: ['DE', 'DE', 'FR', 'US'], emails: 4 }],
  },
  {
    id: 'arr-agg-struct-per-user',
    topic,
    sql: "SELECT user_id, ARRAY_AGG(STRUCT(order_id, total) ORDER BY created_at) AS orders FROM shop.orders WHERE user_id IN ('u3', 'u4') GROUP BY user_id",
    expected: [
      {
        user_id: 'u3',
        orders: [
          { order_id: 'o3', total: '5.5' },
          { order_id: 'o6', total: '12.25' },
        ],
      },
      { user_id: 'u4', orders: [{ order_id: 'o4', total: '100.5' }] },
    ],
    types: ['STRING', 'ARRAY<STRUCT>'],
  },
  {
    id: 'arr-column-returned',
    topic,
    sql: 'SELECT cart_id, tags FROM shop.carts',
    expected: carts.map((c) => ({ cart_id: c.cart_id, tags: c.tags })),
    types: ['STRING', 'ARRAY<STRING>'],
    note: 'an empty REPEATED column comes back as an empty array',
  },
  {
    id: 'arr-comma-join-unnest-tags',
    topic,
    sql: 'SELECT c.cart_id, tag FROM shop.carts AS c, UNNEST(c.tags) AS tag',
    expected: carts.flatMap((c) => c.tags.map((tag) => ({ cart_id: c.cart_id, tag }))),
  },
  {
    id: 'arr-cross-join-unnest-with-offset',
    topic,
    sql: 'SELECT cart_id, tag, pos FROM shop.carts CROSS JOIN UNNEST(tags) AS tag WITH OFFSET AS pos WHERE pos > 0',
    expected: carts.flatMap((c) => c.tags.map((tag, pos) => ({ cart_id: c.cart_id, tag, pos })).filter((r) => r.pos > 0)),
  },
  {
    id: 'arr-left-join-unnest-keeps-empty',
    topic,
    sql: 'SELECT cart_id, tag FROM shop.carts LEFT JOIN UNNEST(tags) AS tag',
    expected: carts.flatMap((c) =>
      c.tags.length ? c.tags.map((tag): { cart_id: string; tag: string | null } => ({ cart_id: c.cart_id, tag })) : [{ cart_id: c.cart_id, tag: null }],
    ),
  },
  {
    id: 'arr-tag-counts',
    topic,
    sql: 'SELECT tag, COUNT(*) AS carts FROM shop.carts, UNNEST(tags) AS tag GROUP BY tag ORDER BY carts DESC, tag',
    expected: countBy(
      carts.flatMap((c) => c.tags),
      (t) => t,
    )
      .sort(([ta, a], [tb, b]) => b - a || (ta < tb ? -1 : 1))
      .map(([tag, n]) => ({ tag, carts: n })),
    ordered: true,
  },
  {
    id: 'arr-in-unnest-column-filter',
    topic,
    sql: "SELECT cart_id FROM shop.carts WHERE 'promo' IN UNNEST(tags)",
    expected: carts.filter((c) => c.tags.includes('promo')).map((c) => ({ cart_id: c.cart_id })),
  },
  {
    id: 'arr-length-and-safe-offset-of-column',
    topic,
    sql: 'SELECT cart_id, ARRAY_LENGTH(tags) AS n_tags, ARRAY_LENGTH(items) AS n_items, tags[SAFE_OFFSET(1)] AS second_tag FROM shop.carts',
    expected: carts.map((c) => ({ cart_id: c.cart_id, n_tags: c.tags.length, n_items: c.items.length, second_tag: c.tags[1] ?? null })),
  },
  {
    id: 'arr-unnest-struct-items-lines',
    topic,
    sql: 'SELECT cart_id, item.sku, item.qty * item.price AS line FROM shop.carts, UNNEST(items) AS item',
    expected: carts.flatMap((c) => c.items.map((i) => ({ cart_id: c.cart_id, sku: i.sku, line: i.qty * i.price }))),
    types: ['STRING', 'STRING', 'FLOAT64'],
  },
  {
    id: 'arr-correlated-subquery-cart-total',
    topic,
    sql: 'SELECT cart_id, (SELECT SUM(qty) FROM UNNEST(items)) AS units, (SELECT SUM(i.qty * i.price) FROM UNNEST(items) AS i) AS total FROM shop.carts',
    expected: carts.map((c) => ({
      cart_id: c.cart_id,
      units: c.items.length ? c.items.reduce((s, i) => s + i.qty, 0) : null,
      total: c.items.length ? c.items.reduce((s, i) => s + i.qty * i.price, 0) : null,
    })),
    types: ['STRING', 'INT64', 'FLOAT64'],
    note: 'SUM over an empty array is NULL',
  },
  {
    id: 'arr-exists-unnest',
    topic,
    sql: 'SELECT cart_id FROM shop.carts WHERE EXISTS (SELECT 1 FROM UNNEST(items) AS i WHERE i.price > 15)',
    expected: carts.filter((c) => c.items.some((i) => i.price > 15)).map((c) => ({ cart_id: c.cart_id })),
  },
  {
    id: 'arr-array-subquery-filtered',
    topic,
    sql: 'SELECT cart_id, ARRAY(SELECT sku FROM UNNEST(items) WHERE qty = 1 ORDER BY sku) AS singles FROM shop.carts',
    expected: carts.map((c) => ({
      cart_id: c.cart_id,
      singles: c.items
        .filter((i) => i.qty === 1)
        .map((i) => i.sku)
        .sort(),
    })),
    types: ['STRING', 'ARRAY<STRING>'],
  },
  {
    id: 'arr-sku-popularity-join-events',
    topic,
    sql: "SELECT i.sku, COUNT(DISTINCT c.cart_id) AS carts, COUNT(DISTINCT e.event_id) AS views FROM shop.carts AS c, UNNEST(c.items) AS i LEFT JOIN shop.events AS e ON e.subject = i.sku AND e.type = 'view' GROUP BY i.sku",
    expected: [...new Set(carts.flatMap((c) => c.items.map((i) => i.sku)))].map((sku) => ({
      sku,
      carts: carts.filter((c) => c.items.some((i) => i.sku === sku)).length,
      views: uniqueEvents.filter((e) => e.subject === sku && e.type === 'view').length,
    })),
  },
  {
    id: 'arr-array-length-of-agg-and-rows',
    topic,
    sql: 'SELECT ARRAY_LENGTH(ARRAY_AGG(event_id)) AS all_rows, ARRAY_LENGTH(ARRAY_AGG(DISTINCT event_id)) AS distinct_ids FROM shop.events',
    expected: [{ all_rows: events.length, distinct_ids: uniqueEvents.length }],
  },
  {
    id: 'arr-agg-order-desc-nulls-first',
    topic,
    sql: "SELECT ARRAY_AGG(IFNULL(country, '?') ORDER BY country DESC NULLS FIRST, user_id) AS countries FROM shop.users",
    expected: [{ countries: ['?', 'US', 'FR', 'DE', 'DE'] }],
    types: ['ARRAY<STRING>'],
  },
];
