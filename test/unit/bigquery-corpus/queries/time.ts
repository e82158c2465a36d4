/** Time filters and truncation, EXTRACT, FORMAT_/PARSE_, date and timestamp arithmetic. */
import { DT, T, type Case } from '../case';
import { berlin, events, uniqueEvents } from '../fixtures';
import { countBy, epochSeconds } from './util';

const topic = 'time';

export const timeCases: Case[] = [
  {
    id: 'time-range-filter-day',
    topic,
    sql: "SELECT COUNT(*) AS n FROM shop.events WHERE ts >= TIMESTAMP('2024-02-29') AND ts < TIMESTAMP('2024-03-01')",
    expected: [{ n: events.filter((e) => e.ts.startsWith('2024-02-29')).length }],
    types: ['INT64'],
  },
  {
    id: 'time-between-string-literals',
    topic,
    sql: "SELECT COUNT(*) AS n FROM shop.events WHERE ts BETWEEN '2024-02-29 00:00:00' AND '2024-02-29 23:59:59.999999'",
    expected: [{ n: 5 }],
    note: 'e03 twice, e04, e05, e06; string literals coerce to TIMESTAMP',
  },
  {
    id: 'time-date-column-equals-string',
    topic,
    sql: "SELECT COUNT(DISTINCT event_id) AS n FROM shop.events WHERE day = '2024-02-29'",
    expected: [{ n: 4 }],
  },
  {
    id: 'time-group-by-utc-date',
    topic,
    sql: 'SELECT DATE(ts) AS d, COUNT(*) AS n FROM shop.events GROUP BY d',
    expected: countBy(events, (e) => e.ts.slice(0, 10)).map(([d, n]) => ({ d, n })),
    types: ['DATE', 'INT64'],
  },
  {
    id: 'time-group-by-berlin-date',
    topic,
    sql: "SELECT DATE(ts, 'Europe/Berlin') AS d, COUNT(DISTINCT event_id) AS n FROM shop.events GROUP BY d",
    expected: countBy(uniqueEvents, (e) => berlin(e.ts).slice(0, 10)).map(([d, n]) => ({ d, n })),
    types: ['DATE', 'INT64'],
  },
  {
    id: 'time-timestamp-trunc-day',
    topic,
    sql: "SELECT DISTINCT TIMESTAMP_TRUNC(ts, DAY) AS d FROM shop.events WHERE user_id = 'u2'",
    expected: [{ d: T('2024-02-29 00:00:00') }, { d: T('2024-03-01 00:00:00') }, { d: T('2024-03-31 00:00:00') }],
    types: ['TIMESTAMP'],
  },
  {
    id: 'time-timestamp-trunc-day-berlin',
    topic,
    sql: "SELECT DISTINCT TIMESTAMP_TRUNC(ts, DAY, 'Europe/Berlin') AS d FROM shop.events WHERE user_id = 'u2'",
    expected: [{ d: T('2024-02-28 23:00:00') }, { d: T('2024-02-29 23:00:00') }, { d: T('2024-03-31 22:00:00') }],
    note: 'Berlin midnight is 23:00 UTC in winter, 22:00 UTC after the 2024-03-31 switch to CEST',
    types: ['TIMESTAMP'],
  },
  {
    id: 'time-timestamp-trunc-week-isoweek',
    topic,
    sql: "SELECT event_id, TIMESTAMP_TRUNC(ts, WEEK) AS wk, TIMESTAMP_TRUNC(ts, ISOWEEK) AS iso FROM shop.events WHERE event_id IN ('e08', 'e10')",
    expected: [
      { event_id: 'e08', wk: T('2024-03-03 00:00:00'), iso: T('2024-02-26 00:00:00') },
      { event_id: 'e10', wk: T('2024-03-03 00:00:00'), iso: T('2024-03-04 00:00:00') },
    ],
    note: 'WEEK starts on Sunday, ISOWEEK on Monday; 2024-03-03 is a Sunday',
    types: ['STRING', 'TIMESTAMP', 'TIMESTAMP'],
  },
  {
    id: 'time-timestamp-trunc-month-hour',
    topic,
    sql: "SELECT TIMESTAMP_TRUNC(ts, MONTH) AS m, TIMESTAMP_TRUNC(ts, HOUR) AS h, TIMESTAMP_TRUNC(ts, MINUTE) AS mi FROM shop.events WHERE event_id = 'e02'",
    expected: [{ m: T('2024-02-01 00:00:00'), h: T('2024-02-28 23:00:00'), mi: T('2024-02-28 23:55:00') }],
  },
  {
    id: 'time-date-trunc-month-group',
    topic,
    sql: 'SELECT DATE_TRUNC(day, MONTH) AS month, COUNT(DISTINCT event_id) AS n FROM shop.events WHERE day IS NOT NULL GROUP BY month ORDER BY month',
    expected: countBy(
      uniqueEvents.filter((e) => e.day),
      (e) => `${e.day!.slice(0, 7)}-01`,
    )
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([month, n]) => ({ month, n })),
    types: ['DATE', 'INT64'],
    ordered: true,
  },
  {
    id: 'time-date-trunc-week-monday',
    topic,
    sql: "SELECT DATE_TRUNC(DATE '2024-03-03', WEEK) AS sun, DATE_TRUNC(DATE '2024-03-03', WEEK(MONDAY)) AS mon, DATE_TRUNC(DATE '2024-03-03', ISOWEEK) AS iso, DATE_TRUNC(DATE '2024-02-29', QUARTER) AS q, DATE_TRUNC(DATE '2024-02-29', YEAR) AS y",
    expected: [{ sun: '2024-03-03', mon: '2024-02-26', iso: '2024-02-26', q: '2024-01-01', y: '2024-01-01' }],
    types: ['DATE', 'DATE', 'DATE', 'DATE', 'DATE'],
  },
  {
    id: 'time-extract-dayofweek',
    topic,
    sql: "SELECT event_id, EXTRACT(DAYOFWEEK FROM ts) AS dow FROM shop.events WHERE event_id IN ('e08', 'e10', 'e20', 'e04')",
    expected: [
      { event_id: 'e08', dow: 1 },
      { event_id: 'e10', dow: 2 },
      { event_id: 'e20', dow: 3 },
      { event_id: 'e04', dow: 5 },
    ],
    types: ['STRING', 'INT64'],
    note: 'DAYOFWEEK: 1 = Sunday ... 7 = Saturday',
  },
  {
    id: 'time-extract-dayofweek-berlin',
    topic,
    sql: "SELECT event_id, EXTRACT(DAYOFWEEK FROM ts AT TIME ZONE 'Europe/Berlin') AS dow FROM shop.events WHERE event_id IN ('e05', 'e06', 'e08')",
    expected: [
      { event_id: 'e05', dow: 5 },
      { event_id: 'e06', dow: 6 },
      { event_id: 'e08', dow: 2 },
    ],
    types: ['STRING', 'INT64'],
  },
  {
    id: 'time-extract-week-isoweek-year-boundary',
    topic,
    sql: "SELECT event_id, EXTRACT(WEEK FROM day) AS wk, EXTRACT(ISOWEEK FROM day) AS isowk, EXTRACT(ISOYEAR FROM day) AS isoyear, EXTRACT(YEAR FROM day) AS y FROM shop.events WHERE event_id IN ('e11', 'e12')",
    expected: [
      { event_id: 'e11', wk: 53, isowk: 52, isoyear: 2023, y: 2023 },
      { event_id: 'e12', wk: 0, isowk: 1, isoyear: 2024, y: 2024 },
    ],
    note: '2023 starts on a Sunday, so 2023-12-31 is in WEEK 53; 2024-01-01 precedes the first Sunday of 2024 (week 0)',
    types: ['STRING', 'INT64', 'INT64', 'INT64', 'INT64'],
  },
  {
    id: 'time-extract-hour-berlin-dst',
    topic,
    sql: "SELECT event_id, EXTRACT(HOUR FROM ts AT TIME ZONE 'Europe/Berlin') AS h FROM shop.events WHERE event_id IN ('e05', 'e19')",
    expected: [
      { event_id: 'e05', h: 23 },
      { event_id: 'e19', h: 1 },
    ],
    types: ['STRING', 'INT64'],
  },
  {
    id: 'time-extract-date-at-time-zone',
    topic,
    sql: "SELECT EXTRACT(DATE FROM ts AT TIME ZONE 'Europe/Berlin') AS d FROM shop.events WHERE event_id = 'e19'",
    expected: [{ d: '2024-04-01' }],
    types: ['DATE'],
  },
  {
    id: 'time-extract-year-quarter-month',
    topic,
    sql: 'SELECT EXTRACT(YEAR FROM ts) AS y, EXTRACT(QUARTER FROM ts) AS q, COUNT(DISTINCT event_id) AS n FROM shop.events GROUP BY y, q',
    expected: countBy(uniqueEvents, (e) => `${e.ts.slice(0, 4)}|${Math.floor((Number(e.ts.slice(5, 7)) - 1) / 3) + 1}`).map(([k, n]) => ({
      y: Number(k.split('|')[0]),
      q: Number(k.split('|')[1]),
      n,
    })),
    types: ['INT64', 'INT64', 'INT64'],
  },
  {
    id: 'time-extract-microsecond-millisecond',
    topic,
    sql: "SELECT EXTRACT(MICROSECOND FROM ts) AS us, EXTRACT(MILLISECOND FROM ts) AS ms, EXTRACT(SECOND FROM ts) AS s FROM shop.events WHERE event_id = 'e08'",
    expected: [{ us: 999999, ms: 999, s: 59 }],
    note: 'MICROSECOND and MILLISECOND include the whole fraction of the second',
    types: ['INT64', 'INT64', 'INT64'],
  },
  {
    id: 'time-format-timestamp-basic',
    topic,
    sql: "SELECT FORMAT_TIMESTAMP('%Y-%m-%d %H:%M:%S', ts) AS a, FORMAT_TIMESTAMP('%F %T', ts) AS b, FORMAT_TIMESTAMP('%Y-%m-%dT%H:%M:%E6SZ', ts) AS c, FORMAT_TIMESTAMP('%E3S', ts) AS d FROM shop.events WHERE event_id = 'e04' OR (event_id = 'e03' AND received_at < '2024-02-29 00:11:00')",
    expected: [
      { a: '2024-02-29 00:10:00', b: '2024-02-29 00:10:00', c: '2024-02-29T00:10:00.123456Z', d: '00.123' },
      { a: '2024-02-29 01:00:00', b: '2024-02-29 01:00:00', c: '2024-02-29T01:00:00.000000Z', d: '00.000' },
    ],
    types: ['STRING', 'STRING', 'STRING', 'STRING'],
  },
  {
    id: 'time-format-timestamp-zone-names',
    topic,
    sql: "SELECT event_id, FORMAT_TIMESTAMP('%A %d %B %Y %H:%M', ts, 'Europe/Berlin') AS local FROM shop.events WHERE event_id IN ('e05', 'e06')",
    expected: [
      { event_id: 'e05', local: 'Thursday 29 February 2024 23:30' },
      { event_id: 'e06', local: 'Friday 01 March 2024 00:15' },
    ],
    types: ['STRING', 'STRING'],
  },
  {
    id: 'time-format-iso-week',
    topic,
    sql: "SELECT event_id, FORMAT_TIMESTAMP('%G-W%V', ts) AS isowk, FORMAT_TIMESTAMP('%U', ts) AS sunwk, FORMAT_TIMESTAMP('%a %b %j', ts) AS misc FROM shop.events WHERE event_id IN ('e11', 'e12')",
    expected: [
      { event_id: 'e11', isowk: '2023-W52', sunwk: '53', misc: 'Sun Dec 365' },
      { event_id: 'e12', isowk: '2024-W01', sunwk: '00', misc: 'Mon Jan 001' },
    ],
    types: ['STRING', 'STRING', 'STRING', 'STRING'],
  },
  {
    id: 'time-format-date-month-labels',
    topic,
    sql: "SELECT FORMAT_DATE('%Y-%m', day) AS month, COUNT(DISTINCT event_id) AS n FROM shop.events WHERE day IS NOT NULL GROUP BY month ORDER BY month",
    expected: countBy(
      uniqueEvents.filter((e) => e.day),
      (e) => e.day!.slice(0, 7),
    )
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([month, n]) => ({ month, n })),
    types: ['STRING', 'INT64'],
    ordered: true,
  },
  {
    id: 'time-format-datetime',
    topic,
    sql: "SELECT FORMAT_DATETIME('%d.%m.%Y %H:%M', local_dt) AS de FROM shop.events WHERE event_id = 'e06'",
    expected: [{ de: '01.03.2024 00:15' }],
    types: ['STRING'],
  },
  {
    id: 'time-unix-seconds-micros',
    topic,
    sql: "SELECT UNIX_SECONDS(ts) AS s, UNIX_MILLIS(ts) AS ms, UNIX_MICROS(ts) AS us, UNIX_DATE(day) AS d FROM shop.events WHERE event_id = 'e03' AND received_at < '2024-02-29 00:11:00'",
    expected: [
      {
        s: epochSeconds('2024-02-29T00:10:00Z'),
        ms: epochSeconds('2024-02-29T00:10:00Z') * 1000 + 123,
        us: epochSeconds('2024-02-29T00:10:00Z') * 1_000_000 + 123456,
        d: Date.UTC(2024, 1, 29) / 86_400_000,
      },
    ],
    types: ['INT64', 'INT64', 'INT64', 'INT64'],
  },
  {
    id: 'time-timestamp-from-epoch',
    topic,
    sql: 'SELECT TIMESTAMP_SECONDS(1704067200) AS a, TIMESTAMP_MILLIS(1709165400123) AS b, TIMESTAMP_MICROS(1709165400123456) AS c, DATE_FROM_UNIX_DATE(19782) AS d',
    expected: [{ a: T('2024-01-01 00:00:00'), b: T('2024-02-29 00:10:00.123'), c: T('2024-02-29 00:10:00.123456'), d: '2024-02-29' }],
    types: ['TIMESTAMP', 'TIMESTAMP', 'TIMESTAMP', 'DATE'],
    note: '1709165400 = 2024-02-29T00:10:00Z; 19782 days after 1970-01-01 = 2024-02-29',
  },
  {
    id: 'time-ingestion-lag-redeliveries',
    topic,
    sql: 'SELECT event_id, MAX(TIMESTAMP_DIFF(received_at, ts, SECOND)) AS max_lag FROM shop.events GROUP BY event_id HAVING max_lag > 2',
    expected: [
      { event_id: 'e03', max_lag: 300 },
      { event_id: 'e09', max_lag: 60 },
    ],
    types: ['STRING', 'INT64'],
  },
  {
    id: 'time-timestamp-diff-whole-units',
    topic,
    sql: "SELECT TIMESTAMP_DIFF(TIMESTAMP '2024-03-01 00:00:00+00', TIMESTAMP '2024-02-29 23:59:59+00', DAY) AS d, TIMESTAMP_DIFF(TIMESTAMP '2024-03-01 00:00:00+00', TIMESTAMP '2024-02-29 23:59:59+00', SECOND) AS s, TIMESTAMP_DIFF(TIMESTAMP '2024-02-29 00:00:00+00', TIMESTAMP '2024-03-01 12:00:00+00', HOUR) AS neg",
    expected: [{ d: 0, s: 1, neg: -36 }],
    types: ['INT64', 'INT64', 'INT64'],
    note: 'TIMESTAMP_DIFF counts whole elapsed units',
  },
  {
    id: 'time-date-diff-boundaries',
    topic,
    sql: "SELECT DATE_DIFF(DATE '2024-03-01', DATE '2024-02-29', DAY) AS d, DATE_DIFF(DATE '2024-01-01', DATE '2023-12-31', YEAR) AS y, DATE_DIFF(DATE '2024-03-01', DATE '2024-02-29', MONTH) AS m, DATE_DIFF(DATE '2024-03-04', DATE '2024-03-03', WEEK) AS w, DATE_DIFF(DATE '2024-03-03', DATE '2024-03-02', WEEK) AS w2, DATE_DIFF(DATE '2024-03-04', DATE '2024-03-03', ISOWEEK) AS iw",
    expected: [{ d: 1, y: 1, m: 1, w: 0, w2: 1, iw: 1 }],
    types: ['INT64', 'INT64', 'INT64', 'INT64', 'INT64', 'INT64'],
    note: 'DATE_DIFF counts part boundaries crossed; WEEK boundaries are Sundays, ISOWEEK Mondays',
  },
  {
    id: 'time-timestamp-add-sub',
    topic,
    sql: "SELECT TIMESTAMP_ADD(ts, INTERVAL 1 DAY) AS next_day, TIMESTAMP_SUB(ts, INTERVAL 15 MINUTE) AS before, ts + INTERVAL 90 SECOND AS plus FROM shop.events WHERE event_id = 'e03' AND received_at < '2024-02-29 00:11:00'",
    expected: [{ next_day: T('2024-03-01 00:10:00.123456'), before: T('2024-02-28 23:55:00.123456'), plus: T('2024-02-29 00:11:30.123456') }],
    types: ['TIMESTAMP', 'TIMESTAMP', 'TIMESTAMP'],
  },
  {
    id: 'time-date-add-month-end-clamps',
    topic,
    sql: "SELECT DATE_ADD(DATE '2024-01-31', INTERVAL 1 MONTH) AS a, DATE_SUB(DATE '2024-02-29', INTERVAL 1 YEAR) AS b, DATE_ADD(DATE '2024-02-29', INTERVAL 1 YEAR) AS c, DATE_ADD(DATE '2023-12-31', INTERVAL 1 DAY) AS d, DATE_SUB(DATE '2024-03-31', INTERVAL 1 MONTH) AS e",
    expected: [{ a: '2024-02-29', b: '2023-02-28', c: '2025-02-28', d: '2024-01-01', e: '2024-02-29' }],
    types: ['DATE', 'DATE', 'DATE', 'DATE', 'DATE'],
    note: 'MONTH and YEAR arithmetic clamps to the last day of the month',
  },
  {
    id: 'time-last-day',
    topic,
    sql: "SELECT LAST_DAY(DATE '2024-02-10') AS m, LAST_DAY(DATE '2023-02-10', MONTH) AS m2023, LAST_DAY(DATE '2024-03-03', WEEK) AS wk, LAST_DAY(DATE '2024-03-03', ISOWEEK) AS iso, LAST_DAY(DATE '2024-02-10', YEAR) AS y",
    expected: [{ m: '2024-02-29', m2023: '2023-02-28', wk: '2024-03-09', iso: '2024-03-03', y: '2024-12-31' }],
    types: ['DATE', 'DATE', 'DATE', 'DATE', 'DATE'],
  },
  {
    id: 'time-datetime-range-berlin-wall-clock',
    topic,
    sql: "SELECT event_id, local_dt FROM shop.events WHERE local_dt >= DATETIME '2024-03-01 00:00:00' AND local_dt < DATETIME '2024-03-02 00:00:00'",
    expected: [
      { event_id: 'e06', local_dt: DT('2024-03-01 00:15:00') },
      { event_id: 'e07', local_dt: DT('2024-03-01 02:00:00') },
    ],
    types: ['STRING', 'DATETIME'],
  },
  {
    id: 'time-datetime-trunc-diff',
    topic,
    sql: "SELECT DATETIME_TRUNC(local_dt, HOUR) AS h, DATETIME_DIFF(local_dt, DATETIME '2024-03-01 00:00:00', MINUTE) AS mins, DATETIME_ADD(local_dt, INTERVAL 1 HOUR) AS later FROM shop.events WHERE event_id = 'e06'",
    expected: [{ h: DT('2024-03-01 00:00:00'), mins: 15, later: DT('2024-03-01 01:15:00') }],
    types: ['DATETIME', 'INT64', 'DATETIME'],
  },
  {
    id: 'time-datetime-from-timestamp',
    topic,
    sql: "SELECT DATETIME(ts, 'Europe/Berlin') AS local, DATETIME(ts) AS utc, TIMESTAMP(local_dt, 'Europe/Berlin') AS back FROM shop.events WHERE event_id = 'e19'",
    expected: [{ local: DT('2024-04-01 01:00:00'), utc: DT('2024-03-31 23:00:00'), back: T('2024-03-31 23:00:00') }],
    types: ['DATETIME', 'DATETIME', 'TIMESTAMP'],
  },
  {
    id: 'time-date-in-other-zone',
    topic,
    sql: "SELECT DATE(ts, 'America/Los_Angeles') AS la, DATE(ts) AS utc, DATE(ts, '+14:00') AS kiribati FROM shop.events WHERE event_id = 'e12'",
    expected: [{ la: '2023-12-31', utc: '2024-01-01', kiribati: '2024-01-01' }],
    types: ['DATE', 'DATE', 'DATE'],
  },
  {
    id: 'time-parse-functions',
    topic,
    sql: "SELECT PARSE_TIMESTAMP('%Y%m%d %H%M', '20240229 2330', 'Europe/Berlin') AS t, PARSE_DATE('%d/%m/%Y', '29/02/2024') AS d, PARSE_DATETIME('%Y-%m-%d %H:%M', '2024-03-31 02:30') AS dt",
    expected: [{ t: T('2024-02-29 22:30:00'), d: '2024-02-29', dt: DT('2024-03-31 02:30:00') }],
    types: ['TIMESTAMP', 'DATE', 'DATETIME'],
  },
  {
    id: 'time-timestamp-literals-with-zones',
    topic,
    sql: "SELECT TIMESTAMP '2024-03-31 03:00:00 Europe/Berlin' AS cest, TIMESTAMP '2024-03-31 01:30:00+01' AS plus_one, TIMESTAMP '2024-02-29' AS midnight, TIMESTAMP('2024-01-01 00:30:00', 'Europe/Berlin') AS fn",
    expected: [{ cest: T('2024-03-31 01:00:00'), plus_one: T('2024-03-31 00:30:00'), midnight: T('2024-02-29 00:00:00'), fn: T('2023-12-31 23:30:00') }],
    types: ['TIMESTAMP', 'TIMESTAMP', 'TIMESTAMP', 'TIMESTAMP'],
  },
  {
    id: 'time-relative-to-now',
    topic,
    sql: "SELECT COUNT(*) AS n, DATE_DIFF(CURRENT_DATE(), DATE '2024-01-01', DAY) > 365 AS long_ago FROM shop.events WHERE ts < CURRENT_TIMESTAMP() AND ts > TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 36500 DAY)",
    expected: [{ n: events.length, long_ago: true }],
    types: ['INT64', 'BOOL'],
  },
  {
    id: 'time-hourly-histogram',
    topic,
    sql: "SELECT EXTRACT(HOUR FROM ts) AS hour, COUNT(DISTINCT event_id) AS n FROM shop.events WHERE type = 'view' GROUP BY hour ORDER BY hour",
    expected: countBy(
      uniqueEvents.filter((e) => e.type === 'view'),
      (e) => Number(e.ts.slice(11, 13)),
    )
      .sort(([a], [b]) => a - b)
      .map(([hour, n]) => ({ hour, n })),
    ordered: true,
  },
  {
    id: 'time-current-date-type',
    topic,
    sql: "SELECT CURRENT_DATE() > DATE '2024-12-31' AS after, CURRENT_DATE('Europe/Berlin') >= DATE '2024-12-31' AS berlin_after",
    expected: [{ after: true, berlin_after: true }],
  },
];
