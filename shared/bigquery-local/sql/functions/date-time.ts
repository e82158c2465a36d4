/**
 * Date and time functions. Times are UTC locally unless a time zone argument is given; those go
 * through DuckDB's timezone(tz, x), which turns a TIMESTAMPTZ into local wall-clock time and back.
 * Weeks: BigQuery's WEEK starts on Sunday (WEEK(<day>) on that day), ISOWEEK on Monday.
 */
import { UnsupportedLocallyError } from '../../errors';
import { quoteString } from '../duckdb';
import type { Emitter } from '../emit';
import { take } from '../node';
import { kw, type N } from '../node';
import { arity, literalString, partOf, type Call, type Handler } from './call';

/** Minutes east of UTC for a fixed-offset zone literal ('+14:00', '-05', 'UTC+3'), which DuckDB's ICU does not know. */
function offsetMinutes(tz: string | undefined): number | undefined {
  const m = tz === undefined ? null : /^(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?$/i.exec(tz.trim());
  if (!m) return undefined;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] ?? 0));
}

/** TIMESTAMP x -> wall-clock DATETIME in tz (tzSql: the zone as DuckDB text, tz: its literal value if known). */
export function toLocal(tzSql: string, tz: string | undefined, x: string): string {
  const m = offsetMinutes(tz);
  return m === undefined ? `timezone(${tzSql}, ${x})` : `(timezone('UTC', ${x}) + INTERVAL '${m} minutes')`;
}

/** Wall-clock DATETIME x in tz -> TIMESTAMP. */
function toUtc(tzSql: string, tz: string | undefined, x: string): string {
  const m = offsetMinutes(tz);
  return m === undefined ? `timezone(${tzSql}, ${x})` : `timezone('UTC', ${x} - INTERVAL '${m} minutes')`;
}

const local = (c: Call, i: number, x: string) => toLocal(c.sql(i), literalString(c, i), x);
const utc = (c: Call, i: number, x: string) => toUtc(c.sql(i), literalString(c, i), x);

const DAYS = ['SUNDAY', 'MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY'];
const SIMPLE: Record<string, string> = {
  MICROSECOND: 'microsecond',
  MILLISECOND: 'millisecond',
  SECOND: 'second',
  MINUTE: 'minute',
  HOUR: 'hour',
  DAY: 'day',
  MONTH: 'month',
  QUARTER: 'quarter',
  YEAR: 'year',
};

/** Which weekday starts the week for WEEK, WEEK(<day>), ISOWEEK; undefined for other parts. */
function weekStart(part: string): number | undefined {
  if (part === 'WEEK') return 0;
  if (part === 'ISOWEEK') return 1;
  const m = /^WEEK\((\w+)\)$/.exec(part);
  if (!m) return undefined;
  const k = DAYS.indexOf(m[1]);
  if (k < 0) throw new UnsupportedLocallyError(`week part ${part}`);
  return k;
}

/** Start (midnight) of the week containing x, weeks starting on weekday k (0 = Sunday). */
const weekFloor = (x: string, k: number) => `(date_trunc('day', ${x}) - to_days(CAST((dayofweek(${x}) + ${7 - k}) % 7 AS INTEGER)))`;

function trunc(c: Call): string {
  arity(c, 2, 3);
  const part = partOf(c, 1);
  const tz = c.args[2] !== undefined;
  const x = tz ? local(c, 2, c.sql(0)) : c.sql(0);
  const k = weekStart(part);
  let sql: string;
  if (k !== undefined) sql = weekFloor(x, k);
  else if (SIMPLE[part]) sql = `date_trunc('${SIMPLE[part]}', ${x})`;
  else throw new UnsupportedLocallyError(`${c.name}(..., ${part})`);
  if (c.name === 'DATE_TRUNC') return `CAST(${sql} AS DATE)`;
  if (c.name === 'DATETIME_TRUNC') return `CAST(${sql} AS TIMESTAMP)`;
  return tz ? utc(c, 2, sql) : sql;
}

