/**
 * The BigQuery functions the translator rewrites for DuckDB (FUNCTIONS: TIMESTAMP_TRUNC,
 * TIMESTAMP_DIFF, COUNTIF, JSON_VALUE, ...), the ones known to have no local equivalent, and the
 * typed literals (TIMESTAMP '...'). A handler gets the call's arguments already translated.
 */
import { UnsupportedLocallyError } from '../errors';
import { quoteIdent } from './duckdb';
import type { Token } from './tokenizer';

export interface Arg {
  /** Translated DuckDB text. */
  sql: string;
  /** Significant source tokens of the argument. */
  tokens: Token[];
  /** Translates significant tokens [from, to) of the argument alone. */
  emit: (from: number, to: number) => string;
}

export type Handler = (args: Arg[], name: string) => string;

export const TYPED_LITERALS: Record<string, string> = {
  TIMESTAMP: 'TIMESTAMPTZ',
  DATETIME: 'TIMESTAMP',
  DATE: 'DATE',
  TIME: 'TIME',
  NUMERIC: 'DECIMAL(38,9)',
  JSON: 'JSON',
};

/** Known BigQuery functions with no local equivalent: a clear error beats a confusing DuckDB one. */
export const UNSUPPORTED_FUNCTIONS = new Set([
  'APPROX_QUANTILES',
  'APPROX_TOP_COUNT',
  'APPROX_TOP_SUM',
  'SESSION_USER',
  'FARM_FINGERPRINT',
  'GENERATE_ARRAY',
  'GENERATE_DATE_ARRAY',
  'GENERATE_TIMESTAMP_ARRAY',
  'ARRAY_CONCAT_AGG',
  'NORMALIZE',
  'NORMALIZE_AND_CASEFOLD',
  'JSON_EXTRACT_ARRAY',
  'JSON_QUERY_ARRAY',
  'JSON_VALUE_ARRAY',
  'JSON_EXTRACT_STRING_ARRAY',
  'JSON_SET',
  'JSON_REMOVE',
  'JSON_STRIP_NULLS',
  'TO_JSON',
  'RANGE',
  'DATETIME_BUCKET',
  'TIMESTAMP_BUCKET',
  'DATE_BUCKET',
  'GAP_FILL',
]);

const DATE_PARTS: Record<string, string> = {
  MICROSECOND: 'microsecond',
  MILLISECOND: 'millisecond',
  SECOND: 'second',
  MINUTE: 'minute',
  HOUR: 'hour',
  DAY: 'day',
  WEEK: 'week',
  ISOWEEK: 'week',
  MONTH: 'month',
  QUARTER: 'quarter',
  YEAR: 'year',
};

/** The date part argument as written: HOUR, WEEK(MONDAY) ... */
function partOf(arg: Arg | undefined, fn: string): string {
  const text = (arg?.tokens ?? []).map((t) => t.value.toUpperCase()).join('');
  if (!/^[A-Z_]+(\([A-Z]+\))?$/.test(text)) throw new SyntaxError(`${fn}: expected a date part such as HOUR, got ${text || 'nothing'}`);
  return text;
}

function arity(args: Arg[], fn: string, min: number, max = min): void {
  if (args.length < min || args.length > max) throw new SyntaxError(`${fn} takes ${min === max ? min : `${min} to ${max}`} arguments, got ${args.length}`);
}

/** TIMESTAMP_TRUNC / DATETIME_TRUNC / DATE_TRUNC. */
function trunc(args: Arg[], fn: string): string {
  arity(args, fn, 2, 3);
  if (args.length === 3) throw new UnsupportedLocallyError(`${fn} with a time zone argument (times are UTC locally)`);
  const part = partOf(args[1], fn);
  const x = args[0].sql;
  let sql: string;
  if (part === 'WEEK' || part === 'WEEK(SUNDAY)') sql = `(date_trunc('week', ${x} + INTERVAL 1 DAY) - INTERVAL 1 DAY)`;
  else if (part === 'WEEK(MONDAY)' || part === 'ISOWEEK') sql = `date_trunc('week', ${x})`;
  else if (DATE_PARTS[part]) sql = `date_trunc('${DATE_PARTS[part]}', ${x})`;
  else throw new UnsupportedLocallyError(`${fn}(..., ${part})`);
  return fn === 'DATE_TRUNC' ? `CAST(${sql} AS DATE)` : sql;
}

/** TIMESTAMP_DIFF(a, b, part): whole parts between b and a (truncated), like DuckDB's date_sub. */
function diff(args: Arg[], fn: string): string {
  arity(args, fn, 3);
  const part = partOf(args[2], fn);
  const mapped = part === 'WEEK' ? undefined : DATE_PARTS[part];
  if (!mapped || (fn !== 'DATE_DIFF' && ['week', 'month', 'quarter', 'year'].includes(mapped))) throw new UnsupportedLocallyError(`${fn}(..., ${part})`);
  // DATE_DIFF counts boundaries crossed (date_diff); TIMESTAMP_DIFF counts whole elapsed parts (date_sub).
  return `${fn === 'DATE_DIFF' ? 'date_diff' : 'date_sub'}('${mapped}', ${args[1].sql}, ${args[0].sql})`;
}

