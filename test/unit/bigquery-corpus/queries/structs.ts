/** STRUCT columns and literals: field access, grouping, expansion, SELECT AS STRUCT. */
import type { Case } from '../case';
import { carts } from '../fixtures';
import { countBy } from './util';

const topic = 'structs';

export const structCases: Case[] = [
  {
    id: 'struct-field-access',
    topic,
    sql: 'SELECT cart_id, device.os, device.version FROM shop.carts',
    expected: carts.map((c) => ({ cart_id: c.cart_id, os: c.device?.os ?? null, version: c.device?.version ?? null })),
    types: ['STRING', 'STRING', 'INT64'],
    note: 'a field of a NULL struct is NULL',
  },
  {
    id: 'struct-group-by-field',
    topic,
    sql: 'SELECT device.os AS os, COUNT(*) AS carts FROM shop.carts GROUP BY os',
    expected: countBy(carts, (c) => c.device?.os ?? null).map(([os, n]) => ({ os, carts: n })),
  },
  {
    id: 'struct-filter-on-field',
    topic,
    sql: "SELECT cart_id FROM shop.carts AS c WHERE c.device.os = 'ios' AND c.device.version >= 17",
    expected: [{ cart_id: 'c1' }],
  },
  {
    id: 'struct-column-returned',
    topic,
    sql: 'SELECT cart_id, device FROM shop.carts',
    expected: carts.map((c) => ({ cart_id: c.cart_id, device: c.device })),
    types: ['STRING', 'STRUCT'],
  },
  {
    id: 'struct-star-expansion',
    topic,
    sql: "SELECT cart_id, device.* FROM shop.carts WHERE cart_id IN ('c1', 'c5')",
    expected: [
      { cart_id: 'c1', os: 'ios', version: 17 },
      { cart_id: 'c5', os: 'android', version: null },
    ],
  },
  {
    id: 'struct-literal-typed-and-named',
    topic,
    sql: "SELECT STRUCT(1 AS a, 'x' AS b) AS s, STRUCT<id STRING, n INT64>('k', 2) AS typed",
    expected: [{ s: { a: 1, b: 'x' }, typed: { id: 'k', n: 2 } }],
    types: ['STRUCT', 'STRUCT'],
  },
  {
    id: 'struct-field-of-subquery-struct',
    topic,
    sql: "SELECT s.a + 1 AS a1, s.b FROM (SELECT STRUCT(41 AS a, 'y' AS b) AS s)",
    expected: [{ a1: 42, b: 'y' }],
  },
  {
    id: 'struct-array-of-structs-literal-unnest',
    topic,
    sql: "SELECT p.name, p.score FROM UNNEST([STRUCT('a' AS name, 3 AS score), STRUCT('b' AS name, 5 AS score), STRUCT('c' AS name, 1 AS score)]) AS p WHERE p.score > 2",
    expected: [
      { name: 'a', score: 3 },
      { name: 'b', score: 5 },
    ],
  },
  {
    id: 'struct-select-as-struct-array',
    topic,
    sql: "SELECT ARRAY(SELECT AS STRUCT order_id, status FROM shop.orders WHERE user_id = 'u3' ORDER BY order_id) AS orders",
    expected: [
      {
        orders: [
          { order_id: 'o3', status: 'paid' },
          { order_id: 'o6', status: 'pending' },
        ],
      },
    ],
    types: ['ARRAY<STRUCT>'],
  },
  {
    id: 'struct-item-fields-aggregated',
    topic,
    sql: 'SELECT i.sku, SUM(i.qty) AS units, MAX(i.price) AS price FROM shop.carts, UNNEST(items) AS i GROUP BY i.sku',
    expected: [...new Set(carts.flatMap((c) => c.items.map((i) => i.sku)))].map((sku) => {
      const lines = carts.flatMap((c) => c.items.filter((i) => i.sku === sku));
      return { sku, units: lines.reduce((s, i) => s + i.qty, 0), price: Math.max(...lines.map((i) => i.price)) };
    }),
    types: ['STRING', 'INT64', 'FLOAT64'],
  },
  {
    id: 'struct-to-json-string',
    topic,
    sql: "SELECT TO_JSON_STRING(device) AS d, TO_JSON_STRING(STRUCT(1 AS a, [1, 2] AS b, CAST(NULL AS STRING) AS c)) AS lit FROM shop.carts WHERE cart_id = 'c5'",
    expected: [{ d: '{"os":"android","version":null}', lit: '{"a":1,"b":[1,2],"c":null}' }],
    types: ['STRING', 'STRING'],
  },
  {
    id: 'struct-comparison-is-null',
    topic,
    sql: 'SELECT COUNTIF(device IS NULL) AS no_device, COUNTIF(device.version IS NULL) AS no_version FROM shop.carts',
    expected: [{ no_device: carts.filter((c) => !c.device).length, no_version: carts.filter((c) => c.device?.version == null).length }],
  },
];