/** DATE_DIFF counts part boundaries crossed; TIMESTAMP_DIFF whole parts elapsed, truncated toward zero. */
function diff(c: Call): string {
  arity(c, 3);
  const part = partOf(c, 2);
  const [a, b] = [c.sql(0), c.sql(1)];
  const k = weekStart(part);
  const boundaries = c.name === 'DATE_DIFF' || (c.name === 'DATETIME_DIFF' && !['MICROSECOND', 'MILLISECOND', 'SECOND', 'MINUTE', 'HOUR'].includes(part));
  if (boundaries) {
    if (k !== undefined) return `(date_diff('day', ${weekFloor(b, k)}, ${weekFloor(a, k)}) // 7)`;
    if (part === 'ISOYEAR') return `(isoyear(${a}) - isoyear(${b}))`;
    if (SIMPLE[part]) return `date_diff('${SIMPLE[part]}', ${b}, ${a})`;
  } else if (part === 'MICROSECOND') return `(epoch_us(${a}) - epoch_us(${b}))`;
  else if (['MILLISECOND', 'SECOND', 'MINUTE', 'HOUR', 'DAY'].includes(part)) return `date_sub('${SIMPLE[part]}', ${b}, ${a})`;
  throw new UnsupportedLocallyError(`${c.name}(..., ${part})`);
}

/** DATE_ADD(x, INTERVAL n part) and friends; literal amounts become literal intervals. */
const addInterval =
  (sign: '+' | '-'): Handler =>
  (c) => {
    arity(c, 2);
    if (c.args[1].type !== 'interval_literal') throw new SyntaxError(`${c.name}: expected INTERVAL <n> <part>`);
    const sql = `(${c.sql(0)} ${sign} ${c.sql(1)})`;
    if (c.name.startsWith('DATE_')) return `CAST(${sql} AS DATE)`;
    return c.name.startsWith('DATETIME_') ? `CAST(${sql} AS TIMESTAMP)` : sql;
  };

/** BigQuery format elements -> DuckDB strftime / strptime ones; unknown elements are refused. */
const FORMAT_ELEMENTS: Record<string, string> = {
  '%F': '%Y-%m-%d',
  '%T': '%H:%M:%S',
  '%D': '%m/%d/%y',
  '%R': '%H:%M',
  '%E*S': '%S.%f',
  '%E6S': '%S.%f',
  '%E3S': '%S.%g',
  '%e': '%-d',
  '%k': '%-H',
  '%l': '%-I',
  '%Ez': '%z',
  '%h': '%b',
  '%C': '%C',
  '%n': '\n',
  '%t': '\t',
};
const PASS = new Set([
  '%Y',
  '%m',
  '%d',
  '%H',
  '%M',
  '%S',
  '%y',
  '%b',
  '%B',
  '%a',
  '%A',
  '%j',
  '%p',
  '%I',
  '%Z',
  '%z',
  '%%',
  '%u',
  '%w',
  '%U',
  '%W',
  '%V',
  '%G',
  '%c',
  '%x',
  '%X',
]);

export function duckFormat(c: Call, i: number): string {
  const f = literalString(c, i);
  if (f === undefined) throw new UnsupportedLocallyError(`${c.name} with a format that is not a string literal`);
  const out = f.replace(/%(E\*S|E\dS|Ez|.)/g, (el) => {
    if (FORMAT_ELEMENTS[el]) return FORMAT_ELEMENTS[el];
    if (PASS.has(el)) return el;
    throw new UnsupportedLocallyError(`format element ${el}`);
  });
  return quoteString(out);
}

const inZone = (c: Call, x: string, i: number) => (c.args[i] ? local(c, i, x) : x);

