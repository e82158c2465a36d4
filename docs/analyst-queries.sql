-- The example queries of docs/analysts.md, in BigQuery SQL. They run unchanged in BigQuery and on
-- the local endpoint (`npm run mesh -- query --example <name>`), and the tests run exactly this text.
-- Each query starts with a "-- name:" line; the "--" lines after it describe it.

-- name: events_per_type_per_hour
-- Events per topic, type and hour over the last 7 days. Reads the events tables directly (the
-- partition filter on event_time prunes partitions) and counts distinct event ids, so redeliveries
-- count once without going through the dedup views.
SELECT
  TIMESTAMP_TRUNC(event_time, HOUR) AS hour,
  topic,
  event_type,
  COUNT(DISTINCT event_id) AS events
FROM (
  SELECT 'analytics' AS topic, event_time, event_type, event_id FROM `event_mesh.analytics_events`
  UNION ALL
  SELECT 'orders' AS topic, event_time, event_type, event_id FROM `event_mesh.orders_events`
)
WHERE event_time >= TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 7 DAY)
GROUP BY hour, topic, event_type
ORDER BY hour, topic, event_type

-- name: funnel
-- View -> click -> like funnel per user and session over the last day: how many sessions viewed a
-- post, clicked after their first view, and liked after their first click.
WITH steps AS (
  SELECT
    user_id,
    session_id,
    MIN(IF(event_type = 'view', event_time, NULL)) AS viewed_at,
    MIN(IF(event_type = 'click', event_time, NULL)) AS clicked_at,
    MIN(IF(event_type = 'like.created', event_time, NULL)) AS liked_at
  FROM `event_mesh.analytics_events_dedup`
  WHERE event_time >= TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)
  GROUP BY user_id, session_id
)
SELECT
  COUNTIF(viewed_at IS NOT NULL) AS viewed,
  COUNTIF(clicked_at >= viewed_at) AS clicked,
  COUNTIF(liked_at >= clicked_at AND clicked_at >= viewed_at) AS liked,
  ROUND(SAFE_DIVIDE(COUNTIF(liked_at >= clicked_at AND clicked_at >= viewed_at), COUNTIF(viewed_at IS NOT NULL)), 3) AS view_to_like_rate
FROM steps

-- name: stuck_orders
-- Orders paid more than 30 minutes ago that were never shipped (nor cancelled), oldest first.
SELECT
  order_id,
  ANY_VALUE(customer_id) AS customer_id,
  MAX(IF(event_type = 'order.paid', event_time, NULL)) AS paid_at,
  TIMESTAMP_DIFF(CURRENT_TIMESTAMP(), MAX(IF(event_type = 'order.paid', event_time, NULL)), MINUTE) AS minutes_since_paid
FROM `event_mesh.orders_events_dedup`
WHERE event_time >= TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 7 DAY)
GROUP BY order_id
HAVING COUNTIF(event_type = 'order.paid') > 0
  AND COUNTIF(event_type IN ('order.shipped', 'order.cancelled')) = 0
  AND MAX(IF(event_type = 'order.paid', event_time, NULL)) < TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 30 MINUTE)
ORDER BY paid_at, order_id

-- name: late_events
-- Events that reached Pub/Sub more than 60 seconds after they happened (publish_time - event_time),
-- latest first: producers with clock skew or buffering.
SELECT
  topic,
  event_id,
  event_type,
  source,
  event_time,
  publish_time,
  TIMESTAMP_DIFF(publish_time, event_time, SECOND) AS lateness_seconds
FROM (
  SELECT 'analytics' AS topic, event_id, event_type, source, event_time, publish_time FROM `event_mesh.analytics_events_dedup`
  UNION ALL
  SELECT 'orders' AS topic, event_id, event_type, source, event_time, publish_time FROM `event_mesh.orders_events_dedup`
)
WHERE event_time >= TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)
  AND TIMESTAMP_DIFF(publish_time, event_time, SECOND) > 60
ORDER BY lateness_seconds DESC, event_id
LIMIT 100

-- name: shipped_by_carrier
-- Shipments per carrier over the last 7 days, read from the raw JSON payload: works for rows loaded
-- before the carrier column existed too (the alias differs from the column name on purpose).
SELECT
  JSON_VALUE(data, '$.carrier') AS shipping_carrier,
  COUNT(*) AS shipped,
  SUM(amount_cents) / 100 AS amount
FROM `event_mesh.orders_events_dedup`
WHERE event_type = 'order.shipped'
  AND event_time >= TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 7 DAY)
GROUP BY shipping_carrier
ORDER BY shipped DESC, shipping_carrier

-- name: dead_letters_by_reason
-- What the consumers gave up on in the last 7 days, by consumer and reason.
SELECT
  consumer,
  topic,
  reason,
  COUNT(*) AS dead_letters,
  MAX(dead_lettered_at) AS last_at
FROM `event_mesh.dead_letters`
WHERE dead_lettered_at >= TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 7 DAY)
GROUP BY consumer, topic, reason
ORDER BY dead_letters DESC, consumer, reason