/** TIMESTAMP_ADD(x, INTERVAL n part) and friends. */
function addInterval(sign: '+' | '-'): Handler {
  return (args, fn) => {
    arity(args, fn, 2);
    const tokens = args[1].tokens;
    if (tokens[0]?.kind !== 'ident' || tokens[0].value.toUpperCase() !== 'INTERVAL' || tokens.length < 3)
      throw new SyntaxError(`${fn}: expected INTERVAL <n> <part>`);
    const part = tokens[tokens.length - 1].value.toUpperCase();
    if (!DATE_PARTS[part] || part === 'ISOWEEK') throw new UnsupportedLocallyError(`${fn}(..., INTERVAL ... ${part})`);
    // INTERVAL (<amount>) <part> accepts any expression in DuckDB.
    const amount = args[1].emit(1, tokens.length - 1);
    const sql = `(${args[0].sql} ${sign} INTERVAL (${amount}) ${DATE_PARTS[part].toUpperCase()})`;
    return fn.startsWith('DATE_') ? `CAST(${sql} AS DATE)` : sql;
  };
}

function renamed(to: string, min: number, max = min): Handler {
  return (args, fn) => {
    arity(args, fn, min, max);
    return `${to}(${args.map((a) => a.sql).join(', ')})`;
  };
}

/** JSON_VALUE returns NULL for objects and arrays; json_extract_string would return their text. */
function jsonValue(args: Arg[], fn: string): string {
  arity(args, fn, 1, 2);
  const path = args[1]?.sql ?? "'$'";
  const x = args[0].sql;
  return `(CASE WHEN json_type(${x}, ${path}) IN ('OBJECT', 'ARRAY') THEN NULL ELSE json_extract_string(${x}, ${path}) END)`;
}