function extractPart(part: string, x: string): string {
  const k = weekStart(part);
  if (part === 'ISOWEEK') return `week(${x})`;
  // Week 0 holds the days before the year's first week-start day.
  if (k !== undefined) return `((dayofyear(${x}) - 1 - ((dayofweek(${x}) + ${7 - k}) % 7) + 7) // 7)`;
  switch (part) {
    case 'DAYOFWEEK':
      return `(dayofweek(${x}) + 1)`;
    case 'DAYOFYEAR':
      return `dayofyear(${x})`;
    case 'ISOYEAR':
      return `isoyear(${x})`;
    case 'MILLISECOND':
      return `(millisecond(${x}) % 1000)`;
    case 'MICROSECOND':
      return `(microsecond(${x}) % 1000000)`;
    case 'DATE':
      return `CAST(${x} AS DATE)`;
    case 'TIME':
      return `CAST(${x} AS TIME)`;
    case 'DATETIME':
      return `CAST(${x} AS TIMESTAMP)`;
    default:
      if (SIMPLE[part]) return `extract(${SIMPLE[part]} FROM ${x})`;
      throw new UnsupportedLocallyError(`EXTRACT(${part} FROM ...)`);
  }
}

/** EXTRACT(part FROM x [AT TIME ZONE tz]); the time zone was lifted out by parse.ts. */
export function extract(e: Emitter, n: N): string {
  const from = n.args.expr as N;
  const unit = from.unit as N;
  let part: string;
  if (unit.type === 'week_expr') part = `WEEK(${kw(unit.args.expr)})`;
  else if (unit.type === 'interval_unit') part = kw(unit.unitKw);
  else if (unit.type === 'keyword') part = kw(unit);
  else part = String(unit.name ?? unit.text).toUpperCase();
  const tz = take(e.parsed.timeZones, from.expr.range[1]);
  const x = e.node(from.expr);
  return extractPart(part, tz === undefined ? x : toLocal(quoteString(tz), tz, x));
}

