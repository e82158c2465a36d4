/** GROUP BY/HAVING, COUNT(DISTINCT), SUM/AVG types, APPROX functions. */
import type { Case } from '../case';
import { events, uniqueEvents } from '../fixtures';
import { countBy, decimalSum, distinct } from './util';

const topic = 'aggregates';

const userIds = (list: typeof events) => distinct(list.map((e) => e.user_id));
const uniqueQty = uniqueEvents.map((e) => e.qty).filter((q): q is number => q !== null);
const uniquePrice = uniqueEvents.map((e) => e.price).filter((p): p is number => p !== null);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export const aggregateCases: Case[] = [
  {
    id: 'agg-counts',
    topic,
    sql: 'SELECT COUNT(*) AS n, COUNT(DISTINCT event_id) AS events, COUNT(user_id) AS with_user, COUNT(DISTINCT user_id) AS users FROM shop.events',
    expected: [
      {
        n: events.length,
        events: uniqueEvents.length,
        with_user: events.filter((e) => e.user_id !== null).length,
        users: userIds(events).filter((u) => u !== null).length,
      },
    ],
    types: ['INT64', 'INT64', 'INT64', 'INT64'],
  },
  {
    id: 'agg-group-by-type',
    topic,
    sql: 'SELECT type, COUNT(DISTINCT event_id) AS n FROM shop.events GROUP BY type',
    expected: countBy(uniqueEvents, (e) => e.type).map(([type, n]) => ({ type, n })),
    types: ['STRING', 'INT64'],
  },
  {
    id: 'agg-group-by-ordinal-order-by-count',
    topic,
    sql: 'SELECT type, COUNT(*) AS n FROM shop.events GROUP BY 1 ORDER BY n DESC, type',
    expected: countBy(events, (e) => e.type)
      .sort(([ta, a], [tb, b]) => b - a || (ta < tb ? -1 : 1))
      .map(([type, n]) => ({ type, n })),
    ordered: true,
  },
  {
    id: 'agg-having-alias',
    topic,
    sql: "SELECT user_id, COUNT(DISTINCT event_id) AS purchases FROM shop.events WHERE type = 'purchase' GROUP BY user_id HAVING purchases >= 2",
    expected: [{ user_id: 'u3', purchases: 2 }],
  },
  {
    id: 'agg-having-aggregate-not-selected',
    topic,
    sql: 'SELECT user_id FROM shop.events GROUP BY user_id HAVING SUM(qty) > 3',
    expected: userIds(events)
      .filter((u) => events.filter((e) => e.user_id === u).reduce((s, e) => s + (e.qty ?? 0), 0) > 3)
      .map((user_id) => ({ user_id })),
    note: 'u3 (2+2+2+1 with the redelivered e09) and u5 (4); u1 and u4 have exactly 3',
  },
  {
    id: 'agg-duplicate-deliveries',
    topic,
    sql: 'SELECT event_id, COUNT(*) AS deliveries FROM shop.events GROUP BY event_id HAVING COUNT(*) > 1',
    expected: [
      { event_id: 'e03', deliveries: 2 },
      { event_id: 'e09', deliveries: 2 },
    ],
  },
  {
    id: 'agg-sum-numeric',
    topic,
    sql: "SELECT SUM(amount) AS revenue FROM shop.events WHERE type = 'purchase'",
    expected: [{ revenue: decimalSum(events.filter((e) => e.type === 'purchase').map((e) => e.amount)) }],
    types: ['NUMERIC'],
    note: '229.23: includes the redelivered e03',
  },
  {
    id: 'agg-sum-numeric-with-refunds-by-user',
    topic,
    sql: "SELECT user_id, SUM(amount) AS net FROM (SELECT DISTINCT event_id, user_id, amount FROM shop.events WHERE type IN ('purchase', 'refund')) GROUP BY user_id",
    expected: [
      { user_id: 'u1', net: '0' },
      { user_id: 'u2', net: '42' },
      { user_id: 'u3', net: '17.75' },
      { user_id: 'u4', net: '100.5' },
      { user_id: 'u5', net: '29' },
    ],
    types: ['STRING', 'NUMERIC'],
  },
  {
    id: 'agg-avg-numeric-rounds-to-scale-9',
    topic,
    sql: "SELECT AVG(amount) AS avg_amount FROM (SELECT DISTINCT event_id, amount FROM shop.events WHERE type = 'purchase')",
    expected: [{ avg_amount: '34.873333333' }],
    types: ['NUMERIC'],
    note: 'AVG(NUMERIC) is NUMERIC: 209.24 / 6 = 34.87333..., rounded to 9 decimal places',
  },
  {
    id: 'agg-avg-int64-is-float64',
    topic,
    sql: "SELECT AVG(qty) AS avg_qty, SUM(qty) AS sum_qty, AVG(IF(event_id = 'e09', qty, NULL)) AS e09 FROM (SELECT DISTINCT event_id, qty FROM shop.events)",
    expected: [{ avg_qty: mean(uniqueQty), sum_qty: uniqueQty.reduce((a, b) => a + b, 0), e09: 2 }],
    types: ['FLOAT64', 'INT64', 'FLOAT64'],
  },
  {
    id: 'agg-avg-sum-float64',
    topic,
    sql: 'SELECT AVG(price) AS avg_price, SUM(price) AS sum_price, MIN(price) AS min_price, MAX(price) AS max_price FROM (SELECT DISTINCT event_id, price FROM shop.events)',
    expected: [{ avg_price: mean(uniquePrice), sum_price: uniquePrice.reduce((a, b) => a + b, 0), min_price: 2.75, max_price: 42 }],
    types: ['FLOAT64', 'FLOAT64', 'FLOAT64', 'FLOAT64'],
  },
  {
    id: 'agg-min-max-timestamp-numeric-string',
    topic,
    sql: 'SELECT MIN(ts) AS first_ts, MAX(ts) AS last_ts, MIN(amount) AS min_amount, MAX(amount) AS max_amount, MIN(subject) AS min_subject, MAX(day) AS max_day FROM shop.events',
    expected: [
      {
        first_ts: '2023-12-31T23:30:00.000000Z',
        last_ts: '2024-12-31T23:59:59.000000Z',
        min_amount: '-19.99',
        max_amount: '100.5',
        min_subject: 'o1',
        max_day: '2024-12-31',
      },
    ],
    types: ['TIMESTAMP', 'TIMESTAMP', 'NUMERIC', 'NUMERIC', 'STRING', 'DATE'],
  },
  {
    id: 'agg-empty-input',
    topic,
    sql: "SELECT COUNT(*) AS n, SUM(qty) AS s, AVG(price) AS a, MAX(ts) AS m, COUNT(DISTINCT user_id) AS u FROM shop.events WHERE type = 'nothing'",
    expected: [{ n: 0, s: null, a: null, m: null, u: 0 }],
    types: ['INT64', 'INT64', 'FLOAT64', 'TIMESTAMP', 'INT64'],
  },
  {
    id: 'agg-countif-per-user',
    topic,
    sql: "SELECT user_id, COUNTIF(type = 'view') AS views, COUNTIF(type = 'purchase') AS purchases FROM (SELECT DISTINCT event_id, user_id, type FROM shop.events) WHERE user_id IS NOT NULL GROUP BY user_id",
    expected: userIds(uniqueEvents)
      .filter((u) => u !== null)
      .map((user_id) => ({
        user_id,
        views: uniqueEvents.filter((e) => e.user_id === user_id && e.type === 'view').length,
        purchases: uniqueEvents.filter((e) => e.user_id === user_id && e.type === 'purchase').length,
      })),
    types: ['STRING', 'INT64', 'INT64'],
  },
  {
    id: 'agg-logical-or-and',
    topic,
    sql: "SELECT user_id, LOGICAL_OR(type = 'refund') AS refunded, LOGICAL_AND(price IS NOT NULL) AS all_priced FROM shop.events WHERE user_id IN ('u1', 'u2') GROUP BY user_id",
    expected: [
      { user_id: 'u1', refunded: true, all_priced: false },
      { user_id: 'u2', refunded: false, all_priced: true },
    ],
    types: ['STRING', 'BOOL', 'BOOL'],
  },
  {
    id: 'agg-daily-active-users',
    topic,
    sql: 'SELECT DATE(ts) AS d, COUNT(DISTINCT user_id) AS dau FROM shop.events GROUP BY d ORDER BY d',
    expected: distinct(events.map((e) => e.ts.slice(0, 10)))
      .sort()
      .map((d) => ({ d, dau: distinct(events.filter((e) => e.ts.startsWith(d) && e.user_id).map((e) => e.user_id)).length })),
    types: ['DATE', 'INT64'],
    ordered: true,
  },
  {
    id: 'agg-count-distinct-per-type-having',
    topic,
    sql: 'SELECT type, COUNT(DISTINCT user_id) AS users FROM shop.events GROUP BY type HAVING COUNT(DISTINCT user_id) >= 4 ORDER BY users DESC, type',
    expected: [
      { type: 'view', users: 5 },
      { type: 'purchase', users: 5 },
      { type: 'add_to_cart', users: 4 },
    ].sort((a, b) => b.users - a.users || (a.type < b.type ? -1 : 1)),
    ordered: true,
    note: 'COUNT(DISTINCT) ignores the NULL user of e18',
  },
  {
    id: 'agg-string-agg-distinct-ordered',
    topic,
    sql: "SELECT STRING_AGG(DISTINCT type, ',' ORDER BY type) AS types, STRING_AGG(event_id, '|' ORDER BY ts DESC LIMIT 2) AS latest FROM shop.events WHERE user_id = 'u1'",
    expected: [{ types: 'add_to_cart,purchase,refund,view', latest: 'e17|e04' }],
    types: ['STRING', 'STRING'],
  },
  {
    id: 'agg-rollup',
    topic,
    sql: 'SELECT type, COUNT(DISTINCT event_id) AS n FROM shop.events GROUP BY ROLLUP(type)',
    expected: [...countBy(uniqueEvents, (e) => e.type).map(([type, n]) => ({ type, n })), { type: null, n: uniqueEvents.length }],
  },
  {
    id: 'agg-approx-count-distinct',
    topic,
    sql: 'SELECT APPROX_COUNT_DISTINCT(user_id) AS users, APPROX_COUNT_DISTINCT(event_id) AS events FROM shop.events',
    expected: [{ users: 5, events: 20 }],
    types: ['INT64', 'INT64'],
    note: 'HyperLogLog++ is exact at this cardinality',
  },
  {
    id: 'agg-approx-quantiles-quartiles',
    topic,
    sql: 'SELECT APPROX_QUANTILES(qty, 4) AS q FROM (SELECT DISTINCT event_id, qty FROM shop.events) WHERE qty IS NOT NULL',
    expected: [{ q: [1, 1, 1, 2, 4] }],
    types: ['ARRAY<INT64>'],
    note: 'values 1,1,1,1,1,2,2,3,4: every rank-based choice of the quartiles gives 1, 1, 2',
  },
  {
    id: 'agg-approx-quantiles-median-offset',
    topic,
    sql: 'SELECT APPROX_QUANTILES(x, 2)[OFFSET(1)] AS median, APPROX_QUANTILES(x, 4) AS q FROM UNNEST([5, 1, 3, 2, 4]) AS x',
    expected: [{ median: 3, q: [1, 2, 3, 4, 5] }],
    types: ['INT64', 'ARRAY<INT64>'],
  },
  {
    id: 'agg-approx-top-count',
    topic,
    sql: 'SELECT APPROX_TOP_COUNT(type, 2) AS top FROM (SELECT DISTINCT event_id, type FROM shop.events)',
    expected: [
      {
        top: [
          { value: 'view', count: 8 },
          { value: 'purchase', count: 6 },
        ],
      },
    ],
    types: ['ARRAY<STRUCT>'],
  },
  {
    id: 'agg-approx-top-sum',
    topic,
    sql: "SELECT APPROX_TOP_SUM(user_id, qty, 2) AS top FROM (SELECT DISTINCT event_id, user_id, qty FROM shop.events WHERE type IN ('add_to_cart', 'purchase') AND qty IS NOT NULL)",
    expected: [
      {
        top: [
          { value: 'u3', sum: 5 },
          { value: 'u5', sum: 4 },
        ],
      },
    ],
    types: ['ARRAY<STRUCT>'],
    note: 'qty per user: u1 1+1, u2 1+1, u3 2+2+1, u4 3, u5 4',
  },
  {
    id: 'agg-revenue-per-country-join',
    topic,
    sql: "SELECT u.country, SUM(o.total) AS revenue, COUNT(*) AS orders FROM shop.orders AS o JOIN shop.users AS u USING (user_id) WHERE o.status != 'cancelled' GROUP BY u.country",
    expected: [
      { country: 'DE', revenue: '37.74', orders: 3 },
      { country: 'FR', revenue: '42', orders: 1 },
      { country: 'US', revenue: '100.5', orders: 1 },
      { country: null, revenue: '29', orders: 1 },
    ],
    types: ['STRING', 'NUMERIC', 'INT64'],
    note: 'users.country: o1 u1 DE 19.99, o3 u3 DE 5.50, o6 u3 DE 12.25, o2 u2 FR, o4 u4 US, o5 u5 NULL; o7 has no user',
  },
  {
    id: 'agg-stddev-variance',
    topic,
    sql: 'SELECT STDDEV_POP(x) AS sd_pop, VAR_SAMP(x) AS var_samp, STDDEV(x) AS sd FROM UNNEST([2, 4, 4, 4, 5, 5, 7, 9]) AS x',
    expected: [{ sd_pop: 2, var_samp: 32 / 7, sd: Math.sqrt(32 / 7) }],
    types: ['FLOAT64', 'FLOAT64', 'FLOAT64'],
  },
  {
    id: 'agg-group-by-expression-and-case',
    topic,
    sql: "SELECT CASE WHEN price >= 20 THEN 'high' WHEN price IS NULL THEN 'none' ELSE 'low' END AS band, COUNT(DISTINCT event_id) AS n FROM shop.events GROUP BY band",
    expected: countBy(uniqueEvents, (e) => (e.price === null ? 'none' : e.price >= 20 ? 'high' : 'low')).map(([band, n]) => ({ band, n })),
  },
  {
    id: 'agg-approx-count-distinct-per-day',
    topic,
    sql: 'SELECT DATE(ts) AS d, APPROX_COUNT_DISTINCT(user_id) AS dau FROM shop.events GROUP BY d',
    expected: distinct(events.map((e) => e.ts.slice(0, 10))).map((d) => ({
      d,
      dau: distinct(events.filter((e) => e.ts.startsWith(d) && e.user_id).map((e) => e.user_id)).length,
    })),
    types: ['DATE', 'INT64'],
  },
];
