/** Table names, SELECT * EXCEPT/REPLACE, NULLS FIRST/LAST, CTEs, joins, set operations, literals. */
import { DT, T, type Case } from '../case';
import { orders, uniqueEvents, users } from '../fixtures';

const topic = 'misc';

const byCountry = (dir: 1 | -1, nulls: 'first' | 'last') =>
  [...users]
    .sort((a, b) => {
      if (a.country === b.country) return a.user_id < b.user_id ? -1 : 1;
      if (a.country === null) return nulls === 'first' ? -1 : 1;
      if (b.country === null) return nulls === 'first' ? 1 : -1;
      return (a.country < b.country ? -1 : 1) * dir;
    })
    .map((u) => ({ user_id: u.user_id, country: u.country }));

export const miscCases: Case[] = [
  {
    id: 'names-backticked-full-path',
    topic,
    sql: 'SELECT COUNT(*) AS n FROM `test-project.shop.users`',
    expected: [{ n: users.length }],
  },
  {
    id: 'names-backticked-project-only',
    topic,
    sql: 'SELECT COUNT(*) AS n FROM `test-project`.shop.orders',
    expected: [{ n: orders.length }],
  },
  {
    id: 'names-backticked-dataset-table',
    topic,
    sql: 'SELECT COUNT(*) AS n FROM `shop.users` AS u JOIN `shop`.`orders` AS o ON o.user_id = u.user_id',
    expected: [{ n: orders.filter((o) => users.some((u) => u.user_id === o.user_id)).length }],
  },
  {
    id: 'names-backticked-each-part-and-qualified-column',
    topic,
    sql: "SELECT users.name FROM `test-project`.`shop`.`users` WHERE users.user_id = 'u2'",
    expected: [{ name: 'Bob Martin' }],
  },
  {
    id: 'names-table-alias-star',
    topic,
    sql: "SELECT o.*, u.name FROM `test-project.shop.orders` o LEFT JOIN shop.users u USING (user_id) WHERE o.order_id IN ('o4', 'o7')",
    expected: [
      { order_id: 'o4', user_id: 'u4', created_at: T('2024-01-01 00:45:00'), status: 'paid', total: '100.5', country: null, name: 'Dan' },
      { order_id: 'o7', user_id: 'u6', created_at: T('2024-02-10 09:00:00'), status: 'cancelled', total: null, country: 'US', name: null },
    ],
  },
  {
    id: 'select-star-except',
    topic,
    sql: "SELECT * EXCEPT (email, plan) FROM shop.users WHERE user_id = 'u1'",
    expected: [{ user_id: 'u1', name: 'Ada Lovelace', signup_date: '2023-11-05', country: 'DE' }],
    types: ['STRING', 'STRING', 'DATE', 'STRING'],
  },
  {
    id: 'select-star-replace',
    topic,
    sql: "SELECT * REPLACE (UPPER(name) AS name, COALESCE(plan, 'none') AS plan) FROM shop.users WHERE user_id = 'u5'",
    expected: [{ user_id: 'u5', name: 'EVE', signup_date: '2024-01-15', country: null, email: 'eve@example.org', plan: 'none' }],
  },
  {
    id: 'select-star-except-replace-subquery',
    topic,
    sql: "SELECT * EXCEPT (status) REPLACE (total * 2 AS total) FROM (SELECT order_id, status, total FROM shop.orders WHERE order_id = 'o2')",
    expected: [{ order_id: 'o2', total: '84' }],
    types: ['STRING', 'NUMERIC'],
  },
  {
    id: 'order-nulls-first-by-default-asc',
    topic,
    sql: 'SELECT user_id, country FROM shop.users ORDER BY country, user_id',
    expected: byCountry(1, 'first'),
    ordered: true,
  },
  {
    id: 'order-nulls-last-by-default-desc',
    topic,
    sql: 'SELECT user_id, country FROM shop.users ORDER BY country DESC, user_id',
    expected: byCountry(-1, 'last'),
    ordered: true,
  },
  {
    id: 'order-asc-nulls-last',
    topic,
    sql: 'SELECT user_id, country FROM shop.users ORDER BY country ASC NULLS LAST, user_id',
    expected: byCountry(1, 'last'),
    ordered: true,
  },
  {
    id: 'order-desc-nulls-first',
    topic,
    sql: 'SELECT user_id, country FROM shop.users ORDER BY country DESC NULLS FIRST, user_id',
    expected: byCountry(-1, 'first'),
    ordered: true,
  },
  {
    id: 'order-limit-offset',
    topic,
    sql: 'SELECT order_id FROM shop.orders ORDER BY created_at LIMIT 2 OFFSET 1',
    expected: [{ order_id: 'o5' }, { order_id: 'o7' }],
    ordered: true,
    note: 'by created_at: o4 (Jan 1), o5 (Jan 31), o7 (Feb 10), o1 ...',
  },
  {
    id: 'cte-two-steps',
    topic,
    sql: "WITH purchases AS (SELECT DISTINCT event_id, user_id, amount FROM shop.events WHERE type = 'purchase'), per_user AS (SELECT user_id, COUNT(*) AS n, SUM(amount) AS spent FROM purchases GROUP BY user_id) SELECT user_id, n, spent FROM per_user WHERE n > 1 OR spent > 50 ORDER BY user_id",
    expected: [
      { user_id: 'u3', n: 2, spent: '17.75' },
      { user_id: 'u4', n: 1, spent: '100.5' },
    ],
    types: ['STRING', 'INT64', 'NUMERIC'],
    ordered: true,
  },
  {
    id: 'cte-referenced-twice',
    topic,
    sql: "WITH v AS (SELECT DISTINCT user_id FROM shop.events WHERE type = 'view' AND user_id IS NOT NULL), p AS (SELECT DISTINCT user_id FROM shop.events WHERE type = 'purchase') SELECT (SELECT COUNT(*) FROM v) AS viewers, (SELECT COUNT(*) FROM v JOIN p USING (user_id)) AS converted",
    expected: [{ viewers: 5, converted: 5 }],
  },
  {
    id: 'join-left-anti',
    topic,
    sql: 'SELECT o.order_id FROM shop.orders AS o LEFT JOIN shop.users AS u ON u.user_id = o.user_id WHERE u.user_id IS NULL',
    expected: [{ order_id: 'o7' }],
  },
  {
    id: 'join-users-without-orders-not-exists',
    topic,
    sql: "SELECT u.user_id FROM shop.users AS u WHERE NOT EXISTS (SELECT 1 FROM shop.orders AS o WHERE o.user_id = u.user_id AND o.status = 'paid')",
    expected: users.filter((u) => !orders.some((o) => o.user_id === u.user_id && o.status === 'paid')).map((u) => ({ user_id: u.user_id })),
    note: 'u1 only has the refunded o1',
  },
  {
    id: 'join-full-outer-coalesce',
    topic,
    sql: 'SELECT COALESCE(u.user_id, o.user_id) AS user_id, COUNT(o.order_id) AS orders FROM shop.users AS u FULL OUTER JOIN shop.orders AS o ON o.user_id = u.user_id GROUP BY 1',
    expected: [
      { user_id: 'u1', orders: 1 },
      { user_id: 'u2', orders: 1 },
      { user_id: 'u3', orders: 2 },
      { user_id: 'u4', orders: 1 },
      { user_id: 'u5', orders: 1 },
      { user_id: 'u6', orders: 1 },
    ],
  },
  {
    id: 'set-union-all-distinct-except-intersect',
    topic,
    sql: 'SELECT (SELECT COUNT(*) FROM (SELECT user_id FROM shop.users UNION ALL SELECT user_id FROM shop.orders)) AS union_all, (SELECT COUNT(*) FROM (SELECT user_id FROM shop.users UNION DISTINCT SELECT user_id FROM shop.orders)) AS union_distinct, (SELECT COUNT(*) FROM (SELECT user_id FROM shop.orders EXCEPT DISTINCT SELECT user_id FROM shop.users)) AS only_orders, (SELECT COUNT(*) FROM (SELECT user_id FROM shop.orders INTERSECT DISTINCT SELECT user_id FROM shop.users)) AS both_sides',
    expected: [{ union_all: 12, union_distinct: 6, only_orders: 1, both_sides: 5 }],
  },
  {
    id: 'literals-types',
    topic,
    sql: "SELECT 1 AS i, 1.5 AS f, 1e3 AS e, NUMERIC '1.50' AS n, 'x' AS s, TRUE AS b, DATE '2024-02-29' AS d, TIMESTAMP '2024-02-29 12:00:00+00' AS t, DATETIME '2024-02-29 12:00:00' AS dt, NULL AS nothing",
    expected: [
      {
        i: 1,
        f: 1.5,
        e: 1000,
        n: '1.5',
        s: 'x',
        b: true,
        d: '2024-02-29',
        t: T('2024-02-29 12:00:00'),
        dt: DT('2024-02-29 12:00:00'),
        nothing: null,
      },
    ],
    types: ['INT64', 'FLOAT64', 'FLOAT64', 'NUMERIC', 'STRING', 'BOOL', 'DATE', 'TIMESTAMP', 'DATETIME', 'INT64'],
    note: 'decimal and exponent literals are FLOAT64; an untyped NULL is INT64',
  },
  {
    id: 'literals-strings-and-escapes',
    topic,
    sql: "SELECT \"double\" AS dq, 'it\\'s' AS escaped, r'a\\d+' AS raw, '''tri\nple''' AS triple, LENGTH('\\n') AS newline_len",
    expected: [{ dq: 'double', escaped: "it's", raw: 'a\\d+', triple: 'tri\nple', newline_len: 1 }],
  },
  {
    id: 'literals-integer-hex-and-arithmetic-types',
    topic,
    sql: "SELECT 0x1F AS hex, 10 / 4 AS div, DIV(10, 4) AS idiv, MOD(-7, 3) AS m, 7 * 3 AS mul, -2 + 0.5 AS mixed, 2 * NUMERIC '1.25' AS num",
    expected: [{ hex: 31, div: 2.5, idiv: 2, m: -1, mul: 21, mixed: -1.5, num: '2.5' }],
    types: ['INT64', 'FLOAT64', 'INT64', 'INT64', 'INT64', 'FLOAT64', 'NUMERIC'],
    note: '/ always returns FLOAT64 for INT64 operands; MOD keeps the sign of the dividend',
  },
  {
    id: 'conditional-functions',
    topic,
    sql: "SELECT user_id, IF(plan = 'pro', 'paying', 'free') AS tier, IFNULL(country, '??') AS country, COALESCE(email, name) AS contact, NULLIF(plan, 'free') AS paid_plan FROM shop.users",
    expected: users.map((u) => ({
      user_id: u.user_id,
      tier: u.plan === 'pro' ? 'paying' : 'free',
      country: u.country ?? '??',
      contact: u.email ?? u.name,
      paid_plan: u.plan === 'free' ? null : u.plan,
    })),
    note: "IF(NULL = 'pro', ...) takes the else branch for u5",
  },
  {
    id: 'in-list-and-in-unnest',
    topic,
    sql: "SELECT COUNT(DISTINCT event_id) AS a, COUNTIF(type IN UNNEST(['view', 'signup'])) AS b FROM shop.events WHERE user_id IN ('u1', 'u4')",
    expected: [
      {
        a: uniqueEvents.filter((e) => e.user_id === 'u1' || e.user_id === 'u4').length,
        b: 4,
      },
    ],
    note: 'b counts rows (not distinct events): u1 views e01, e04; u4 signup e11, view e12',
  },
  {
    id: 'scalar-subquery-and-in-subquery',
    topic,
    sql: 'SELECT name FROM shop.users WHERE user_id IN (SELECT user_id FROM shop.orders WHERE total > (SELECT AVG(total) FROM shop.orders))',
    expected: [{ name: 'Bob Martin' }, { name: 'Dan' }],
    note: 'AVG(total) over the six non-NULL totals = 209.24 / 6 = 34.87; o2 (42) and o4 (100.50) are above',
  },
  {
    id: 'distinct-multiple-columns',
    topic,
    sql: "SELECT DISTINCT user_id, type FROM shop.events WHERE user_id = 'u3'",
    expected: [
      { user_id: 'u3', type: 'view' },
      { user_id: 'u3', type: 'add_to_cart' },
      { user_id: 'u3', type: 'purchase' },
    ],
  },
  {
    id: 'literals-bytes',
    topic,
    sql: "SELECT b'ab' AS b, BYTE_LENGTH(b'ab') AS n, CAST('ab' AS BYTES) = b'ab' AS same",
    expected: [{ b: 'YWI=', n: 2, same: true }],
    types: ['BYTES', 'INT64', 'BOOL'],
    note: 'BYTES come back base64-encoded',
  },
];