export const DATE_TIME_FUNCTIONS: Record<string, Handler> = {
  TIMESTAMP_TRUNC: trunc,
  DATETIME_TRUNC: trunc,
  DATE_TRUNC: trunc,
  TIMESTAMP_DIFF: diff,
  DATETIME_DIFF: diff,
  DATE_DIFF: diff,
  TIMESTAMP_ADD: addInterval('+'),
  TIMESTAMP_SUB: addInterval('-'),
  DATETIME_ADD: addInterval('+'),
  DATETIME_SUB: addInterval('-'),
  DATE_ADD: addInterval('+'),
  DATE_SUB: addInterval('-'),
  DATE: (c) => {
    arity(c, 1, 3);
    if (c.args.length === 3) return `make_date(${c.sql(0)}, ${c.sql(1)}, ${c.sql(2)})`;
    return `CAST(${inZone(c, c.sql(0), 1)} AS DATE)`;
  },
  DATETIME: (c) => {
    arity(c, 1, 2);
    if (c.args.length === 2 && c.args[1].type !== 'string_literal') return `CAST(CAST(${c.sql(0)} AS DATE) + CAST(${c.sql(1)} AS TIME) AS TIMESTAMP)`;
    return c.args[1] ? inZone(c, c.sql(0), 1) : `CAST(${c.sql(0)} AS TIMESTAMP)`;
  },
  TIMESTAMP: (c) => {
    arity(c, 1, 2);
    // TIMESTAMP(string, tz): the string is wall-clock time in tz (unless it carries an offset).
    return c.args[1] ? utc(c, 1, `CAST(${c.sql(0)} AS TIMESTAMP)`) : `CAST(${c.sql(0)} AS TIMESTAMPTZ)`;
  },
  CURRENT_TIMESTAMP: (c) => (arity(c, 0), 'now()'),
  CURRENT_DATETIME: (c) => (arity(c, 0, 1), `CAST(${inZone(c, 'now()', 0)} AS TIMESTAMP)`),
  CURRENT_DATE: (c) => (arity(c, 0, 1), c.args[0] ? `CAST(${inZone(c, 'now()', 0)} AS DATE)` : 'current_date'),
  TIMESTAMP_SECONDS: (c) => (arity(c, 1), `CAST(make_timestamp(CAST(${c.sql(0)} AS BIGINT) * 1000000) AS TIMESTAMPTZ)`),
  TIMESTAMP_MILLIS: (c) => (arity(c, 1), `CAST(make_timestamp(CAST(${c.sql(0)} AS BIGINT) * 1000) AS TIMESTAMPTZ)`),
  TIMESTAMP_MICROS: (c) => (arity(c, 1), `CAST(make_timestamp(CAST(${c.sql(0)} AS BIGINT)) AS TIMESTAMPTZ)`),
  // Rounded down to the whole unit, also before 1970.
  UNIX_SECONDS: (c) => (arity(c, 1), `CAST(floor(epoch_us(${c.sql(0)}) / 1000000) AS BIGINT)`),
  UNIX_MILLIS: (c) => (arity(c, 1), `CAST(floor(epoch_us(${c.sql(0)}) / 1000) AS BIGINT)`),
  UNIX_MICROS: (c) => (arity(c, 1), `epoch_us(${c.sql(0)})`),
  UNIX_DATE: (c) => (arity(c, 1), `date_diff('day', DATE '1970-01-01', ${c.sql(0)})`),
  DATE_FROM_UNIX_DATE: (c) => (arity(c, 1), `CAST(DATE '1970-01-01' + to_days(CAST(${c.sql(0)} AS INTEGER)) AS DATE)`),
  FORMAT_TIMESTAMP: (c) => (arity(c, 2, 3), `strftime(${inZone(c, c.sql(1), 2)}, ${duckFormat(c, 0)})`),
  FORMAT_DATETIME: (c) => (arity(c, 2), `strftime(${c.sql(1)}, ${duckFormat(c, 0)})`),
  FORMAT_DATE: (c) => (arity(c, 2), `strftime(${c.sql(1)}, ${duckFormat(c, 0)})`),
  FORMAT_TIME: (c) => (arity(c, 2), `strftime(DATE '1970-01-01' + ${c.sql(1)}, ${duckFormat(c, 0)})`),
  PARSE_DATE: (c) => (arity(c, 2), `CAST(strptime(${c.sql(1)}, ${duckFormat(c, 0)}) AS DATE)`),
  PARSE_DATETIME: (c) => (arity(c, 2), `CAST(strptime(${c.sql(1)}, ${duckFormat(c, 0)}) AS TIMESTAMP)`),
  PARSE_TIMESTAMP: (c) => {
    arity(c, 2, 3);
    const parsed = `strptime(${c.sql(1)}, ${duckFormat(c, 0)})`;
    return c.args[2] ? utc(c, 2, `CAST(${parsed} AS TIMESTAMP)`) : `CAST(${parsed} AS TIMESTAMPTZ)`;
  },
  LAST_DAY: (c) => {
    arity(c, 1, 2);
    const part = c.args[1] ? partOf(c, 1) : 'MONTH';
    const x = c.sql(0);
    const k = weekStart(part);
    if (k !== undefined) return `CAST(${weekFloor(x, k)} + INTERVAL '6 days' AS DATE)`;
    if (part === 'MONTH' || part === 'QUARTER' || part === 'YEAR')
      return `CAST(date_trunc('${SIMPLE[part]}', ${x}) + INTERVAL '${part === 'MONTH' ? 1 : part === 'QUARTER' ? 3 : 12} months' - INTERVAL '1 day' AS DATE)`;
    throw new UnsupportedLocallyError(`LAST_DAY(..., ${part})`);
  },
  GENERATE_DATE_ARRAY: (c) => {
    arity(c, 2, 3);
    const step = c.args[2] ? c.sql(2) : "INTERVAL '1 days'";
    return `CAST(generate_series(CAST(${c.sql(0)} AS DATE), CAST(${c.sql(1)} AS DATE), ${step}) AS DATE[])`;
  },
  GENERATE_TIMESTAMP_ARRAY: (c) => (arity(c, 3), `generate_series(CAST(${c.sql(0)} AS TIMESTAMPTZ), CAST(${c.sql(1)} AS TIMESTAMPTZ), ${c.sql(2)})`),
};
