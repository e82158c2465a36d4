/** Analyst questions end to end: funnels, retention, time to convert, cohorts. */
import type { Case } from '../case';
import { events, users } from '../fixtures';

const topic = 'funnels';

export const funnelCases: Case[] = [
  {
    id: 'funnel-ordered-within-one-hour',
    topic,
    sql: `SELECT DISTINCT v.user_id
      FROM shop.events AS v
      JOIN shop.events AS a ON a.user_id = v.user_id AND a.type = 'add_to_cart' AND a.ts > v.ts
      JOIN shop.events AS p ON p.user_id = v.user_id AND p.type = 'purchase' AND p.ts > a.ts AND p.ts <= TIMESTAMP_ADD(v.ts, INTERVAL 1 HOUR)
      WHERE v.type = 'view'`,
    expected: [{ user_id: 'u1' }, { user_id: 'u3' }, { user_id: 'u5' }],
    note: 'u2 took 2.5 hours from view to purchase; u4 bought without adding to the cart',
  },
  {
    id: 'funnel-step-counts',
    topic,
    sql: "SELECT COUNT(DISTINCT IF(type = 'view', user_id, NULL)) AS viewed, COUNT(DISTINCT IF(type = 'add_to_cart', user_id, NULL)) AS carted, COUNT(DISTINCT IF(type = 'purchase', user_id, NULL)) AS bought FROM shop.events",
    expected: [{ viewed: 5, carted: 4, bought: 5 }],
    types: ['INT64', 'INT64', 'INT64'],
  },
  {
    id: 'funnel-window-next-steps',
    topic,
    sql: `WITH e AS (SELECT event_id, user_id, type, ts FROM shop.events WHERE user_id IS NOT NULL QUALIFY ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY received_at) = 1)
      SELECT user_id FROM (
        SELECT user_id, type, LEAD(type) OVER w AS next1, LEAD(type, 2) OVER w AS next2, LEAD(ts, 2) OVER w AS ts2, ts FROM e WINDOW w AS (PARTITION BY user_id ORDER BY ts))
      WHERE type = 'view' AND next1 = 'add_to_cart' AND next2 = 'purchase' AND TIMESTAMP_DIFF(ts2, ts, MINUTE) < 60`,
    expected: [{ user_id: 'u1' }, { user_id: 'u3' }, { user_id: 'u5' }],
  },
  {
    id: 'funnel-minutes-to-first-purchase',
    topic,
    sql: `SELECT user_id, TIMESTAMP_DIFF(MIN(IF(type = 'purchase', ts, NULL)), MIN(IF(type = 'view', ts, NULL)), MINUTE) AS minutes
      FROM shop.events WHERE user_id IS NOT NULL GROUP BY user_id`,
    expected: [
      { user_id: 'u1', minutes: 20 },
      { user_id: 'u2', minutes: 150 },
      { user_id: 'u3', minutes: 20 },
      { user_id: 'u4', minutes: 30 },
      { user_id: 'u5', minutes: 40 },
    ],
    types: ['STRING', 'INT64'],
    note: 'u3: 2024-03-03 23:59:59.999999 -> 2024-03-04 00:20:00 is 20 minutes and 1 microsecond',
  },
  {
    id: 'funnel-active-in-feb-and-march',
    topic,
    sql: `SELECT user_id FROM shop.events WHERE user_id IS NOT NULL GROUP BY user_id
      HAVING COUNTIF(DATE_TRUNC(DATE(ts), MONTH) = '2024-02-01') > 0 AND COUNTIF(DATE_TRUNC(DATE(ts), MONTH) = '2024-03-01') > 0`,
    expected: [{ user_id: 'u1' }, { user_id: 'u2' }],
  },
  {
    id: 'funnel-next-day-retention',
    topic,
    sql: `WITH first_day AS (SELECT user_id, MIN(DATE(ts)) AS d0 FROM shop.events WHERE user_id IS NOT NULL GROUP BY user_id)
      SELECT COUNT(*) AS cohort, COUNTIF(came_back) AS retained FROM (
        SELECT f.user_id, EXISTS(SELECT 1 FROM shop.events AS e WHERE e.user_id = f.user_id AND DATE(e.ts) = DATE_ADD(f.d0, INTERVAL 1 DAY)) AS came_back
        FROM first_day AS f)`,
    expected: [{ cohort: 5, retained: 4 }],
    note: 'u1 Feb 28 -> Feb 29, u2 Feb 29 -> Mar 1, u3 Mar 3 -> Mar 4, u4 Dec 31 -> Jan 1; u5 only Jan 31',
  },
  {
    id: 'funnel-retention-join-form',
    topic,
    sql: `WITH first_day AS (SELECT user_id, MIN(DATE(ts)) AS d0 FROM shop.events WHERE user_id IS NOT NULL GROUP BY user_id)
      SELECT f.user_id, COUNT(DISTINCT e.event_id) AS next_day_events
      FROM first_day AS f LEFT JOIN shop.events AS e ON e.user_id = f.user_id AND DATE(e.ts) = DATE_ADD(f.d0, INTERVAL 1 DAY)
      GROUP BY f.user_id`,
    expected: [
      { user_id: 'u1', next_day_events: 2 },
      { user_id: 'u2', next_day_events: 1 },
      { user_id: 'u3', next_day_events: 2 },
      { user_id: 'u4', next_day_events: 2 },
      { user_id: 'u5', next_day_events: 0 },
    ],
    note: 'u1 Feb 29: e03, e04; u2 Mar 1: e07; u3 Mar 4: e09, e10; u4 Jan 1: e12, e13; u5 none (COUNT(DISTINCT NULL) = 0)',
  },
  {
    id: 'funnel-signup-cohort-revenue',
    topic,
    sql: `SELECT FORMAT_DATE('%Y-%m', u.signup_date) AS cohort, COUNT(DISTINCT u.user_id) AS users, SUM(o.total) AS revenue
      FROM shop.users AS u LEFT JOIN shop.orders AS o ON o.user_id = u.user_id AND o.status = 'paid'
      GROUP BY cohort ORDER BY cohort`,
    expected: [
      { cohort: '2023-11', users: 1, revenue: null },
      { cohort: '2023-12', users: 1, revenue: '100.5' },
      { cohort: '2024-01', users: 1, revenue: '29' },
      { cohort: '2024-02', users: 1, revenue: '42' },
      { cohort: '2024-03', users: 1, revenue: '5.5' },
    ],
    types: ['STRING', 'INT64', 'NUMERIC'],
    ordered: true,
  },
  {
    id: 'funnel-purchases-per-day-deduplicated',
    topic,
    sql: `SELECT DATE(ts) AS d, COUNT(*) AS purchases, SUM(amount) AS revenue FROM shop.events
      WHERE type = 'purchase' QUALIFY ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY received_at) = 1`,
    expectedError: /QUALIFY|aggregat|window/i,
    note: 'QUALIFY filters after aggregation: mixing an aggregate query with a window over ungrouped columns is an error',
  },
  {
    id: 'funnel-purchases-per-day-dedup-cte',
    topic,
    sql: `WITH p AS (SELECT * FROM shop.events WHERE type = 'purchase' QUALIFY ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY received_at) = 1)
      SELECT DATE(ts) AS d, COUNT(*) AS purchases, SUM(amount) AS revenue FROM p GROUP BY d`,
    expected: [
      { d: '2024-01-01', purchases: 1, revenue: '100.5' },
      { d: '2024-01-31', purchases: 1, revenue: '29' },
      { d: '2024-02-29', purchases: 1, revenue: '19.99' },
      { d: '2024-03-01', purchases: 1, revenue: '42' },
      { d: '2024-03-04', purchases: 1, revenue: '5.5' },
      { d: '2024-12-31', purchases: 1, revenue: '12.25' },
    ],
    types: ['DATE', 'INT64', 'NUMERIC'],
  },
  {
    id: 'funnel-users-without-purchase-after-cart',
    topic,
    sql: `SELECT DISTINCT a.user_id FROM shop.events AS a
      WHERE a.type = 'add_to_cart' AND NOT EXISTS (
        SELECT 1 FROM shop.events AS p WHERE p.user_id = a.user_id AND p.type = 'purchase' AND p.ts BETWEEN a.ts AND TIMESTAMP_ADD(a.ts, INTERVAL 30 MINUTE))`,
    expected: [{ user_id: 'u2' }],
    note: 'abandoned carts: u2 bought 1h45 after adding; u5 bought exactly 30 minutes later (BETWEEN is inclusive)',
  },
  {
    id: 'funnel-plan-conversion',
    topic,
    sql: `SELECT IFNULL(u.plan, 'unknown') AS plan_name, COUNT(DISTINCT u.user_id) AS users, COUNT(DISTINCT IF(e.type = 'purchase', e.user_id, NULL)) AS buyers
      FROM shop.users AS u LEFT JOIN shop.events AS e USING (user_id) GROUP BY plan_name`,
    expected: [
      { plan_name: 'pro', users: 2, buyers: 2 },
      { plan_name: 'free', users: 2, buyers: 2 },
      { plan_name: 'unknown', users: 1, buyers: 1 },
    ],
  },
  {
    id: 'funnel-weekly-active-users',
    topic,
    sql: "SELECT DATE_TRUNC(DATE(ts), WEEK(MONDAY)) AS week, COUNT(DISTINCT user_id) AS wau FROM shop.events WHERE ts >= '2024-02-26' AND ts < '2024-03-11' GROUP BY week ORDER BY week",
    expected: [
      { week: '2024-02-26', wau: 3 },
      { week: '2024-03-04', wau: 2 },
    ],
    ordered: true,
    note: 'week of Feb 26: u1, u2, u3 (e08 on Sunday Mar 3); week of Mar 4: u1 (e17), u3 (e09, e10); e18 has no user',
  },
  {
    id: 'funnel-first-touch-referrer',
    topic,
    sql: `SELECT user_id, JSON_VALUE(ARRAY_AGG(payload ORDER BY ts LIMIT 1)[OFFSET(0)], '$.ref') AS first_ref
      FROM shop.events WHERE user_id IS NOT NULL AND type = 'view' GROUP BY user_id`,
    expected: [
      { user_id: 'u1', first_ref: 'google' },
      { user_id: 'u2', first_ref: 'newsletter' },
      { user_id: 'u3', first_ref: null },
      { user_id: 'u4', first_ref: 'google' },
      { user_id: 'u5', first_ref: 'google' },
    ],
  },
  {
    id: 'funnel-users-table-coverage',
    topic,
    sql: 'SELECT COUNTIF(u.user_id IS NOT NULL) AS known, COUNTIF(e.user_id IS NULL) AS anonymous FROM shop.events AS e LEFT JOIN shop.users AS u ON u.user_id = e.user_id',
    expected: [{ known: events.filter((e) => users.some((u) => u.user_id === e.user_id)).length, anonymous: 1 }],
    note: 'rows (22) whose user is in users: all but e18',
  },
];
