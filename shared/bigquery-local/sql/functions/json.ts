/**
 * JSON functions. JSON_QUERY / JSON_EXTRACT return JSON for JSON input and STRING for STRING input.
 * The input's type is not known while translating (a column, a subquery's column), so the result is
 * the extracted text as VARCHAR in a CASE whose other, never taken, branch is the input itself: DuckDB
 * types a CASE by its branches, JSON when one is JSON, so the result is JSON exactly when the input is.
 */
import { UnsupportedLocallyError } from '../../errors';
import { quoteString } from '../duckdb';
import { arity, type Call, type Handler } from './call';

/** A BigQuery JSONPath literal ($.a.b, $.a[0], $['key']) in DuckDB's spelling ($."key"). */
function path(c: Call, i: number, suffix = ''): string {
  const a = c.args[i];
  if (!a) return quoteString(`$${suffix}`);
  if (a.type !== 'string_literal') throw new UnsupportedLocallyError(`${c.name} with a JSON path that is not a string literal`);
  const p = String(a.value).replace(
    /\[\s*'((?:[^'\\]|\\.)*)'\s*\]|\[\s*"((?:[^"\\]|\\.)*)"\s*\]/g,
    (_, s1: string | undefined, s2: string | undefined) => `."${s1 ?? s2}"`,
  );
  if (!p.startsWith('$')) throw new SyntaxError(`${c.name}: JSON paths start with $`);
  return quoteString(p + suffix);
}

/** `text` (VARCHAR, or VARCHAR[] when list) typed as JSON when `input` is JSON and as VARCHAR when it is VARCHAR. */
const typedLike = (input: string, text: string, list = false) => `(CASE WHEN FALSE THEN ${list ? `[${input}]` : input} ELSE ${text} END)`;

/** JSON_VALUE: NULL for objects and arrays (json_extract_string would return their text). */
const jsonValue: Handler = (c) => {
  arity(c, 1, 2);
  const [x, p] = [c.sql(0), path(c, 1)];
  return `(CASE WHEN json_type(${x}, ${p}) IN ('OBJECT', 'ARRAY') THEN NULL ELSE json_extract_string(${x}, ${p}) END)`;
};

const jsonQuery: Handler = (c) => {
  arity(c, 1, 2);
  const x = c.sql(0);
  return typedLike(x, `CAST(json_extract(${x}, ${path(c, 1)}) AS VARCHAR)`);
};

/** Arrays of JSON (or STRING) elements; NULL when the path is not an array. */
const jsonQueryArray: Handler = (c) => {
  arity(c, 1, 2);
  const x = c.sql(0);
  const elements = `json_extract(${x}, ${path(c, 1, '[*]')})`;
  return `(CASE WHEN json_type(${x}, ${path(c, 1)}) = 'ARRAY' THEN ${typedLike(x, `CAST(${elements} AS VARCHAR[])`, true)} END)`;
};

/** Arrays of scalar values as STRINGs. */
const jsonValueArray: Handler = (c) => {
  arity(c, 1, 2);
  const x = c.sql(0);
  return `(CASE WHEN json_type(${x}, ${path(c, 1)}) = 'ARRAY' THEN json_extract_string(${x}, ${path(c, 1, '[*]')}) END)`;
};

export const JSON_FUNCTIONS: Record<string, Handler> = {
  JSON_VALUE: jsonValue,
  JSON_EXTRACT_SCALAR: jsonValue,
  JSON_QUERY: jsonQuery,
  JSON_EXTRACT: jsonQuery,
  JSON_QUERY_ARRAY: jsonQueryArray,
  JSON_EXTRACT_ARRAY: jsonQueryArray,
  JSON_VALUE_ARRAY: jsonValueArray,
  JSON_EXTRACT_STRING_ARRAY: jsonValueArray,
  JSON_TYPE: (c) => {
    arity(c, 1);
    const t = `json_type(${c.sql(0)})`;
    return `(CASE ${t} WHEN 'OBJECT' THEN 'object' WHEN 'ARRAY' THEN 'array' WHEN 'VARCHAR' THEN 'string' WHEN 'BOOLEAN' THEN 'boolean' WHEN 'NULL' THEN 'null' WHEN 'BIGINT' THEN 'number' WHEN 'UBIGINT' THEN 'number' WHEN 'DOUBLE' THEN 'number' END)`;
  },
  PARSE_JSON: (c) => (arity(c, 1), `CAST(${c.sql(0)} AS JSON)`),
  TO_JSON: (c) => (arity(c, 1), `to_json(${c.sql(0)})`),
};
