/** Window functions and QUALIFY: dedup, top-N per group, running totals, percent of total, LAG/LEAD. */
import { T, type Case } from '../case';
import { uniqueEvents } from '../fixtures';
import { countBy, decimalSum } from './util';

const topic = 'windows';

const purchases = uniqueEvents.filter((e) => e.type === 'purchase');
const u1 = uniqueEvents.filter((e) => e.user_id === 'u1').sort((a, b) => (a.ts < b.ts ? -1 : 1));

export const windowCases: Case[] = [
  {
    id: 'win-dedup-qualify-row-number',
    topic,
    sql: 'SELECT event_id, received_at FROM shop.events WHERE TRUE QUALIFY ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY received_at) = 1',
    expected: uniqueEvents.map((e) => ({ event_id: e.event_id, received_at: T(e.received_at) })),
    types: ['STRING', 'TIMESTAMP'],
    note: 'the first delivery of each event: e03 and e09 keep the earlier received_at',
  },
  {
    id: 'win-dedup-subquery-row-number',
    topic,
    sql: 'SELECT COUNT(*) AS n, SUM(qty) AS qty FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY received_at DESC) AS rn FROM shop.events) WHERE rn = 1',
    expected: [{ n: uniqueEvents.length, qty: uniqueEvents.reduce((s, e) => s + (e.qty ?? 0), 0) }],
    types: ['INT64', 'INT64'],
  },
  {
    id: 'win-top-purchase-per-user',
    topic,
    sql: "SELECT user_id, event_id, amount FROM shop.events WHERE type = 'purchase' QUALIFY ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY amount DESC, received_at) = 1",
    expected: [
      { user_id: 'u1', event_id: 'e03', amount: '19.99' },
      { user_id: 'u2', event_id: 'e07', amount: '42' },
      { user_id: 'u3', event_id: 'e20', amount: '12.25' },
      { user_id: 'u4', event_id: 'e13', amount: '100.5' },
      { user_id: 'u5', event_id: 'e16', amount: '29' },
    ],
    types: ['STRING', 'STRING', 'NUMERIC'],
  },
  {
    id: 'win-top-type-per-user-rank',
    topic,
    sql: "SELECT user_id, type, n FROM (SELECT user_id, type, COUNT(DISTINCT event_id) AS n FROM shop.events WHERE user_id IN ('u1', 'u3') GROUP BY user_id, type) WHERE TRUE QUALIFY RANK() OVER (PARTITION BY user_id ORDER BY n DESC) = 1",
    expected: [
      { user_id: 'u1', type: 'view', n: 2 },
      { user_id: 'u3', type: 'view', n: 1 },
      { user_id: 'u3', type: 'add_to_cart', n: 1 },
      { user_id: 'u3', type: 'purchase', n: 2 },
    ].filter((r) => !(r.user_id === 'u3' && r.n === 1)),
    note: 'u1: view 2, others 1; u3: purchase 2 (e10, e20), view and add_to_cart 1',
  },
  {
    id: 'win-running-total-numeric',
    topic,
    sql: "SELECT event_id, SUM(amount) OVER (ORDER BY ts) AS running FROM (SELECT DISTINCT event_id, ts, amount FROM shop.events WHERE type = 'purchase') ORDER BY ts",
    expected: [...purchases]
      .sort((a, b) => (a.ts < b.ts ? -1 : 1))
      .map((e, i, all) => ({ event_id: e.event_id, running: decimalSum(all.slice(0, i + 1).map((x) => x.amount)) })),
    types: ['STRING', 'NUMERIC'],
    ordered: true,
  },
  {
    id: 'win-running-count-per-user',
    topic,
    sql: "SELECT event_id, COUNT(*) OVER (PARTITION BY user_id ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS nth FROM (SELECT DISTINCT event_id, user_id, ts FROM shop.events) WHERE user_id = 'u1' ORDER BY ts",
    expected: u1.map((e, i) => ({ event_id: e.event_id, nth: i + 1 })),
    ordered: true,
  },
  {
    id: 'win-percent-of-total',
    topic,
    sql: 'SELECT type, ROUND(100 * COUNT(*) / SUM(COUNT(*)) OVER (), 1) AS pct FROM (SELECT DISTINCT event_id, type FROM shop.events) GROUP BY type',
    expected: countBy(uniqueEvents, (e) => e.type).map(([type, n]) => ({ type, pct: Math.round((1000 * n) / uniqueEvents.length) / 10 })),
    types: ['STRING', 'FLOAT64'],
    note: 'view 40, purchase 30, add_to_cart 20, signup 5, refund 5',
  },
  {
    id: 'win-lag-lead',
    topic,
    sql: "SELECT event_id, LAG(type) OVER w AS prev_type, LEAD(event_id) OVER w AS next_id, LAG(type, 1, 'start') OVER w AS prev_or_start FROM (SELECT DISTINCT event_id, user_id, type, ts FROM shop.events) WHERE user_id = 'u1' WINDOW w AS (PARTITION BY user_id ORDER BY ts)",
    expected: u1.map((e, i) => ({
      event_id: e.event_id,
      prev_type: i ? u1[i - 1].type : null,
      next_id: i + 1 < u1.length ? u1[i + 1].event_id : null,
      prev_or_start: i ? u1[i - 1].type : 'start',
    })),
  },
  {
    id: 'win-time-since-previous-event',
    topic,
    sql: "SELECT event_id, TIMESTAMP_DIFF(ts, LAG(ts) OVER (PARTITION BY user_id ORDER BY ts), SECOND) AS gap FROM (SELECT DISTINCT event_id, user_id, ts FROM shop.events) WHERE user_id = 'u4'",
    expected: [
      { event_id: 'e11', gap: null },
      { event_id: 'e12', gap: 2700 },
      { event_id: 'e13', gap: 1800 },
    ],
  },
  {
    id: 'win-first-last-value',
    topic,
    sql: 'SELECT DISTINCT user_id, FIRST_VALUE(type) OVER w AS first_type, LAST_VALUE(type) OVER w AS last_type FROM shop.events WHERE user_id IS NOT NULL WINDOW w AS (PARTITION BY user_id ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)',
    expected: [
      { user_id: 'u1', first_type: 'view', last_type: 'refund' },
      { user_id: 'u2', first_type: 'view', last_type: 'view' },
      { user_id: 'u3', first_type: 'view', last_type: 'purchase' },
      { user_id: 'u4', first_type: 'signup', last_type: 'purchase' },
      { user_id: 'u5', first_type: 'view', last_type: 'purchase' },
    ],
  },
  {
    id: 'win-rank-dense-rank-ties',
    topic,
    sql: 'SELECT order_id, RANK() OVER (ORDER BY country) AS r, DENSE_RANK() OVER (ORDER BY country) AS dr, ROW_NUMBER() OVER (ORDER BY country, order_id) AS rn FROM shop.orders ORDER BY rn',
    expected: [
      { order_id: 'o4', r: 1, dr: 1, rn: 1 },
      { order_id: 'o1', r: 2, dr: 2, rn: 2 },
      { order_id: 'o3', r: 2, dr: 2, rn: 3 },
      { order_id: 'o6', r: 2, dr: 2, rn: 4 },
      { order_id: 'o2', r: 5, dr: 3, rn: 5 },
      { order_id: 'o5', r: 6, dr: 4, rn: 6 },
      { order_id: 'o7', r: 6, dr: 4, rn: 7 },
    ],
    types: ['STRING', 'INT64', 'INT64', 'INT64'],
    ordered: true,
    note: 'orders.country: o4 NULL sorts first; DE o1 o3 o6; FR o2; US o5 o7',
  },
  {
    id: 'win-ntile-percent-rank-cume-dist',
    topic,
    sql: 'SELECT x, NTILE(2) OVER (ORDER BY x) AS half, PERCENT_RANK() OVER (ORDER BY x) AS pr, CUME_DIST() OVER (ORDER BY x) AS cd FROM UNNEST([10, 20, 20, 40, 50]) AS x ORDER BY x',
    expected: [
      { x: 10, half: 1, pr: 0, cd: 0.2 },
      { x: 20, half: 1, pr: 0.25, cd: 0.6 },
      { x: 20, half: 1, pr: 0.25, cd: 0.6 },
      { x: 40, half: 2, pr: 0.75, cd: 0.8 },
      { x: 50, half: 2, pr: 1, cd: 1 },
    ],
    types: ['INT64', 'INT64', 'FLOAT64', 'FLOAT64'],
    ordered: true,
    note: 'NTILE gives the first bucket the extra row (3 + 2)',
  },
  {
    id: 'win-moving-average-rows',
    topic,
    sql: 'SELECT x, AVG(x) OVER (ORDER BY x ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS ma FROM UNNEST([1, 2, 4, 8]) AS x ORDER BY x',
    expected: [
      { x: 1, ma: 1 },
      { x: 2, ma: 1.5 },
      { x: 4, ma: 3 },
      { x: 8, ma: 6 },
    ],
    types: ['INT64', 'FLOAT64'],
    ordered: true,
  },
  {
    id: 'win-range-last-hour-per-user',
    topic,
    sql: "SELECT event_id, COUNT(*) OVER (PARTITION BY user_id ORDER BY UNIX_SECONDS(ts) RANGE BETWEEN 3600 PRECEDING AND CURRENT ROW) AS in_last_hour FROM (SELECT DISTINCT event_id, user_id, ts FROM shop.events) WHERE user_id = 'u1'",
    expected: [
      { event_id: 'e01', in_last_hour: 1 },
      { event_id: 'e02', in_last_hour: 2 },
      { event_id: 'e03', in_last_hour: 3 },
      { event_id: 'e04', in_last_hour: 2 },
      { event_id: 'e17', in_last_hour: 1 },
    ],
    note: 'e03 (00:10:00) looks back to 23:10:00: e01, e02, e03; e04 (01:00:00) back to 00:00:00: e03, e04',
  },
  {
    id: 'win-count-partition-no-order',
    topic,
    sql: "SELECT DISTINCT user_id, COUNT(*) OVER (PARTITION BY user_id) AS deliveries FROM shop.events WHERE type = 'add_to_cart'",
    expected: [
      { user_id: 'u1', deliveries: 1 },
      { user_id: 'u2', deliveries: 1 },
      { user_id: 'u3', deliveries: 2 },
      { user_id: 'u5', deliveries: 1 },
    ],
  },
  {
    id: 'win-qualify-redelivered-rows',
    topic,
    sql: 'SELECT event_id, received_at FROM shop.events WHERE TRUE QUALIFY COUNT(*) OVER (PARTITION BY event_id) > 1 AND ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY received_at) > 1',
    expected: [
      { event_id: 'e03', received_at: T('2024-02-29 00:15:00.123456') },
      { event_id: 'e09', received_at: T('2024-03-04 00:01:00') },
    ],
  },
  {
    id: 'win-nth-value-and-share-of-user-total',
    topic,
    sql: "SELECT event_id, NTH_VALUE(event_id, 2) OVER (ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS second_purchase, qty / SUM(qty) OVER () AS share FROM (SELECT DISTINCT event_id, ts, qty FROM shop.events WHERE type = 'purchase' AND user_id IN ('u3', 'u4'))",
    expected: [
      { event_id: 'e13', second_purchase: 'e10', share: 3 / 6 },
      { event_id: 'e10', second_purchase: 'e10', share: 2 / 6 },
      { event_id: 'e20', second_purchase: 'e10', share: 1 / 6 },
    ],
    types: ['STRING', 'STRING', 'FLOAT64'],
  },
  {
    id: 'win-sessionize-30-minute-gap',
    topic,
    sql: `WITH e AS (SELECT DISTINCT event_id, user_id, ts FROM shop.events WHERE user_id IS NOT NULL),
      marked AS (SELECT *, IF(TIMESTAMP_DIFF(ts, LAG(ts) OVER (PARTITION BY user_id ORDER BY ts), SECOND) <= 1800, 0, 1) AS new_session FROM e),
      numbered AS (SELECT *, SUM(new_session) OVER (PARTITION BY user_id ORDER BY ts) AS session_no FROM marked)
      SELECT user_id, MAX(session_no) AS sessions FROM numbered GROUP BY user_id`,
    expected: [
      { user_id: 'u1', sessions: 3 },
      { user_id: 'u2', sessions: 4 },
      { user_id: 'u3', sessions: 2 },
      { user_id: 'u4', sessions: 2 },
      { user_id: 'u5', sessions: 1 },
    ],
    types: ['STRING', 'INT64'],
    note: 'a gap of exactly 30 minutes (u4 e12->e13, u5 e15->e16) stays in the session; the first event has a NULL gap -> new session',
  },
  {
    id: 'win-order-nulls-last-in-window',
    topic,
    sql: 'SELECT user_id, ROW_NUMBER() OVER (ORDER BY country NULLS LAST, user_id) AS rn FROM shop.users',
    expected: [
      { user_id: 'u1', rn: 1 },
      { user_id: 'u3', rn: 2 },
      { user_id: 'u2', rn: 3 },
      { user_id: 'u4', rn: 4 },
      { user_id: 'u5', rn: 5 },
    ],
    types: ['STRING', 'INT64'],
  },
];