function regexpExtract(args: Arg[], fn: string): string {
  arity(args, fn, 2);
  const pattern = args[1].tokens.length === 1 && args[1].tokens[0].kind === 'string' ? args[1].tokens[0].value : undefined;
  if (pattern === undefined) throw new UnsupportedLocallyError(`${fn} with a pattern that is not a string literal`);
  // BigQuery returns the capturing group if there is one, else the whole match.
  const group = /(^|[^\\])\((?!\?)/.test(pattern) ? 1 : 0;
  return `regexp_extract(${args[0].sql}, ${args[1].sql}, ${group})`;
}

/** STRUCT(x AS a, y AS b) -> struct_pack(a := x, b := y); every field needs a name locally. */
function struct(args: Arg[], fn: string): string {
  const fields = args.map((arg) => {
    let depth = 0;
    let as = -1;
    arg.tokens.forEach((t, k) => {
      if (t.kind === 'op' && (t.value === '(' || t.value === '[')) depth++;
      else if (t.kind === 'op' && (t.value === ')' || t.value === ']')) depth--;
      else if (depth === 0 && t.kind === 'ident' && t.value.toUpperCase() === 'AS') as = k;
    });
    const name = arg.tokens[as + 1];
    if (as < 0 || as !== arg.tokens.length - 2 || (name.kind !== 'ident' && name.kind !== 'qident'))
      throw new UnsupportedLocallyError(`${fn}(...) fields without a name (write STRUCT(x AS name))`);
    return `${quoteIdent(name.value)} := ${arg.emit(0, as)}`;
  });
  return `struct_pack(${fields.join(', ')})`;
}

export const FUNCTIONS: Record<string, Handler> = {
  STRUCT: struct,
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
  DATE: (args, fn) => {
    arity(args, fn, 1, 3);
    if (args.length === 3) return `make_date(${args.map((a) => a.sql).join(', ')})`;
    if (args.length === 2) throw new UnsupportedLocallyError('DATE(timestamp, time_zone) (times are UTC locally)');
    return `CAST(${args[0].sql} AS DATE)`;
  },
  TIMESTAMP: (args, fn) => {
    arity(args, fn, 1, 2);
    if (args.length === 2) throw new UnsupportedLocallyError('TIMESTAMP(x, time_zone) (times are UTC locally)');
    return `CAST(${args[0].sql} AS TIMESTAMPTZ)`;
  },
  DATETIME: (args, fn) => {
    arity(args, fn, 1);
    return `CAST(${args[0].sql} AS TIMESTAMP)`;
  },
  CURRENT_TIMESTAMP: (args, fn) => (arity(args, fn, 0), 'now()'),
  CURRENT_DATETIME: (args, fn) => (arity(args, fn, 0), 'CAST(now() AS TIMESTAMP)'),
  CURRENT_DATE: (args, fn) => (arity(args, fn, 0), 'current_date'),
  TIMESTAMP_SECONDS: (args, fn) => (arity(args, fn, 1), `to_timestamp(${args[0].sql})`),
  TIMESTAMP_MILLIS: (args, fn) => (arity(args, fn, 1), `CAST(epoch_ms(${args[0].sql}) AS TIMESTAMPTZ)`),
  TIMESTAMP_MICROS: (args, fn) => (arity(args, fn, 1), `CAST(make_timestamp(${args[0].sql}) AS TIMESTAMPTZ)`),
  UNIX_SECONDS: (args, fn) => (arity(args, fn, 1), `CAST(floor(epoch(${args[0].sql})) AS BIGINT)`),
  UNIX_MILLIS: (args, fn) => (arity(args, fn, 1), `epoch_ms(${args[0].sql})`),
  UNIX_MICROS: (args, fn) => (arity(args, fn, 1), `epoch_us(${args[0].sql})`),
  FORMAT_TIMESTAMP: (args, fn) => {
    arity(args, fn, 2, 3);
    if (args.length === 3) throw new UnsupportedLocallyError('FORMAT_TIMESTAMP with a time zone argument (times are UTC locally)');
    return `strftime(${args[1].sql}, ${args[0].sql})`;
  },
  FORMAT_DATE: (args, fn) => (arity(args, fn, 2), `strftime(${args[1].sql}, ${args[0].sql})`),
  FORMAT_DATETIME: (args, fn) => (arity(args, fn, 2), `strftime(${args[1].sql}, ${args[0].sql})`),
  PARSE_TIMESTAMP: (args, fn) => {
    arity(args, fn, 2, 3);
    if (args.length === 3) throw new UnsupportedLocallyError('PARSE_TIMESTAMP with a time zone argument (times are UTC locally)');
    return `CAST(strptime(${args[1].sql}, ${args[0].sql}) AS TIMESTAMPTZ)`;
  },
  PARSE_DATE: (args, fn) => (arity(args, fn, 2), `CAST(strptime(${args[1].sql}, ${args[0].sql}) AS DATE)`),
  // COUNTIF counts TRUE; DuckDB's count_if returns NULL when every input is NULL, so count a CASE.
  COUNTIF: (args, fn) => (arity(args, fn, 1), `count(CASE WHEN ${args[0].sql} THEN 1 END)`),
  LOGICAL_AND: renamed('bool_and', 1),
  LOGICAL_OR: renamed('bool_or', 1),
  IF: (args, fn) => (arity(args, fn, 3), `(CASE WHEN ${args[0].sql} THEN ${args[1].sql} ELSE ${args[2].sql} END)`),
  IFNULL: renamed('coalesce', 2),
  SAFE_DIVIDE: (args, fn) => (arity(args, fn, 2), `(CASE WHEN ${args[1].sql} = 0 THEN NULL ELSE ${args[0].sql} / ${args[1].sql} END)`),
  DIV: (args, fn) => (arity(args, fn, 2), `(${args[0].sql} // ${args[1].sql})`),
  JSON_VALUE: jsonValue,
  JSON_EXTRACT_SCALAR: jsonValue,
  JSON_QUERY: (args, fn) => (arity(args, fn, 2), `json_extract(${args[0].sql}, ${args[1].sql})`),
  JSON_EXTRACT: (args, fn) => (arity(args, fn, 2), `json_extract(${args[0].sql}, ${args[1].sql})`),
  PARSE_JSON: (args, fn) => (arity(args, fn, 1), `CAST(${args[0].sql} AS JSON)`),
  TO_JSON_STRING: (args, fn) => (arity(args, fn, 1), `CAST(to_json(${args[0].sql}) AS VARCHAR)`),
  REGEXP_CONTAINS: renamed('regexp_matches', 2),
  REGEXP_EXTRACT: regexpExtract,
  REGEXP_REPLACE: (args, fn) => (arity(args, fn, 3), `regexp_replace(${args[0].sql}, ${args[1].sql}, ${args[2].sql}, 'g')`),
  SPLIT: (args, fn) => (arity(args, fn, 1, 2), `str_split(${args[0].sql}, ${args[1]?.sql ?? "','"})`),
  ARRAY_LENGTH: renamed('len', 1),
  GENERATE_UUID: (args, fn) => (arity(args, fn, 0), 'CAST(gen_random_uuid() AS VARCHAR)'),
  APPROX_COUNT_DISTINCT: renamed('approx_count_distinct', 1),
};

/** The BigQuery functions the translator rewrites (documented in docs/analysts.md). */
export const TRANSLATED_FUNCTIONS = Object.keys(FUNCTIONS).concat(['CAST', 'SAFE_CAST', 'EXTRACT']).sort();
